/**
 * `kluis-host --app <dir> [--port 7071] [--https-port <p>] [--storage <connection string>]`: hosts any Functions v4 Node app.
 * Without --storage it uses the app's AzureWebJobsStorage; for development storage it starts the pinned
 * Azurite (persistent under <app>/.kluis/azurite) when nothing listens on the default ports. It also starts the
 * Key Vault emulator (TLS material under <app>/.kluis/keyvault; vaults in memory unless --keyvault-persist) and
 * points the app at it (see startHostKeyVault); --no-keyvault skips it. And it starts the local identity
 * endpoint (signing key under <app>/.kluis/identity, TLS from the local CA in <app>/.kluis/tls) and points the
 * app's token check at it (see startHostIdentity); --no-identity skips it. --https-port serves the app over
 * HTTPS too, with a certificate of the same local CA.
 */
import { listening } from './ports';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { readLocalSettings } from './app-loader';
import { startAzurite, RunningAzurite } from './azurite';
import { parseConnectionString, resolveDevelopmentStorage } from './connection-string';
import { FakeClock, SystemClock } from './clock';
import { EmbeddedHost, type HostRouteHandler } from './host';
import { createLogger, LogLevel } from './logger';
import { loadConfig } from '../lib/config';
import { FABRIC_PATH_PREFIX, fabricRoutes } from './fabric/router';
import { EmulatorAdminAccess, gatedRoutes, refusedAdminResponse, subscriptionScopeOfPath } from './admin-access';
import type { HostRequest, HostResponse } from './http-types';
import { publishInsecureNoAuth } from '../lib/config/host-mode';
import { lazyLocalFabric, type LocalFabric } from './fabric/setup';
import { startComputeEndpoint, type RunningComputeEndpoint } from './fabric/compute';
import type { HostLogger } from './logger';
import { startKeyVaultEmulator, type KeyVaultEmulatorOptions, type RunningKeyVaultEmulator } from './keyvault';
import { DEFAULT_MANAGED_IDENTITY, startIdentityEndpoint, type IdentityEndpointOptions, type RunningIdentityEndpoint } from './identity';
import { ensureTlsMaterial, type TlsMaterial } from './local-ca';

/**
 * Starts the Key Vault emulator and points the app (which runs in this process) at it: its CA file
 * (KLUIS_KEYVAULT_CA_FILE) and admin API (KLUIS_KEYVAULT_EMULATOR_URL), and the local credential
 * (KLUIS_KEYVAULT_CREDENTIAL=local) unless the environment or local.settings.json chooses one. Its
 * vaults accept tokens the identity endpoint signed, and nothing else.
 */
export async function startHostKeyVault(appDir: string, options: KeyVaultEmulatorOptions, identity?: RunningIdentityEndpoint): Promise<RunningKeyVaultEmulator> {
  // Only tokens the identity endpoint signed open a vault (none without one).
  const trust = identity === undefined ? undefined : { issuers: [identity.issuer], keys: identity.service.jwks() };
  const keyVault = await startKeyVaultEmulator({ ...options, tokenTrust: () => trust });
  process.env.KLUIS_KEYVAULT_CA_FILE = keyVault.caCertPath;
  process.env.KLUIS_KEYVAULT_EMULATOR_URL = keyVault.adminUrl;
  if (process.env.KLUIS_KEYVAULT_CREDENTIAL === undefined && (await readLocalSettings(appDir)).KLUIS_KEYVAULT_CREDENTIAL === undefined) {
    process.env.KLUIS_KEYVAULT_CREDENTIAL = 'local';
  }
  return keyVault;
}

/** The settings that point the app's token check at an issuer; when the environment or local.settings.json sets one, the host sets none. */
const AUTH_ISSUER_SETTINGS = ['KLUIS_AUTH_TENANT_ID', 'KLUIS_AUTH_ISSUERS', 'KLUIS_AUTH_JWKS_URL'] as const;

/** The local CA and its server certificate (SAN localhost, 127.0.0.1, ::1) for the host's HTTPS port and the identity endpoint. */
export function hostTlsMaterial(dir: string): Promise<TlsMaterial> {
  return ensureTlsMaterial(dir, { caName: 'Kluis local CA' });
}

/**
 * Starts the identity endpoint and points the app (which runs in this process) at it: its admin API
 * (KLUIS_IDENTITY_EMULATOR_URL, for principals the app registers, as KLUIS_KEYVAULT_EMULATOR_URL for
 * vaults), the local CA (KLUIS_CA_FILE), the local administrator (KLUIS_OWNER_PRINCIPAL_IDS: the default
 * managed identity, Owner at the root scope) and, unless the environment or local.settings.json names an
 * issuer (Entra ID, another endpoint), the endpoint's issuer, signing keys and authority
 * (KLUIS_AUTH_ISSUERS, KLUIS_AUTH_JWKS_URL, KLUIS_AUTH_AUTHORITY).
 */
