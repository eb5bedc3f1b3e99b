/**
 * The backup server this app runs as (KLUIS_ROLE=server): its data folder from KLUIS_SERVER_DATA, unlocked once per
 * process with KLUIS_SERVER_PASSPHRASE when set, else with the key remembered on this machine (unattended unlock).
 * Its steps run one at a time in this process: a server has one repository and one state file.
 * A data folder registered in direct mode (a MARS agent: `<data>/agent`, as kluis-server decides) runs as that
 * machine instead: the same role, settings and unlock rules, its pass one step (scheduler.ts).
 */
import path from 'node:path';
import { getConfig } from '../../lib/config';
import { appNow } from '../../lib/config/host-clock';
import { Limiter } from '../../lib/domain/limiter';
import type { DirectAgent } from '../../lib/backup-server/direct/direct-agent';
import type { BackupServer } from '../../lib/backup-server/server/backup-server';
import { backupServerAt, directAgentAt, isDirectMode } from '../../lib/stores/backup-server-data-folder';

const oneAtATime = new Limiter(1);

/** Unlocks once per process; a failed unlock (no key remembered, wrong passphrase) is tried again at the next use. */
function unlockOnce<T extends { unlock(passphrase: string): Promise<unknown>; unlockUnattended(): Promise<unknown> }>(open: (dataDir: string) => T) {
  let unlocked: Promise<T> | undefined;
  return (): Promise<T> => {
    if (unlocked === undefined) {
      const attempt = (async () => {
        const settings = getConfig().backupServer;
        const opened = open(path.resolve(settings.dataDir));
        if (settings.passphrase !== undefined) await opened.unlock(settings.passphrase);
        else await opened.unlockUnattended();
        return opened;
      })();
      attempt.catch(() => { if (unlocked === attempt) unlocked = undefined; });
      unlocked = attempt;
    }
    return unlocked;
  };
}

const unlockedServer = unlockOnce((dataDir) => backupServerAt(dataDir, { clock: appNow }));
const unlockedAgent = unlockOnce((dataDir) => directAgentAt(dataDir, { clock: appNow }));

/** Whether KLUIS_SERVER_DATA holds a machine registered in direct mode (checked at each use, as kluis-server does). */
export function isDirectModeData(): boolean {
  return isDirectMode(path.resolve(getConfig().backupServer.dataDir));
}

/** Runs `work` with the unlocked direct-mode machine, after any other step of this process has finished. */
export function withAgent<T>(work: (agent: DirectAgent) => Promise<T>): Promise<T> {
  return oneAtATime.run(async () => work(await unlockedAgent()));
}

/** Runs a read-only `work` on the direct-mode machine (the health route) at once. */
export async function readingAgent<T>(work: (agent: DirectAgent) => Promise<T>): Promise<T> {
  return work(await unlockedAgent());
}

/** Runs `work` with the unlocked server, after any other step of this process has finished. */
export function withServer<T>(work: (server: BackupServer) => Promise<T>): Promise<T> {
  return oneAtATime.run(async () => work(await unlockedServer()));
}

/** Runs a read-only `work` (the health route) at once, not queued behind a running backup. */
export async function readingServer<T>(work: (server: BackupServer) => Promise<T>): Promise<T> {
  return work(await unlockedServer());
}
