/**
 * The local identity endpoint: issues RS256-signed access tokens for named local principals in the
 * shapes the official clients use (App Service and Cloud Shell managed identity, client credentials at
 * an AD FS-shaped or tenant authority), publishes its signing keys (JWKS) and OpenID configuration,
 * and keeps a small directory of principals with an admin API (router.ts). It listens on 127.0.0.1
 * twice: plain HTTP (App Service's MSI endpoint is http) and HTTPS with the local CA's certificate.
 *
 *   const identity = await startIdentityEndpoint({ dataDir, tls });
 *   // MSI_ENDPOINT=identity.msiEndpoint MSI_SECRET=identity.msiSecret az login --identity
 *
 * `<dataDir>/identity.json` holds the signing key and the MSI secret (generated once, kept across
 * restarts); created principals stay in memory unless `persistPrincipals` (then `<dataDir>/principals.json`).
 */
import path from 'node:path';
import type { TlsMaterial } from '../local-ca';
import { listen, type Listener } from '../listener';
import type { HostLogger } from '../logger';
import { LOCAL_TENANT_ID } from '../../lib/stores/azure/keyvault-credential';
import { PrincipalRegistry, ADE_IDENTITY, BACKUP_IDENTITY, DEFAULT_MANAGED_IDENTITY, DEFAULT_USER, type Principal } from './principals';
import { identityRouter } from './router';
import type { AdminGate } from '../admin-access';
import { IdentityService } from './service';
import { IDENTITY_FILE, loadOrCreateIdentitySecrets } from './signing-key';

export { ADE_IDENTITY, BACKUP_IDENTITY, DEFAULT_MANAGED_IDENTITY, DEFAULT_USER, type Principal, type PrincipalKind } from './principals';

export interface IdentityEndpointOptions {
  /** Holds identity.json (and principals.json when persisting); created when missing. */
  dataDir: string;
  /** The local CA's server certificate and key for the HTTPS listener, and the CA clients trust. */
  tls: TlsMaterial;
  /** The local tenant; default LOCAL_TENANT_ID (the Key Vault emulator's too). */
  tenantId?: string;
  /** Ports on 127.0.0.1; default 0 (any free port). */
  httpPort?: number;
  httpsPort?: number;
  /** Keep principals created through the admin API in <dataDir>/principals.json. Default false. */
  persistPrincipals?: boolean;
  /** Issue times; default the system clock (clients compare expiries with real time). */
  now?: () => Date;
  tokenLifetimeInSeconds?: number;
  logger?: HostLogger;
  /**
   * Who may use the directory (`/admin/principals`): the host key or an Owner at the root scope
   * (emulator/admin-access.ts). Without a gate the directory answers nobody.
   */
  adminGate?: AdminGate;
}

export interface RunningIdentityEndpoint {
  /** e.g. http://127.0.0.1:41000 */
  readonly httpUrl: string;
  /** e.g. https://127.0.0.1:41001 */
  readonly httpsUrl: string;
  readonly tenantId: string;
  /** `iss` of every token it issues. */
  readonly issuer: string;
  /** Its signing keys (JWKS), over HTTPS. */
  readonly jwksUrl: string;
  /** The AD FS-shaped authority (https) for az's --endpoint-active-directory and MSAL. */
  readonly adfsAuthority: string;
  /** What MSI_ENDPOINT must be (http). */
  readonly msiEndpoint: string;
  /** What MSI_SECRET must be: signs in the default managed identity. Never log it. */
  readonly msiSecret: string;
  /** The file that holds the signing key and the MSI secret (mode 600): `msiSecret` is its field of that name. */
  readonly secretsFile: string;
  /** The CA certificate (PEM file) HTTPS clients trust. */
  readonly caCertPath: string;
  readonly service: IdentityService;
  readonly registry: PrincipalRegistry;
  /** Closes both listeners; idempotent. */
  stop(): Promise<void>;
}

export async function startIdentityEndpoint(options: IdentityEndpointOptions): Promise<RunningIdentityEndpoint> {
  const dataDir = path.resolve(options.dataDir);
  const secrets = await loadOrCreateIdentitySecrets(dataDir);
  const tenantId = (options.tenantId ?? LOCAL_TENANT_ID).toLowerCase();
  const registry = new PrincipalRegistry({ ...(options.persistPrincipals ? { persistDir: dataDir } : {}), ...(options.now ? { now: options.now } : {}) });
  let httpsOrigin = '';
  const service = new IdentityService({
    tenantId,
    registry,
    secrets,
    httpsOrigin: () => httpsOrigin,
    ...(options.now ? { now: options.now } : {}),
    ...(options.tokenLifetimeInSeconds === undefined ? {} : { tokenLifetimeInSeconds: options.tokenLifetimeInSeconds }),
  });
  const handler = identityRouter(service, { caCertificatePem: options.tls.caCertPem, ...(options.logger ? { logger: options.logger } : {}), ...(options.adminGate ? { adminGate: options.adminGate } : {}) });
  const listeners: Listener[] = [];
  try {
    listeners.push(await listen({ port: options.httpPort ?? 0 }, handler));
    listeners.push(await listen({ port: options.httpsPort ?? 0, tls: { key: options.tls.serverKeyPem, cert: options.tls.serverCertPem } }, handler));
  } catch (err) {
    await Promise.all(listeners.map((listener) => listener.close()));
    throw err;
  }
  const [http, https] = listeners;
  httpsOrigin = https.origin;
  let stopping: Promise<void> | undefined;
  const running: RunningIdentityEndpoint = {
    httpUrl: http.origin,
    httpsUrl: https.origin,
    tenantId,
    issuer: service.issuer,
    jwksUrl: service.jwksUri,
    adfsAuthority: service.adfsAuthority,
    msiEndpoint: `${http.origin}/msi/token`,
    msiSecret: secrets.msiSecret,
    secretsFile: path.join(dataDir, IDENTITY_FILE),
    caCertPath: options.tls.caCertPath,
    service,
    registry,
    stop: () => {
      stopping ??= Promise.all(listeners.map((listener) => listener.close())).then(() => undefined);
      return stopping;
    },
  };
  options.logger?.log('information', `Identity endpoint: ${running.httpUrl} and ${running.httpsUrl} (tenant ${tenantId}, AD FS authority ${running.adfsAuthority}, MSI endpoint ${running.msiEndpoint}), CA certificate ${running.caCertPath}`, {
    category: 'Identity',
    identityUrl: running.httpUrl,
    identityHttpsUrl: running.httpsUrl,
    identityTenantId: tenantId,
    identityIssuer: running.issuer,
    identityJwksUrl: running.jwksUrl,
    identityAuthority: running.adfsAuthority,
    identityMsiEndpoint: running.msiEndpoint,
    caFile: running.caCertPath,
    identitySecretsFile: running.secretsFile,
  });
  return running;
}

/** The principals every endpoint starts with. */
export const DEFAULT_PRINCIPALS: readonly Principal[] = [DEFAULT_MANAGED_IDENTITY, DEFAULT_USER, BACKUP_IDENTITY, ADE_IDENTITY];
