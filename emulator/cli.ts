/**
 * `kluis-host --app <dir> [--port 7071] [--storage <connection string>]`: hosts any Functions v4 Node app.
 * Without --storage it uses the app's AzureWebJobsStorage; for development storage it starts the pinned
 * Azurite (persistent under <app>/.kluis/azurite) when nothing listens on the default ports. It also starts the
 * Key Vault emulator (TLS material under <app>/.kluis/keyvault; vaults in memory unless --keyvault-persist) and
 * points the app at it (see startHostKeyVault); --no-keyvault skips it.
 */
import { listening } from './ports';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { readLocalSettings } from './app-loader';
import { startAzurite, RunningAzurite } from './azurite';
import { parseConnectionString, resolveDevelopmentStorage } from './connection-string';
import { FakeClock } from './clock';
import { EmbeddedHost } from './host';
import { createLogger, LogLevel } from './logger';
import { loadConfig } from '../lib/config';
import { fabricRoutes } from './fabric/router';
import { fabricServiceFromConfig } from './fabric/setup';
import { startKeyVaultEmulator, type KeyVaultEmulatorOptions, type RunningKeyVaultEmulator } from './keyvault';

/**
 * Starts the Key Vault emulator and points the app (which runs in this process) at it: its CA file
 * (KLUIS_KEYVAULT_CA_FILE) and admin API (KLUIS_KEYVAULT_EMULATOR_URL), and the local credential
 * (KLUIS_KEYVAULT_CREDENTIAL=local) unless the environment or local.settings.json chooses one.
 */
export async function startHostKeyVault(appDir: string, options: KeyVaultEmulatorOptions): Promise<RunningKeyVaultEmulator> {
  const keyVault = await startKeyVaultEmulator(options);
  process.env.KLUIS_KEYVAULT_CA_FILE = keyVault.caCertPath;
  process.env.KLUIS_KEYVAULT_EMULATOR_URL = keyVault.adminUrl;
  if (process.env.KLUIS_KEYVAULT_CREDENTIAL === undefined && (await readLocalSettings(appDir)).KLUIS_KEYVAULT_CREDENTIAL === undefined) {
    process.env.KLUIS_KEYVAULT_CREDENTIAL = 'local';
  }
  return keyVault;
}

/** An Azurite extension file: plain JS next to this module's source, whether this runs from dist/emulator or emulator/. */
function azuriteExtension(file: string): string {
  return [path.resolve(__dirname, file), path.resolve(__dirname, '..', '..', 'emulator', file)].find((candidate) => existsSync(candidate)) as string;
}

/** Makes Azurite answer Get Page Ranges with `prevsnapshot` as Azure does (see emulator/azurite-page-diff.js). */
export const pageRangeDiffExtension = azuriteExtension('azurite-page-diff.js');
/** Makes Azurite's server-side copies point-in-time and write-isolated as Azure's (emulator/azurite-copy-isolation.js). */
export const copyIsolationExtension = azuriteExtension('azurite-copy-isolation.js');
/** Every extension kluis-host and `npm start` load into Azurite. */
export const azuriteExtensions: readonly string[] = [pageRangeDiffExtension, copyIsolationExtension];

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number 0–65535');
  return n;
}

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return listening(hostname, Number(port));
}

export interface StorageChoice {
  connectionString: string;
  azurite?: RunningAzurite;
}

