/**
 * The backup server this app runs as (KLUIS_ROLE=server): its data folder from KLUIS_SERVER_DATA, unlocked once per
 * process with KLUIS_SERVER_PASSPHRASE when set, else with the key remembered on this machine (unattended unlock).
 * Its steps run one at a time in this process: a server has one repository and one state file.
 */
import path from 'node:path';
import { getConfig } from '../../lib/config';
import { appNow } from '../../lib/config/host-clock';
import { Limiter } from '../../lib/domain/limiter';
import type { BackupServer } from '../../lib/backup-server/server/backup-server';
import { backupServerAt } from '../../lib/stores/backup-server-data-folder';

let unlocked: Promise<BackupServer> | undefined;
const oneAtATime = new Limiter(1);

function unlockedServer(): Promise<BackupServer> {
  if (unlocked === undefined) {
    const attempt = (async () => {
      const settings = getConfig().backupServer;
      const server = backupServerAt(path.resolve(settings.dataDir), { clock: appNow });
      if (settings.passphrase !== undefined) await server.unlock(settings.passphrase);
      else await server.unlockUnattended();
      return server;
    })();
    // A failed unlock (no key remembered, wrong passphrase) is tried again at the next use, after the operator fixed it.
    attempt.catch(() => { if (unlocked === attempt) unlocked = undefined; });
    unlocked = attempt;
  }
  return unlocked;
}

/** Runs `work` with the unlocked server, after any other step of this process has finished. */
export function withServer<T>(work: (server: BackupServer) => Promise<T>): Promise<T> {
  return oneAtATime.run(async () => work(await unlockedServer()));
}

/** Runs a read-only `work` (the health route) at once, not queued behind a running backup. */
export async function readingServer<T>(work: (server: BackupServer) => Promise<T>): Promise<T> {
  return work(await unlockedServer());
}
