import { backupServerGroupRunOrchestrator, type GroupRunInput, type GroupRunOutput } from '../../orchestrations/backup-server-group-run';
import { drive, type Outcome } from '../support/orchestration-driver';

const allowedAll = { backupToAzure: 'Allowed', backupToDisk: 'Allowed', restoreFromAzure: 'Allowed', restoreFromDisk: 'Allowed' };
const run: GroupRunInput = { group: 'Files', dueAt: '2026-03-01T22:00:00.000Z', localDue: ['docs', 'photos'], onlineDue: ['docs', 'photos'], instanceId: 'kluis-server-files-0123456789ab-202603012200' };
const locked = (n: number) => ({ error: 'KluisError [KluisRepositoryLocked]: The repository cannot be locked for backup: an exclusive lock (prune) is held by srv1', stackTrace: `KluisError [KluisRepositoryLocked]: attempt ${n}` });
const backupOf = (source: string) => ({ group: 'Files', source, snapshotId: `snap-${source}`, newChunkBytes: 10 });

function script(overrides: Partial<Record<string, (input: unknown, attempt: number) => Outcome>> = {}) {
  const attempts = new Map<string, number>();
  return (work: { name: string; parsedInput: unknown }): Outcome => {
    const key = `${work.name}:${JSON.stringify(work.parsedInput)}`;
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const override = overrides[work.name];
    if (override !== undefined) return override(work.parsedInput, attempt);
    switch (work.name) {
      case 'backupServerPrepareRun': return { result: { connectivity: 'Connected', subscription: 'Active', allowed: allowedAll } };
      case 'backupServerBackUpSource': return { result: { backup: backupOf((work.parsedInput as { source: string }).source) } };
      case 'backupServerExpireLocalPoints': return { result: { retention: [{ group: 'Files', source: 'docs', snapshotId: 'old', keep: false, reason: 'older' }], chunksDeleted: 3 } };
      case 'backupServerCopyToVault': return { result: { vaultCopies: [{ group: 'Files', source: 'docs', snapshotId: 'snap-docs', chunksCopied: 2 }], vaultRetention: [] } };
      case 'backupServerFinishRun': return { result: (work.parsedInput as { report: unknown }).report };
      default: throw new Error(`unexpected activity ${work.name}`);
    }
  };
}

describe('the backup server group run orchestrator (replayed by durable-functions)', () => {
  it('checks in, backs up each due source in turn, expires local points, copies to the vault, then reports the pass', async () => {
    const done = await drive(backupServerGroupRunOrchestrator, run, script(), { instanceId: run.instanceId });
    expect(done.state.status).toBe('Completed');
    expect(done.started.map((w) => w.name)).toEqual([
      'backupServerPrepareRun', 'backupServerBackUpSource', 'backupServerBackUpSource', 'backupServerExpireLocalPoints', 'backupServerCopyToVault', 'backupServerFinishRun',
    ]);
    expect(Math.max(...done.startedPerEpisode)).toBe(1); // one source at a time
    const finish = done.started.at(-1)!.parsedInput as { report: Record<string, unknown>; startTime: string };
    expect(finish.report).toMatchObject({ backups: [backupOf('docs'), backupOf('photos')], chunksDeleted: 3, vaultCopies: [{ snapshotId: 'snap-docs' }] });
    expect(finish.report).not.toHaveProperty('failures');
    expect(done.output).toMatchObject<Partial<GroupRunOutput>>({ group: 'Files', dueAt: run.dueAt, failures: [] });
  });

  it('retries a step the repository lock refused, and reports a source that failed for good without stopping the others', async () => {
    const done = await drive(backupServerGroupRunOrchestrator, run, script({
      backupServerBackUpSource: (input, attempt) => {
        const { source } = input as { source: string };
        if (source === 'docs') return attempt < 3 ? locked(attempt) : { result: { backup: backupOf('docs') } };
        return { result: { failure: { code: 'KluisServerJobFailed', message: "ENOENT: no such file or directory, scandir '/srv/photos'" } } };
      },
      backupServerCopyToVault: () => locked(0),
    }), { instanceId: run.instanceId });
    expect(done.state.status).toBe('Completed');
    const backups = done.started.filter((w) => w.name === 'backupServerBackUpSource');
    expect(backups.map((w) => (w.parsedInput as { source: string }).source)).toEqual(['docs', 'docs', 'docs', 'photos']);
    // The copy failed on every try (3): reported as the pass's vault copy error, the pass still reported.
    expect(done.started.filter((w) => w.name === 'backupServerCopyToVault')).toHaveLength(3);
    const output = done.output as GroupRunOutput;
    expect(output.backups).toEqual([backupOf('docs')]);
    expect(output.failures).toEqual([
      { source: 'photos', step: 'LocalBackup', code: 'KluisServerJobFailed', message: "ENOENT: no such file or directory, scandir '/srv/photos'" },
      { step: 'VaultCopy', code: 'KluisRepositoryLocked', message: expect.stringContaining('cannot be locked for backup') },
    ]);
    expect(output.vaultCopyError).toContain('cannot be locked');
    expect(done.started.at(-1)!.name).toBe('backupServerFinishRun');
  });

  it('takes no local point and copies nothing while the seed table stops backups, and still reports the pass', async () => {
    const stopped = { ...allowedAll, backupToAzure: 'Stopped', backupToDisk: 'Stopped' };
    const done = await drive(backupServerGroupRunOrchestrator, run, script({
      backupServerPrepareRun: () => ({ result: { connectivity: 'Disconnected', subscription: 'Active', allowed: stopped, stopped: 'Backups are stopped: the server is Disconnected and the subscription is Active.' } }),
    }), { instanceId: run.instanceId });
    expect(done.started.map((w) => w.name)).toEqual(['backupServerPrepareRun', 'backupServerFinishRun']);
    expect(done.output).toMatchObject({ stopped: expect.stringContaining('Disconnected'), backups: [] });
  });
});
