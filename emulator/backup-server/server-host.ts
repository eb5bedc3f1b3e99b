/**
 * `kluis-server run` (without --once) and `npm start -- --role server`: the backup server as the same Functions app
 * on the embedded host with KLUIS_ROLE=server — a timer each minute checks in with the vault and starts one durable
 * orchestration per due protection group (functions/server-role/). The host's Durable state and timer status live
 * in an Azurite of the server's own (`<data>/azurite`, persistent) unless AzureWebJobsStorage names a storage account;
 * its log goes to `<data>/host.log`.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startAzurite, type RunningAzurite } from '../azurite';
import { azuriteExtensions, ownerOnlyFiles } from '../cli';
import { SystemClock, type Clock } from '../clock';
import { EmbeddedHost } from '../host';
import { createLogger } from '../logger';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

export interface ServerHostOptions {
  dataDir: string;
  /** Given with --passphrase-file or KLUIS_SERVER_PASSPHRASE; unset: the key remembered on this machine. */
  passphrase?: string;
  /** HTTP port of the host (its /health route); default any free port. */
  port?: number;
  /** AzureWebJobsStorage for the host's Durable state; default an Azurite under `<data>/azurite`. */
  storage?: string;
  clock?: Clock;
}

export interface RunningServerHost {
  origin: string;
  stop(): Promise<void>;
}

export async function startServerHost(options: ServerHostOptions): Promise<RunningServerHost> {
  ownerOnlyFiles();
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const log = createWriteStream(path.join(dataDir, 'host.log'), { flags: 'a' });
  const logger = createLogger({ format: 'pretty', minLevel: 'information', write: (line) => log.write(`${line}\n`) });
  let azurite: RunningAzurite | undefined;
  const storage = options.storage ?? (azurite = await startAzurite({ location: path.join(dataDir, 'azurite'), extensions: [...azuriteExtensions] })).connectionString;
  const host = new EmbeddedHost({
    appDir: repoRoot,
    port: options.port ?? 0,
    storage,
    clock: options.clock ?? new SystemClock(),
    logger,
    hubName: 'KluisServer',
    secretsFile: path.join(dataDir, 'host-secrets.json'),
    settings: { KLUIS_ROLE: 'server', KLUIS_SERVER_DATA: dataDir, ...(options.passphrase === undefined ? {} : { KLUIS_SERVER_PASSPHRASE: options.passphrase }) },
  });
  try {
    await host.start();
  } catch (err) {
    await azurite?.stop();
    throw err;
  }
  return {
    origin: host.origin,
    stop: async () => {
      await host.stop().catch(() => undefined);
      await azurite?.stop();
      await new Promise<void>((resolve) => log.end(resolve));
    },
  };
}
