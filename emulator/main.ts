/**
 * `npm start` shows the product. It starts Azurite (persistent under .kluis/azurite), the Key Vault
 * emulator (persistent under .kluis/keyvault), the local identity endpoint (signing key and principals
 * under .kluis/identity, TLS from the local CA in .kluis/tls) and the embedded host with this app and
 * the local VM fabric on HTTP and HTTPS, then — over HTTP only, signed in as the default managed
 * identity as any client would — creates four small VMs (one encrypted with ADE in the Key Vault
 * kluis-demo-kv), a vault with its DefaultPolicy, discovers and protects the VMs, backs each up now
 * while printing the jobs' progress, and prints the jobs, the recovery points and commands to try
 * (sign in, restore, list jobs, write data with kluis-fabric and back up again). Then it keeps
 * serving, with the backup scheduler running, until Ctrl+C. A second start reuses what the first created.
 * Next to the vault it starts one backup server (emulator/demo/server-tour.ts): it downloads a vault credentials
 * file, registers (passphrase generated and shown once), protects a sample folder tree, and takes its first local
 * point and vault copy. `npm start -- --role server` starts only that server: the app with KLUIS_ROLE=server on the
 * embedded host (kluis-server run: a check-in each minute, one orchestration per due protection group).
 *
 *   npm start [-- --port 7071] [--https-port 7443] [--identity-port 7072] [--identity-https-port 7444]
 *             [--once] [--data-dir .kluis] [--in-memory]
 *   npm start -- --role server [--data-dir .kluis]   (KLUIS_SERVER_PASSPHRASE or --passphrase-file, unless this machine remembers the key)
 */
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ERROR_CODES, isKluisErrorLike } from '../lib/domain/errors';
import { storageAccountNameOfBlobUrl } from '../lib/domain/restore-request';
import { loadConfig } from '../lib/config';
import { parseConnectionString } from './connection-string';
import { ArmClient, ArmRequestError, msiTokenSource } from './demo/arm-client';
import { formatError } from './demo/console-format';
import { shown, startDemoStorage, stopDemoStorage, type DemoStorage } from './demo/demo-storage';
import { runProductTour } from './demo/product-tour';
import { tryItLines } from './demo/try-it';
import { runServerTour } from './demo/server-tour';
import { main as kluisServerMain } from './backup-server/cli';
import { azEnvLines, writeAzEnv } from './az-env';
import { fabricRoutes } from './fabric/router';
import { lazyLocalFabric } from './fabric/setup';
import type { RunningComputeEndpoint } from './fabric/compute';
import { enableInsecureNoAuth, gatedFabric, hostTlsMaterial, ownerOnlyFiles, startHostCompute, startHostIdentity, startHostKeyVault } from './cli';
import { EmulatorAdminAccess } from './admin-access';
import { SystemClock } from './clock';
import { EmbeddedHost } from './host';
import type { RunningIdentityEndpoint } from './identity';
import type { RunningKeyVaultEmulator } from './keyvault';
import { createLogger } from './logger';

const repoRoot = path.resolve(__dirname, '..', '..');
const DEFAULT_PORT = 7071;
/** Fixed by default, so az's registered cloud and the printed sign-in lines stay valid across restarts; 0 with --port 0. */
const DEFAULT_HTTPS_PORT = 7443;
const DEFAULT_IDENTITY_PORT = 7072;
const DEFAULT_IDENTITY_HTTPS_PORT = 7444;
const DEFAULT_COMPUTE_PORT = 7445;

const say = (line = '') => process.stdout.write(`${line}\n`);

interface StartOptions {
  port: number;
  httpsPort?: number;
  identityPort?: number;
  identityHttpsPort?: number;
  computePort?: number;
  once?: boolean;
  dataDir?: string;
  inMemory?: boolean;
  listenHost: string;
  insecureNoAuth?: boolean;
  role: 'vault' | 'server';
  passphraseFile?: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number 0–65535 (0: any free port)');
  return n;
}

function role(value: string): 'vault' | 'server' {
  if (value !== 'vault' && value !== 'server') throw new InvalidArgumentError('vault or server');
  return value;
}

/** $PORT when it is a port number, else 7071. */
function defaultPort(): number {
  const value = process.env.PORT ?? '';
  return /^\d{1,5}$/.test(value) && Number(value) <= 65535 ? Number(value) : DEFAULT_PORT;
}