export async function startHostIdentity(appDir: string, options: IdentityEndpointOptions): Promise<RunningIdentityEndpoint> {
  const identity = await startIdentityEndpoint(options);
  const settings = await readLocalSettings(appDir);
  // An empty value is unset, as lib/config reads it (local.settings.sample.json lists the settings empty).
  const chosen = (name: string) => [process.env[name], settings[name]].some((value) => value !== undefined && value.trim() !== '');
  process.env.KLUIS_IDENTITY_EMULATOR_URL = identity.httpUrl;
  // As App Service: the app's managed identity endpoint, which the `local` Key Vault credential asks for the backup identity's tokens.
  if (!chosen('IDENTITY_ENDPOINT')) {
    process.env.IDENTITY_ENDPOINT = identity.msiEndpoint;
    process.env.IDENTITY_HEADER = identity.msiSecret;
  }
  if (!chosen('KLUIS_CA_FILE')) process.env.KLUIS_CA_FILE = identity.caCertPath;
  // The local administrator: the default managed identity (what MSI_SECRET signs in, az login --identity) is Owner.
  if (!chosen('KLUIS_OWNER_PRINCIPAL_IDS')) process.env.KLUIS_OWNER_PRINCIPAL_IDS = DEFAULT_MANAGED_IDENTITY.objectId;
  // The tenant the generic ARM endpoints show (GET /tenants, subscriptions) is the one the endpoint's tokens name.
  if (!chosen('KLUIS_TENANT_ID')) process.env.KLUIS_TENANT_ID = identity.tenantId;
  if (!AUTH_ISSUER_SETTINGS.some(chosen)) {
    process.env.KLUIS_AUTH_ISSUERS = identity.issuer;
    process.env.KLUIS_AUTH_JWKS_URL = identity.jwksUrl;
    process.env.KLUIS_AUTH_AUTHORITY = identity.adfsAuthority;
  }
  return identity;
}

/**
 * `--insecure-no-auth`: tokens and roles off for the app and the emulators' admin endpoints — refused
 * unless the host listens on a loopback address only.
 */
export function enableInsecureNoAuth(enabled: boolean, listenHost: string): void {
  if (!enabled) return;
  if (!['127.0.0.1', '::1', 'localhost'].includes(listenHost.toLowerCase())) {
    throw new InvalidArgumentError(`--insecure-no-auth refuses to listen on ${listenHost}: anyone who reaches the port could delete every backup. Listen on 127.0.0.1 (--listen-host 127.0.0.1) or drop the flag.`);
  }
  publishInsecureNoAuth(true);
}

/** The fabric behind the admin gate: the host key or an Owner of the VM's subscription. */
export function gatedFabric(fabric: HostRouteHandler, access: EmulatorAdminAccess): HostRouteHandler {
  return gatedRoutes(fabric, {
    gate: access.gate,
    applies: (request) => request.url.pathname.toLowerCase().startsWith(FABRIC_PATH_PREFIX),
    scopeOf: (request) => subscriptionScopeOfPath(request.url.pathname, loadConfig(process.env).tenancy.subscriptionId),
    what: 'The VM fabric',
  });
}

/**
 * Who may use the fabric's Microsoft.Compute endpoint: reads need a token the identity endpoint signed
 * (any principal of the directory), writes (disks, snapshots, SAS grants, restore points) the host key
 * or an Owner of the subscription — the fabric holds every VM's disks.
 */
export function computeGuard(access: EmulatorAdminAccess): (request: HostRequest) => Promise<HostResponse | undefined> {
  return async (request) => {
    const scope = subscriptionScopeOfPath(request.url.pathname, loadConfig(process.env).tenancy.subscriptionId);
    const decision = await access.gate(request, scope, { readOnly: request.method.toUpperCase() === 'GET' });
    return decision === 'allowed' ? undefined : refusedAdminResponse(decision, "The fabric's Microsoft.Compute endpoint", scope);
  };
}

/**
 * Starts the fabric's Microsoft.Compute endpoint (HTTPS, the local CA's certificate) and points the app at
 * it, unless the environment or local.settings.json names a Compute endpoint: KLUIS_COMPUTE_ENDPOINT is
 * what the app gives its ComputeManagementClient as `endpoint` (https://management.azure.com in Azure).
 */