/** The storage the host uses, starting Azurite when the app asks for development storage that is not running. */
export async function chooseStorage(appDir: string, explicit: string | undefined): Promise<StorageChoice> {
  const configured = explicit ?? process.env.AzureWebJobsStorage ?? (await readLocalSettings(appDir)).AzureWebJobsStorage ?? 'UseDevelopmentStorage=true';
  const isDevelopment = /UseDevelopmentStorage=true/i.test(configured);
  const connectionString = resolveDevelopmentStorage(configured);
  if (!isDevelopment) return { connectionString };
  const blobEndpoint = parseConnectionString(connectionString).BlobEndpoint;
  if (blobEndpoint && (await reachable(blobEndpoint))) return { connectionString };
  const azurite = await startAzurite({ location: path.join(appDir, '.kluis', 'azurite'), extensions: [...azuriteExtensions] });
  return { connectionString: azurite.connectionString, azurite };
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('kluis-host')
    .description('Embedded Azure Functions + Durable host: runs an unchanged Functions v4 Node app offline.')
    .option('--app <dir>', 'the Functions app folder (with host.json and package.json)', process.cwd())
    .option('--port <port>', 'HTTP port (0 = any free port)', port, 7071)
    .option('--storage <connectionString>', 'AzureWebJobsStorage connection string (default: the app setting, or Azurite)')
    .option('--hub-name <name>', 'Durable task hub name (default: host.json extensions.durableTask.hubName)')
    .option('--secrets <file>', 'function keys file (default: <app>/.kluis/secrets.json, created at first start)')
    .option('--fake-clock <time>', 'run on a fake clock starting at this ISO time; advance it with POST /admin/clock/advance')
    .option('--log-format <format>', 'json or pretty', 'pretty')
    .option('--log-level <level>', 'trace, debug, information, warning, error', 'information')
    .option('--no-fabric', 'do not serve the local VM fabric endpoints (/fabric/…)')
    .option('--no-keyvault', 'do not start the Key Vault emulator')
    .option('--keyvault-dir <dir>', "the Key Vault emulator's folder (CA, certificate, state)", '<app>/.kluis/keyvault')
    .option('--keyvault-persist', "keep the Key Vault emulator's vaults, keys and secrets across restarts", false)
    .parse(argv);
  const opts = program.opts<{ app: string; port: number; storage?: string; hubName?: string; secrets?: string; fakeClock?: string; logFormat: 'json' | 'pretty'; logLevel: LogLevel; fabric: boolean; keyvault: boolean; keyvaultDir: string; keyvaultPersist: boolean }>();
  const appDir = path.resolve(opts.app);
  const logger = createLogger({ format: opts.logFormat, minLevel: opts.logLevel });
  const storage = await chooseStorage(appDir, opts.storage);
  if (storage.azurite) logger.log('information', `Started Azurite for development storage (blob port ${storage.azurite.blobPort})`);
  let clock: FakeClock | undefined;
  if (opts.fakeClock !== undefined) {
    if (Number.isNaN(Date.parse(opts.fakeClock))) throw new InvalidArgumentError(`--fake-clock needs an ISO time, got "${opts.fakeClock}"`);
    clock = new FakeClock(new Date(opts.fakeClock));
  }
  const keyVaultDir = opts.keyvaultDir === '<app>/.kluis/keyvault' ? path.join(appDir, '.kluis', 'keyvault') : path.resolve(opts.keyvaultDir);
  let keyVault: RunningKeyVaultEmulator | undefined;
  try {
    // A missing app folder is the host's error to report: create nothing inside it.
    if (opts.keyvault && existsSync(appDir)) keyVault = await startHostKeyVault(appDir, { dataDir: keyVaultDir, persistState: opts.keyvaultPersist, logger, now: clock ? clock.now.bind(clock) : undefined });
  } catch (err) {
    await storage.azurite?.stop();
    throw err;
  }
  // The fabric reads the app's settings (KLUIS_SOURCE_STORAGE, KLUIS_INVENTORY…) on first use: the host applies them at start.
  const fabric = fabricRoutes(() => fabricServiceFromConfig(loadConfig(process.env)), {
    onInternalError: (err) => logger.log('error', `Fabric request failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`),
  });
  const host = new EmbeddedHost({ appDir, clock, port: opts.port, storage: storage.connectionString, hubName: opts.hubName, secretsFile: opts.secrets && path.resolve(opts.secrets), logger, routeHandlers: opts.fabric ? [fabric] : [] });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log('information', `Received ${signal}, stopping`);
    await host.stop().catch(() => undefined);
    await keyVault?.stop();
    await storage.azurite?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  try {
    await host.start();
  } catch (err) {
    await keyVault?.stop();
    await storage.azurite?.stop();
    throw err;
  }
  for (const fn of host.describeFunctions()) {
    logger.log('information', `  ${fn.name}: ${fn.url ? `[${fn.methods}] ${fn.url}` : fn.trigger}`);
  }
}
