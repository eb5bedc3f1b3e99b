/**
 * The Key Vault emulator for jest suites: `useKeyVaultEmulator()` starts one (memory only, TLS material
 * in a fresh temp folder) before the suite and stops it after; `startTestKeyVaultEmulator()` starts
 * another for a single test. Clients are the real SDK clients with the product's options (the
 * emulator's CA trusted by these clients only, challenge resource check off for loopback vaults) and
 * retries off, authenticated as a local principal with tokens the emulator verifies (token-issuer.ts:
 * the test's own issuer for emulators started here, the identity endpoint's key for a host's). The
 * admin API of an emulator started here lets the test in (its gate is admin-access.ts's business and
 * has tests of its own); a host's takes the host's master key.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KeyClient, CryptographyClient } from '@azure/keyvault-keys';
import { SecretClient } from '@azure/keyvault-secrets';
import { startKeyVaultEmulator, type AccessPolicyInput, type KeyVaultEmulatorOptions, type RunningKeyVaultEmulator, type VaultDescription, type VaultSpec } from '../../emulator/keyvault';
import type { HostLogger, LogFields, LogLevel } from '../../emulator/logger';
import type { SpawnedHost } from './host-process';
import { keyVaultClientOptions } from '../../lib/stores/azure/keyvault-client-options';
import { EmulatorKeyVaultLocator } from '../../lib/stores/azure/keyvault-locator';
import type { TokenCredential } from '@azure/identity';
import { identityEndpointIssuer, testTokenIssuer, type TestTokenIssuer } from './token-issuer';

const STARTUP_HOOK_TIMEOUT_IN_MS = 30_000;

export interface TestKeyVaultEmulator {
  emulator: RunningKeyVaultEmulator;
  dataDir: string;
  /** Stops the emulator and removes its folder. */
  dispose(): Promise<void>;
}

