/**
 * Activity names are what an orchestration's history replays by: an upgrade must keep every name an earlier
 * version scheduled (or register the old one as an alias), or in-flight orchestrations in a task hub cannot
 * finish. Each name is declared once, next to its handler (declareActivity in functions/activities/*.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ACTIVITIES = path.resolve(__dirname, '../../functions/activities');

/** Every activity name a released version of Kluis scheduled. */
const RELEASED = [
  'applyRetention',
  'backupKeyAndSecret',
  'commitRecoveryPoint',
  'deleteInstantSnapshots',
  'deleteStagingBlob',
  'discoverDisks',
  'expireSnapshotTier',
  'finishVaultBackup',
  'listRetentionItems',
  'planDiskBackup',
  'prepareVaultBackup',
  'probeStorage',
  'recordSnapshotTaken',
  'recordTransferProgress',
  'registerRestoredVm',
  'restoreDisks',
  'seedReplica',
  'snapshotDisks',
  'snapshotVm',
  'stageDisk',
  'transferSegment',
  'updateRestoreJob',
];

function declaredNames(): string[] {
  const names: string[] = [];
  for (const file of readdirSync(ACTIVITIES).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(path.join(ACTIVITIES, file), 'utf8');
    for (const match of source.matchAll(/declareActivity\(\s*'([A-Za-z0-9]+)'/g)) names.push(match[1]);
  }
  return names;
}

describe('activity names', () => {
  it('keeps every released name, each declared once', () => {
    const names = declaredNames();
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(RELEASED));
  });

  it('registers activities only through declareActivity', () => {
    for (const file of readdirSync(ACTIVITIES).filter((f) => f.endsWith('.ts'))) {
      expect(readFileSync(path.join(ACTIVITIES, file), 'utf8')).not.toMatch(/df\.app\.activity\(/);
    }
  });
});