function parseOptions(argv: string[]): StartOptions {
  const program = new Command()
    .name('npm start --')
    .description('Starts Azurite and the embedded host, shows the product on a small sample fabric, then keeps serving.')
    .option('--port <port>', 'HTTP port of the host (0: any free port; $PORT when set)', port, defaultPort())
    .option('--https-port <port>', `HTTPS port of the host (default ${DEFAULT_HTTPS_PORT}; 0 with --port 0)`, port)
    .option('--identity-port <port>', `HTTP port of the identity endpoint (default ${DEFAULT_IDENTITY_PORT}; 0 with --port 0)`, port)
    .option('--identity-https-port <port>', `HTTPS port of the identity endpoint (default ${DEFAULT_IDENTITY_HTTPS_PORT}; 0 with --port 0)`, port)
    .option('--compute-port <port>', `HTTPS port of the fabric's Microsoft.Compute endpoint (default ${DEFAULT_COMPUTE_PORT}; 0 with --port 0)`, port)
    .option('--once', 'exit after the first backups (exit code 1 when one failed)')
    .option('--data-dir <dir>', "where Azurite's data, the function keys and the host log live (default: .kluis)")
    .option('--in-memory', 'run Azurite and the Key Vault emulator in memory: a fresh product every start, nothing kept')
    .option('--listen-host <address>', 'the address the host listens on (loopback only with --insecure-no-auth)', '127.0.0.1')
    .option('--insecure-no-auth', 'turn tokens and roles off: anyone who can reach the port may do anything (loopback only; never for data you keep)')
    .option('--role <role>', "vault: the product and its demo (default); server: only the demo's backup server, on the embedded host with KLUIS_ROLE=server (kluis-server run on <data-dir>/server)", role, 'vault')
    .option('--passphrase-file <file>', "with --role server: the backup server's passphrase (or KLUIS_SERVER_PASSPHRASE; not needed on the machine that remembers its key)")
    .showHelpAfterError()
    .parse(argv);
  return program.opts<StartOptions>();
}

/** The storage account restores are written to, as its name (what a restore request's storageAccountId names). */
function restoreAccountName(): string {
  const restore = loadConfig(process.env).restoreStorage;
  if (typeof restore !== 'string') return restore.accountName;
  const conn = parseConnectionString(restore);
  return conn.AccountName ?? (conn.BlobEndpoint === undefined ? undefined : storageAccountNameOfBlobUrl(conn.BlobEndpoint)) ?? 'devstoreaccount1';
}

/** The lines a failure prints: ARM and Kluis errors with code, message and recommendation; others with their message only. */
function describeFailure(err: unknown): string[] {
  if (err instanceof ArmRequestError) return formatError(err);
  if (isKluisErrorLike(err)) return formatError({ code: err.code, message: err.message, recommendation: ERROR_CODES[err.code].recommendation });
  const { code, port: inUse } = (err ?? {}) as { code?: unknown; port?: unknown };
  if (code === 'EADDRINUSE') {
    const which = typeof inUse === 'number' ? `Port ${inUse}` : 'The port';
    return [
      `  ${which} is in use: stop what listens on it, or pick other ports:`,
      '  npm start -- --port 8080 --https-port 8443 --identity-port 8072 --identity-https-port 8444 --compute-port 8445',
    ];
  }
  return [`  ${err instanceof Error ? err.message : String(err)}`];
}