export async function startTestKeyVaultEmulator(options: Partial<KeyVaultEmulatorOptions> = {}): Promise<TestKeyVaultEmulator> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'kluis-keyvault-'));
  const issuer = await testTokenIssuer();
  const emulator = await startKeyVaultEmulator({ tokenTrust: () => issuer.trust(), adminGate: async () => 'allowed', ...options, dataDir });
  return {
    emulator,
    dataDir,
    dispose: async () => {
      await emulator.stop();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts an emulator for the enclosing suite (beforeAll) and stops it (afterAll); use the getter inside tests. */
export function useKeyVaultEmulator(options: Partial<KeyVaultEmulatorOptions> = {}): () => RunningKeyVaultEmulator {
  let running: TestKeyVaultEmulator | undefined;
  beforeAll(async () => {
    running = await startTestKeyVaultEmulator(options);
  }, STARTUP_HOOK_TIMEOUT_IN_MS);
  afterAll(async () => {
    await running?.dispose();
    running = undefined;
  });
  return () => {
    if (running === undefined) throw new Error('The Key Vault emulator is not running: use the getter inside a test, after beforeAll');
    return running.emulator;
  };
}

/** A fresh vault name: 3–24 letters, digits and hyphens, starting with a letter. */
export function uniqueVaultName(prefix = 'kv'): string {
  const suffix = `${Date.now().toString(36).slice(-5)}${randomBytes(3).toString('hex')}`;
  return `${prefix.slice(0, 24 - suffix.length - 1)}-${suffix}`;
}

/** A fresh principal object id. */
export function newObjectId(): string {
  return randomUUID();
}

export const ALL_PERMISSIONS = { keys: ['all'], secrets: ['all'] };

/** What the client helpers need of an emulator: one started here, or a host's (see keyVaultOfHost, which names its issuer). */
export type TrustedEmulator = Pick<RunningKeyVaultEmulator, 'caCertificatePem'> & { issuer?: TestTokenIssuer };

/** Signed tokens presenting `objectId` to the emulator (the test issuer unless the emulator names another). */
export function principalCredential(emulator: TrustedEmulator, objectId: string): TokenCredential {
  return {
    getToken: async (scopes, options) => (emulator.issuer ?? (await testTokenIssuer())).credential(objectId).getToken(scopes, options),
  };
}

function clientOptions(emulator: TrustedEmulator, vaultUrl: string) {
  return keyVaultClientOptions(vaultUrl, { caCertificatePem: emulator.caCertificatePem }, { retryOptions: { maxRetries: 0 } });
}

export function secretClient(emulator: TrustedEmulator, vault: VaultDescription, objectId: string, extra: ConstructorParameters<typeof SecretClient>[2] = {}): SecretClient {
  return new SecretClient(vault.url, principalCredential(emulator, objectId), { ...clientOptions(emulator, vault.url), ...extra });
}

export function keyClient(emulator: TrustedEmulator, vault: VaultDescription, objectId: string, extra: ConstructorParameters<typeof KeyClient>[2] = {}): KeyClient {
  return new KeyClient(vault.url, principalCredential(emulator, objectId), { ...clientOptions(emulator, vault.url), ...extra });
}

/** A CryptographyClient for a key id (versioned or not) as a principal. */
export function cryptographyClient(emulator: TrustedEmulator, keyId: string, objectId: string): CryptographyClient {
  return new CryptographyClient(keyId, principalCredential(emulator, objectId), clientOptions(emulator, keyId));
}

/** The product's locator on an emulator started here (whose admin API lets tests in: any token will do). */
export function emulatorLocator(emulator: Pick<RunningKeyVaultEmulator, 'adminUrl'>): EmulatorKeyVaultLocator {
  return new EmulatorKeyVaultLocator(emulator.adminUrl, async () => 'test-token');
}

/** A Key Vault emulator in another process (e.g. the one kluis-host starts), driven over its admin API. */
export interface RemoteKeyVaultEmulator extends TrustedEmulator {
  adminUrl: string;
  createVault(spec: VaultSpec): Promise<VaultDescription>;
  setAccessPolicy(vaultName: string, policy: AccessPolicyInput): Promise<VaultDescription>;
  deleteVault(vaultName: string): Promise<void>;
}

interface VaultResourceBody {
  id: string;
  name: string;
  location: string;
  properties: { tenantId: string; vaultUri: string; softDeleteRetentionInDays: number; accessPolicies: VaultDescription['accessPolicies'] };
}

function describeResource(resource: VaultResourceBody): VaultDescription {
  const [, , subscriptionId, , resourceGroup] = resource.id.split('/');
  const url = resource.properties.vaultUri.replace(/\/$/, '');
  return {
    name: resource.name,
    id: resource.id,
    url,
    vaultUri: resource.properties.vaultUri,
    port: Number(new URL(url).port),
    location: resource.location,
    tenantId: resource.properties.tenantId,
    subscriptionId,
    resourceGroup,
    softDeleteRetentionInDays: resource.properties.softDeleteRetentionInDays,
    accessPolicies: resource.properties.accessPolicies,
  };
}

async function adminCall(url: string, method: string, hostKey: string | undefined, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = { ...(hostKey === undefined ? {} : { 'x-functions-key': hostKey }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`Key Vault emulator admin ${method} ${new URL(url).pathname} answered ${response.status}: ${text}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

export async function remoteKeyVault(adminUrl: string, access: { hostKey?: string; issuer?: TestTokenIssuer } = {}): Promise<RemoteKeyVaultEmulator> {
  const caResponse = await fetch(`${adminUrl}/ca.pem`);
  if (!caResponse.ok) throw new Error(`No Key Vault emulator answers at ${adminUrl} (GET /ca.pem: ${caResponse.status})`);
  const caCertificatePem = await caResponse.text();
  return {
    adminUrl,
    caCertificatePem,
    ...(access.issuer === undefined ? {} : { issuer: access.issuer }),
    createVault: async (spec) => describeResource((await adminCall(`${adminUrl}/vaults`, 'POST', access.hostKey, spec)) as VaultResourceBody),
    setAccessPolicy: async (vaultName, policy) =>
      describeResource((await adminCall(`${adminUrl}/vaults/${encodeURIComponent(vaultName)}/accessPolicies`, 'PUT', access.hostKey, policy)) as VaultResourceBody),
    deleteVault: async (vaultName) => {
      await adminCall(`${adminUrl}/vaults/${encodeURIComponent(vaultName)}`, 'DELETE', access.hostKey);
    },
  };
}

/**
 * The Key Vault emulator a kluis-host child process started (its admin URL is in the host's JSON log),
 * driven with the host's master key, its vaults with tokens signed by the host's identity endpoint.
 */
export async function keyVaultOfHost(host: Pick<SpawnedHost, 'waitForLog' | 'secretsFile'>): Promise<RemoteKeyVaultEmulator> {
  const record = await host.waitForLog((r) => typeof r.keyVaultAdminUrl === 'string');
  const identity = await host.waitForLog((r) => typeof r.identitySecretsFile === 'string' && typeof r.identityIssuer === 'string');
  const hostKey = (JSON.parse(readFileSync(host.secretsFile, 'utf8')) as { masterKey: string }).masterKey;
  const issuer = await identityEndpointIssuer(identity.identitySecretsFile as string, identity.identityIssuer as string);
  return remoteKeyVault(record.keyVaultAdminUrl as string, { hostKey, issuer });
}

/** A logger keeping every record (all levels) as its JSON line, for assertions on what was logged. */
export function capturingLogger(): { logger: HostLogger; lines: string[] } {
  const lines: string[] = [];
  const make = (base: LogFields): HostLogger => ({
    log(level: LogLevel, message: string, fields?: LogFields) {
      lines.push(JSON.stringify({ level, message, ...base, ...fields }));
    },
    child(fields: LogFields) {
      return make({ ...base, ...fields });
    },
  });
  return { logger: make({}), lines };
}

export interface KeyVaultRestError {
  statusCode?: number;
  code?: string;
  /** Key Vault's `innererror.code`, e.g. ObjectIsDeletedButRecoverable. */
  innerCode?: string;
  message: string;
}

/** The REST error a failed SDK call threw: its status and Key Vault's error code, inner code and message. */
export async function restErrorOf(promise: Promise<unknown>): Promise<KeyVaultRestError> {
  try {
    await promise;
  } catch (err) {
    const e = err as { statusCode?: number; code?: string; message: string; details?: { error?: { innerError?: { code?: string } } } };
    return { statusCode: e.statusCode, code: e.code, innerCode: e.details?.error?.innerError?.code, message: e.message };
  }
  throw new Error('Expected the call to fail, but it succeeded');
}
