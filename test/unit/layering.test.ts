/**
 * The layering rules of eslint.config.mjs, run through ESLint's own API on code placed (virtually) in each
 * folder: the engine never imports the vault side, both pure domains import no I/O, and orchestrators take
 * activities, use cases and stores as types only.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** Lints every case in one child process (ESLint loads its ESM config there, outside Jest's module system). */
function lintAll(cases: ReadonlyArray<readonly [string, string]>): string[][] {
  const script = `
    const { ESLint } = require('eslint');
    const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    const eslint = new ESLint({ cwd: ${JSON.stringify(ROOT)} });
    (async () => {
      const out = [];
      for (const [file, code] of cases) {
        const [result] = await eslint.lintText(code + '\\nexport {};\\n', { filePath: require('path').resolve(${JSON.stringify(ROOT)}, file) });
        out.push(result.messages.filter((m) => (m.ruleId ?? '').includes('no-restricted')).map((m) => m.message));
      }
      process.stdout.write(JSON.stringify(out));
    })();`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, input: JSON.stringify(cases), encoding: 'utf8' })) as string[][];
}

const refused = [
  ['lib/engine/backup/x.ts', "import '../../services/jobs';", 'vault side'],
  ['lib/engine/backup/x.ts', "import '../../domain/policy';", 'only the error catalogue'],
  ['lib/engine/backup/x.ts', "import '../../stores/vault-catalog';", 'its own store interfaces'],
  ['lib/engine/backup/x.ts', "import '../../config';", 'configuration as parameters'],
  ['lib/engine/backup/x.ts', "import '../../../orchestrations/contracts';", 'nothing outside lib/'],
  ['lib/engine/backup/x.ts', "import '@azure/storage-blob';", 'lib/stores/azure'],
  ['lib/engine/sources/page-blob/x.ts', "import '../../../services/protection';", 'vault side'],
  ['lib/engine/x.ts', "import '../services/jobs';", 'vault side'],
  ['lib/engine/domain/x.ts', "import '../backup/transfer-segment';", 'pure'],
  ['lib/engine/domain/x.ts', "import 'node:fs';", 'no file system'],
  ['lib/domain/x.ts', "import '../engine/backup/transfer-segment';", "engine's pure domain"],
  ['lib/domain/x.ts', "import '../stores/disk-store';", 'pure'],
  ['lib/domain/arm/x.ts', "import '@azure/storage-blob';", 'lib/stores/azure'],
  ['lib/domain/x.ts', 'export const now = Date.now();', 'time is a parameter'],
  ['lib/engine/domain/x.ts', 'export const now = new Date();', 'time is a parameter'],
  ['orchestrations/x.ts', "import { planDiskBackupActivity } from '../functions/activities/plan-disk-backup';", 'as types only'],
  ['orchestrations/x.ts', "import { planDiskBackup } from '../lib/engine/backup/plan-disk-backup';", 'as types only'],
  ['orchestrations/x.ts', "import type { KluisConfig } from '../lib/config';", 'never read configuration'],
  ['lib/backup-server/repository/x.ts', "import 'node:fs/promises';", 'store interfaces'],
  ['lib/backup-server/repository/x.ts', "import '../../services/jobs';", 'below the vault side'],
  ['lib/backup-server/repository/x.ts', "import '../../stores/vault-catalog';", 'its own store interfaces'],
  ['lib/backup-server/domain/x.ts', "import '../repository/repository';", 'pure'],
  ['lib/backup-server/domain/x.ts', 'export const now = Date.now();', 'time is a parameter'],
] as const;

const allowed = [
  ['lib/engine/backup/x.ts', "import '../../domain/errors'; import '../../stores/page-blob-store'; import '../domain/page-ranges';"],
  ['lib/engine/sources/page-blob/x.ts', "import '../../../domain/errors'; import '../../domain/vhd'; import '../../engine-deps';"],
  ['lib/engine/domain/x.ts', "import '../../domain/errors'; import './vhd'; import 'node:crypto';"],
  ['lib/domain/x.ts', "import '../engine/domain/recovery-point-manifest'; import './errors';"],
  ['lib/services/x.ts', "import '../engine/backup/plan-disk-backup'; import '../domain/policy';"],
  ['lib/backup-server/repository/x.ts', "import '../../domain/errors'; import '../../stores/repository-store'; import '../domain/fastcdc';"],
  ['lib/backup-server/domain/x.ts', "import '../../domain/errors'; import 'node:crypto'; import 'node:zlib'; import './fastcdc';"],
  ['orchestrations/x.ts', "import type { planDiskBackupActivity } from '../functions/activities/plan-disk-backup'; import type { PlanDiskBackupInput } from '../lib/engine/backup/plan-disk-backup'; import { recoveryPointIdFor } from '../lib/engine/domain/backup-job'; import { errors } from '../lib/domain/errors';"],
] as const;

describe('layering', () => {
  let results: string[][];
  beforeAll(() => {
    results = lintAll([...refused.map(([file, code]) => [file, code] as const), ...allowed]);
  });

  it.each(refused.map((c, i) => [...c, i] as const))('%s: %s is refused (%s)', (_file, _code, why, i) => {
    expect(results[i]).toHaveLength(1);
    expect(results[i][0]).toContain(why);
  });

  it.each(allowed.map((c, i) => [...c, refused.length + i] as const))('%s: %s is allowed', (_file, _code, i) => {
    expect(results[i]).toEqual([]);
  });
});