/** `--role server`: the demo's backup server alone, taking its daily points and vault copies until Ctrl+C. */
async function runServerRole(dataDir: string, passphraseFile: string | undefined): Promise<void> {
  const serverDir = path.join(dataDir, 'server');
  say(`Kluis backup server (data in ${shown(serverDir)}) on the embedded host: daily local points, the daily vault copy and retention, one orchestration per due protection group; Ctrl+C stops it.`);
  try {
    await kluisServerMain(['node', 'kluis-server', 'run', '--data', serverDir, ...(passphraseFile === undefined ? [] : ['--passphrase-file', passphraseFile])]);
  } catch (err) {
    process.stderr.write(`\n✖ The backup server could not start:\n  ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  const dataDir = path.resolve(options.dataDir ?? path.join(repoRoot, '.kluis'));
  if (options.role === 'server') return runServerRole(dataDir, options.passphraseFile);
  // The data folder holds backups, keys, the signing key and secrets: its owner's only (0700, files 0600).
  ownerOnlyFiles();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const hostLogFile = path.join(dataDir, 'host.log');
  const hostLog: WriteStream = createWriteStream(hostLogFile, { flags: 'a' });
  const logger = createLogger({ format: 'pretty', minLevel: 'information', write: (line) => hostLog.write(`${line}\n`) });
  // Node's process warnings (e.g. from SDKs inside the host) go to the host log, not between the tour's lines.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => logger.log('warning', `${warning.name}: ${warning.message}`));

  const adminAccess = new EmulatorAdminAccess();
  let storage: DemoStorage | undefined;
  let keyVault: RunningKeyVaultEmulator | undefined;
  let identity: RunningIdentityEndpoint | undefined;
  let compute: RunningComputeEndpoint | undefined;
  let host: EmbeddedHost | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await host?.stop().catch(() => undefined);
      await compute?.stop().catch(() => undefined);
      await identity?.stop().catch(() => undefined);
      await keyVault?.stop().catch(() => undefined);
      if (storage !== undefined) await stopDemoStorage(storage);
      await new Promise<void>((resolve) => hostLog.end(resolve));
    })();
    return stopping;
  };
  const onSignal = () => {
    say('\nStopping …');
    void stop().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  say('Kluis — Azure Backup for VMs, on your machine (embedded Functions host + Azurite: no cloud, no internet)');
  say();
  try {
    enableInsecureNoAuth(options.insecureNoAuth === true, options.listenHost);
    storage = await startDemoStorage({ appDir: repoRoot, dataDir, defaultDataDir: options.dataDir === undefined, inMemory: options.inMemory === true });
    say(`  Storage   ${storage.description}`);
    // Before the host loads the app: it points the app's token check at the endpoint (issuer, keys, CA).
    const anyPort = options.port === 0;
    const tls = await hostTlsMaterial(path.join(dataDir, 'tls'));
    identity = await startHostIdentity(repoRoot, {
      dataDir: path.join(dataDir, 'identity'),
      tls,
      httpPort: options.identityPort ?? (anyPort ? 0 : DEFAULT_IDENTITY_PORT),
      httpsPort: options.identityHttpsPort ?? (anyPort ? 0 : DEFAULT_IDENTITY_HTTPS_PORT),
      persistPrincipals: options.inMemory !== true,
      logger,
      adminGate: adminAccess.gate,
    });
    say(`  Identity  ${identity.httpUrl} and ${identity.httpsUrl} — local sign-in: tokens for the default identity and created principals (AD FS authority ${identity.adfsAuthority})`);
    // Before the host loads the app too: it points the app at the emulator (CA file, admin URL, local credential).
    const keyVaultDir = path.join(dataDir, 'keyvault');
    keyVault = await startHostKeyVault(repoRoot, { dataDir: keyVaultDir, persistState: options.inMemory !== true, logger, adminGate: adminAccess.gate }, identity);
    say(`  Key Vault ${keyVault.adminUrl} — the Key Vault emulator's admin API (${options.inMemory === true ? 'vaults in memory' : `vaults in ${shown(keyVaultDir)}`})`);
    // The fabric reads the app's settings (KLUIS_SOURCE_STORAGE, KLUIS_INVENTORY…) on first use: the host applies them at start.
    const clock = new SystemClock();
    const localFabric = lazyLocalFabric(() => ({
      clock,
      onError: (err) => logger.log('error', `Fabric background work failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`),
    }));
    compute = await startHostCompute(repoRoot, { fabric: localFabric, tls, port: options.computePort ?? (anyPort ? 0 : DEFAULT_COMPUTE_PORT), logger, access: adminAccess });
    const fabric = fabricRoutes(() => localFabric().service, {
      onInternalError: (err) => logger.log('error', `Fabric request failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`),
    });
    host = new EmbeddedHost({
      appDir: repoRoot,
      clock,
      port: options.port,
      httpsPort: options.httpsPort ?? (anyPort ? 0 : DEFAULT_HTTPS_PORT),
      tls: { key: tls.serverKeyPem, cert: tls.serverCertPem },
      storage: storage.connectionString,
      logger,
      secretsFile: path.join(dataDir, 'secrets.json'),
      listenHost: options.listenHost,
      routeHandlers: [gatedFabric(fabric, adminAccess)],
    });
    await host.start();
    adminAccess.useSecrets(host.secrets);
    say(`  Host      ${host.origin} and ${host.httpsOrigin ?? ''} — ${host.app.functions.length} functions, the VM fabric under /fabric/ (log: ${shown(hostLogFile)})`);
    say(`  Dashboard ${host.origin}/dashboard/ — open it in your browser and sign in as Kluis local user (user@kluis.local); nothing opens by itself`);
    say(`  Compute   ${compute.url} — the fabric's Microsoft.Compute endpoint (managed disks, snapshots, restore points) for ARM clients`);
    say(`  CA        ${shown(tls.caCertPath)} — the local CA of the HTTPS ports: trust it per client (curl --cacert, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS)`);
    // The Azure CLI's environment (cloud registration, managed identity, CA, closed proxies): a file to source.
    const azEnv = writeAzEnv(dataDir, {
      armUrl: `${host.httpsOrigin ?? host.origin}/`,
      caFile: tls.caCertPath,
      msiEndpoint: identity.msiEndpoint,
      msiSecret: identity.msiSecret,
      loginEndpoint: identity.adfsAuthority,
      configDir: path.join(dataDir, 'az', 'config'),
    });
    say();

    // Signed in as the local administrator (the default managed identity, Owner by KLUIS_OWNER_PRINCIPAL_IDS).
    const client = new ArmClient(host.origin, { tokenSource: msiTokenSource(identity.msiEndpoint, identity.msiSecret), signedInOrigins: [keyVault.adminUrl] });
    const tour = await runProductTour(client, say, { keyVaultAdminUrl: keyVault.adminUrl });
    tryItLines({
      client,
      tour,
      restoreAccountName: restoreAccountName(),
      fabricCommand: `node ${shown(path.join(repoRoot, 'bin', 'kluis-fabric.js'))}`,
      hostLog: shown(hostLogFile),
      signIn: {
        httpsOrigin: host.httpsOrigin ?? host.origin,
        caFile: shown(tls.caCertPath),
        msiEndpoint: identity.msiEndpoint,
        msiSecretFile: identity.secretsFile,
        adfsAuthority: identity.adfsAuthority,
      },
    }).forEach((line) => say(line));
    say();
    // The backup server next to the vault; in memory its data lives only as long as this run, as the vault's does.
    const serverDir = options.inMemory === true ? mkdtempSync(path.join(tmpdir(), 'kluis-server-')) : path.join(dataDir, 'server');
    if (options.inMemory === true) process.once('exit', () => rmSync(serverDir, { recursive: true, force: true }));
    const server = await runServerTour(client, say, {
      vault: tour.vault,
      dataDir: serverDir,
      sampleDir: path.join(dataDir, 'server-sample'),
      command: `node ${shown(path.join(repoRoot, 'bin', 'kluis-server.js'))}`,
    }).catch((err: unknown) => {
      say('  ✖ The backup server could not be set up:');
      describeFailure(err).forEach((line) => say(line));
      return { failures: 1 };
    });
    tour.failures += server.failures;
    say();
    say('Use the Azure CLI (az backup …) in a second terminal:');
    azEnvLines(azEnv.script, shown).forEach((line) => say(`  ${line}`));
    say(`  (what it sets and a worked journey: README, "Use the Azure CLI"; write the file again: node ${shown(path.join(repoRoot, 'bin', 'kluis.js'))} az-env)`);
    say();
    if (options.once === true) {
      say(tour.failures === 0 ? 'Done (--once): stopping.' : `Done (--once) with ${tour.failures} failure(s): stopping.`);
      await stop();
      process.exit(tour.failures === 0 ? 0 : 1);
    }
    const schedule = tour.schedule === undefined ? '' : ` DefaultPolicy backs the VMs up ${tour.schedule.replace(/^Daily/, 'daily')}; the scheduler checks every 5 minutes.`;
    say(`Serving at ${client.apiBase} and ${host.httpsOrigin ?? client.apiBase}.${schedule} Press Ctrl+C to stop.`);
  } catch (err) {
    process.stderr.write(`\n✖ Kluis could not start:\n${describeFailure(err).join('\n')}\n`);
    await stop();
    process.exit(1);
  }
}

void main();