export async function startHostCompute(
  appDir: string,
  options: { fabric: () => LocalFabric; tls: TlsMaterial; port?: number; logger?: HostLogger; access: EmulatorAdminAccess },
): Promise<RunningComputeEndpoint> {
  const compute = await startComputeEndpoint({
    fabric: () => options.fabric().compute,
    tls: { key: options.tls.serverKeyPem, cert: options.tls.serverCertPem },
    port: options.port ?? 0,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    guard: computeGuard(options.access),
  });
  const settings = await readLocalSettings(appDir);
  const chosen = [process.env.KLUIS_COMPUTE_ENDPOINT, settings.KLUIS_COMPUTE_ENDPOINT].some((value) => value !== undefined && value.trim() !== '');
  if (!chosen) process.env.KLUIS_COMPUTE_ENDPOINT = compute.url;
  options.logger?.log('information', `The fabric's Microsoft.Compute endpoint listens at ${compute.url} (trust ${options.tls.caCertPath})`, {
    computeEndpoint: compute.url,
    caFile: options.tls.caCertPath,
  });
  return compute;
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

/**
 * Everything the host and its emulators write (Azurite's data, keys, the identity's signing key, secrets,
 * logs) is its owner's only: new folders 0700, new files 0600, whatever the shell's umask.
 */
export function ownerOnlyFiles(): void {
  process.umask(0o077);
}

export async function main(argv: string[]): Promise<void> {
  ownerOnlyFiles();
  const program = new Command()
    .name('kluis-host')
    .description('Embedded Azure Functions + Durable host: runs an unchanged Functions v4 Node app offline.')
    .option('--app <dir>', 'the Functions app folder (with host.json and package.json)', process.cwd())
    .option('--port <port>', 'HTTP port (0 = any free port)', port, 7071)
    .option('--https-port <port>', "also serve HTTPS on this port (0 = any free port), with a certificate of the local CA in --tls-dir", port)
    .option('--tls-dir <dir>', 'the local CA (ca.pem: what clients trust) and server certificate of the HTTPS port and the identity endpoint', '<app>/.kluis/tls')
    .option('--storage <connectionString>', 'AzureWebJobsStorage connection string (default: the AzureWebJobsStorage environment variable, the app setting, or Azurite); prefer the environment variable: a command line is visible to every user of the machine')
    .option('--hub-name <name>', 'Durable task hub name (default: host.json extensions.durableTask.hubName)')
    .option('--secrets <file>', 'function keys file (default: <app>/.kluis/secrets.json, created at first start)')
    .option('--fake-clock <time>', 'run on a fake clock starting at this ISO time; advance it with POST /admin/clock/advance')
    .option('--log-format <format>', 'json or pretty', 'pretty')
    .option('--log-level <level>', 'trace, debug, information, warning, error', 'information')
    .option('--no-fabric', "do not serve the local VM fabric (/fabric/…, and its Microsoft.Compute endpoint)")
    .option('--compute-port <port>', "HTTPS port of the fabric's Microsoft.Compute endpoint (0 = any free port)", port, 0)
    .option('--no-keyvault', 'do not start the Key Vault emulator')
    .option('--keyvault-dir <dir>', "the Key Vault emulator's folder (CA, certificate, state)", '<app>/.kluis/keyvault')
    .option('--keyvault-persist', "keep the Key Vault emulator's vaults, keys and secrets across restarts", false)
    .option('--no-identity', 'do not start the local identity endpoint (then configure KLUIS_AUTH_* for the app yourself)')
    .option('--identity-dir <dir>', "the identity endpoint's folder (signing key, MSI secret, principals)", '<app>/.kluis/identity')
    .option('--identity-port <port>', "the identity endpoint's HTTP port (0 = any free port)", port, 0)
    .option('--identity-https-port <port>', "the identity endpoint's HTTPS port (0 = any free port)", port, 0)
    .option('--identity-persist', 'keep principals created through the identity admin API across restarts', false)
    .option('--identity-tenant <tenantId>', 'the local tenant id (a GUID)')
    .option('--listen-host <address>', 'the address the host listens on (loopback only with --insecure-no-auth)', '127.0.0.1')
    .option('--insecure-no-auth', "turn tokens and roles off: anyone who can reach the port may do anything (loopback binds only; never for anything you keep)", false)
    .parse(argv);
  const opts = program.opts<{
    app: string; port: number; httpsPort?: number; tlsDir: string; storage?: string; hubName?: string; secrets?: string; fakeClock?: string; logFormat: 'json' | 'pretty'; logLevel: LogLevel;
    fabric: boolean; computePort: number; keyvault: boolean; keyvaultDir: string; keyvaultPersist: boolean;
    identity: boolean; identityDir: string; identityPort: number; identityHttpsPort: number; identityPersist: boolean; identityTenant?: string;
    listenHost: string; insecureNoAuth: boolean;
  }>();
  enableInsecureNoAuth(opts.insecureNoAuth, opts.listenHost);
  if (opts.identityTenant !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(opts.identityTenant)) {
    throw new InvalidArgumentError(`--identity-tenant needs a tenant id (a GUID), got "${opts.identityTenant}"`);
  }
  const appDir = path.resolve(opts.app);
  const logger = createLogger({ format: opts.logFormat, minLevel: opts.logLevel });
  const storage = await chooseStorage(appDir, opts.storage);
  if (storage.azurite) logger.log('information', `Started Azurite for development storage (blob port ${storage.azurite.blobPort})`);
  let clock: FakeClock | undefined;
  if (opts.fakeClock !== undefined) {
    if (Number.isNaN(Date.parse(opts.fakeClock))) throw new InvalidArgumentError(`--fake-clock needs an ISO time, got "${opts.fakeClock}"`);
    clock = new FakeClock(new Date(opts.fakeClock));
  }
  const dirOption = (value: string, placeholder: string, name: string) => (value === placeholder ? path.join(appDir, '.kluis', name) : path.resolve(value));
  const keyVaultDir = dirOption(opts.keyvaultDir, '<app>/.kluis/keyvault', 'keyvault');
  let keyVault: RunningKeyVaultEmulator | undefined;
  let identity: RunningIdentityEndpoint | undefined;
  let compute: RunningComputeEndpoint | undefined;
  let tls: TlsMaterial | undefined;
  const hostClock = clock ?? new SystemClock();
  // The fabric reads the app's settings (KLUIS_SOURCE_STORAGE, KLUIS_INVENTORY…) on first use: the host applies them at start.
  const localFabric = lazyLocalFabric(() => ({
    clock: hostClock,
    onError: (err) => logger.log('error', `Fabric background work failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`),
  }));
  const stopEmulators = async () => {
    await compute?.stop();
    await identity?.stop();
    await keyVault?.stop();
    await storage.azurite?.stop();
  };
  // Who may use the fabric, the Key Vault emulator's admin API and the identity endpoint's directory.
  const adminAccess = new EmulatorAdminAccess();
  try {
    // A missing app folder is the host's error to report: create nothing inside it.
    if (existsSync(appDir)) {
      if (opts.identity || opts.fabric || opts.httpsPort !== undefined) tls = await hostTlsMaterial(dirOption(opts.tlsDir, '<app>/.kluis/tls', 'tls'));
      if (opts.identity && tls !== undefined) {
        identity = await startHostIdentity(appDir, {
          dataDir: dirOption(opts.identityDir, '<app>/.kluis/identity', 'identity'),
          tls,
          httpPort: opts.identityPort,
          httpsPort: opts.identityHttpsPort,
          persistPrincipals: opts.identityPersist,
          ...(opts.identityTenant === undefined ? {} : { tenantId: opts.identityTenant }),
          logger,
          adminGate: adminAccess.gate,
        });
      }
      if (opts.keyvault) {
        keyVault = await startHostKeyVault(appDir, { dataDir: keyVaultDir, persistState: opts.keyvaultPersist, logger, now: clock ? clock.now.bind(clock) : undefined, adminGate: adminAccess.gate }, identity);
      }
      if (opts.fabric && tls !== undefined) compute = await startHostCompute(appDir, { fabric: localFabric, tls, port: opts.computePort, logger, access: adminAccess });
    }
  } catch (err) {
    await stopEmulators();
    throw err;
  }
  const fabric = fabricRoutes(() => localFabric().service, {
    onInternalError: (err) => logger.log('error', `Fabric request failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`),
  });
  const host = new EmbeddedHost({
    appDir,
    clock: hostClock,
    port: opts.port,
    ...(opts.httpsPort !== undefined && tls !== undefined ? { httpsPort: opts.httpsPort, tls: { key: tls.serverKeyPem, cert: tls.serverCertPem } } : {}),
    storage: storage.connectionString,
    hubName: opts.hubName,
    secretsFile: opts.secrets && path.resolve(opts.secrets),
    logger,
    listenHost: opts.listenHost,
    routeHandlers: opts.fabric ? [gatedFabric(fabric, adminAccess)] : [],
  });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log('information', `Received ${signal}, stopping`);
    await host.stop().catch(() => undefined);
    await stopEmulators();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  try {
    await host.start();
    adminAccess.useSecrets(host.secrets);
  } catch (err) {
    await stopEmulators();
    throw err;
  }
  for (const fn of host.describeFunctions()) {
    logger.log('information', `  ${fn.name}: ${fn.url ? `[${fn.methods}] ${fn.url}` : fn.trigger}`);
  }
}
