/**
 * The Key Vault emulator: several vaults at once, each served over HTTPS on its own port of 127.0.0.1
 * (vault URL `https://127.0.0.1:<port>`, so the SDK's identifier parsing sees an ordinary vault host),
 * plus a plain-HTTP admin API to create and delete vaults and set access policies (admin-router.ts).
 *
 *   const kv = await startKeyVaultEmulator({ dataDir });
 *   const vault = await kv.createVault({ name: 'kv-app', accessPolicies: [{ objectId, permissions: { secrets: ['all'] } }] });
 *   new SecretClient(vault.url, new LocalPrincipalCredential({ objectId }), keyVaultClientOptions(vault.url, { caCertificatePem: kv.caCertificatePem }));
 *
 * TLS material lives in `dataDir` (certificates.ts). With `persistState` the vaults, their keys and
 * secrets, and the identity that seals backups survive restarts in `<dataDir>/state.json`, and each
 * vault listens on the port it had, so stored URLs stay valid; without it everything is in memory and
 * backups restore only into this instance.
 */
import path from 'node:path';
import type { HostLogger } from '../logger';
import { adminRouter, type VaultAdmin } from './admin-router';
import { newBackupIdentity, type BackupIdentity } from './backup-seal';
import { ensureTlsMaterial, type TlsMaterial } from '../local-ca';
import { keyVaultErrors } from './errors';
import { listen, type Listener } from '../listener';
import { normalizeAccessPolicy, type AccessPolicyInput } from './permissions';
import { readState, STATE_FORMAT, writeState } from './state-file';
import { EmulatedVault, type VaultDescription, type VaultSnapshot } from './vault';
import { normalizeVaultSpec, VAULT_DEFAULTS, type VaultDefaults, type VaultSpec } from './vault-spec';
import { vaultRouter } from './vault-router';
import type { TokenTrust } from './bearer-token';
import type { AdminGate } from '../admin-access';

export type { VaultDescription } from './vault';
export type { VaultSpec } from './vault-spec';
export type { AccessPolicyInput, AccessPolicyEntry } from './permissions';
export type { TokenTrust } from './bearer-token';
export { vaultResource } from './admin-router';

export interface KeyVaultEmulatorOptions {
  /** Holds tls.json and ca.pem (and state.json when persisting); created when missing. */
  dataDir: string;
  /** Keep vaults, keys and secrets in <dataDir>/state.json across restarts. Default false (memory only). */
  persistState?: boolean;
  /** Port of the admin API on 127.0.0.1; default 0 (any free port). */
  adminPort?: number;
  /** Time of created/updated/deleted dates and purge schedules; default the system clock. */
  now?: () => Date;
  /** Vault lifecycle at information level, each request (no bodies, no query strings) at debug level. */
  logger?: HostLogger;
  /** Defaults for vaults that name no location, tenant, subscription or resource group. */
  defaults?: Partial<VaultDefaults>;
  /** Whose signed tokens the vaults accept (the local identity endpoint's issuer and keys); none: no token is accepted. */
  tokenTrust?: () => TokenTrust | undefined;
  /**
   * Who may use the admin API (emulator/admin-access.ts): reads need any signed-in caller, changes an
   * Owner or the host key. Without a gate only `GET /ca.pem` answers.
   */
  adminGate?: AdminGate;
}

export interface RunningKeyVaultEmulator extends VaultAdmin {
  /** e.g. http://127.0.0.1:41234 */
  readonly adminUrl: string;
  /** The CA certificate (PEM file) clients must trust: KLUIS_KEYVAULT_CA_FILE or NODE_EXTRA_CA_CERTS. */
  readonly caCertPath: string;
  readonly caCertificatePem: string;
  /** Closes every listener; idempotent. (A persisting emulator has saved each change already.) */
  stop(): Promise<void>;
}

interface Served {
  vault: EmulatedVault;
  listener: Listener;
}

const STATE_FILE = 'state.json';

class KeyVaultEmulator implements RunningKeyVaultEmulator {
  adminUrl = '';
  private admin?: Listener;
  private readonly served = new Map<string, Served>();
  private readonly reserved = new Set<string>();
  private stopping?: Promise<void>;
  /** Set once every saved vault listens again: a failed start must not overwrite the saved state. */
  private started = false;
  private readonly now: () => Date;
  private readonly defaults: VaultDefaults;

  constructor(
    private readonly options: KeyVaultEmulatorOptions,
    private readonly tls: TlsMaterial,
    private readonly identity: BackupIdentity,
  ) {
    this.now = options.now ?? (() => new Date());
    this.defaults = { ...VAULT_DEFAULTS, ...options.defaults };
  }

  get caCertPath(): string {
    return this.tls.caCertPath;
  }

  get caCertificatePem(): string {
    return this.tls.caCertPem;
  }

  async start(saved: VaultSnapshot[]): Promise<void> {
    try {
      for (const snapshot of saved) {
        const { port, accessPolicies, secrets, keys, ...settings } = snapshot;
        await this.serve(new EmulatedVault(settings, this.now, this.identity, { accessPolicies, secrets, keys }), port);
      }
      this.admin = await listen({ port: this.options.adminPort ?? 0 }, adminRouter(this, { gate: this.options.adminGate, defaultSubscriptionId: this.defaults.subscriptionId }));
      this.adminUrl = this.admin.origin;
      this.started = true;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async createVault(spec: VaultSpec): Promise<VaultDescription> {
    const { settings, accessPolicies, port } = normalizeVaultSpec(spec, this.defaults);
    const key = settings.name.toLowerCase();
    if (this.served.has(key) || this.reserved.has(key)) throw keyVaultErrors.vaultAlreadyExists(settings.name);
    this.reserved.add(key);
    try {
      const vault = new EmulatedVault(settings, this.now, this.identity);
      accessPolicies.forEach((entry) => vault.setPolicy(entry));
      await this.serve(vault, port);
      this.persist();
      return vault.describe();
    } finally {
      this.reserved.delete(key);
    }
  }

  /** By name, ARM id (case-insensitive) or URL (`https://127.0.0.1:<port>` or `https://localhost:<port>`, any path). */
  getVault(nameIdOrUrl: string): VaultDescription | undefined {
    return this.find(nameIdOrUrl)?.vault.describe();
  }

  listVaults(): VaultDescription[] {
    return [...this.served.values()].map(({ vault }) => vault.describe()).sort((a, b) => a.name.localeCompare(b.name));
  }

  async deleteVault(name: string): Promise<boolean> {
    const served = this.served.get(name.toLowerCase());
    if (served === undefined) return false;
    this.served.delete(name.toLowerCase());
    await served.listener.close();
    this.persist();
    this.options.logger?.log('information', `Key Vault emulator: deleted vault ${served.vault.name}`, { category: 'KeyVault' });
    return true;
  }

  setAccessPolicy(vaultName: string, policy: AccessPolicyInput): VaultDescription {
    const { vault } = this.require(vaultName);
    vault.setPolicy(normalizeAccessPolicy(policy, vault.settings.tenantId));
    this.persist();
    return vault.describe();
  }

  removeAccessPolicy(vaultName: string, objectId: string): VaultDescription {
    const { vault } = this.require(vaultName);
    vault.removePolicy(objectId);
    this.persist();
    return vault.describe();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const listeners = [...this.served.values()].map(({ listener }) => listener);
      if (this.admin) listeners.push(this.admin);
      await Promise.all(listeners.map((listener) => listener.close()));
    })();
    return this.stopping;
  }

  private async serve(vault: EmulatedVault, port: number): Promise<void> {
    let listener: Listener;
    try {
      listener = await listen(
        { port, tls: { key: this.tls.serverKeyPem, cert: this.tls.serverCertPem } },
        vaultRouter(vault, { logger: this.options.logger, onChange: () => this.persist(), ...(this.options.tokenTrust === undefined ? {} : { tokenTrust: this.options.tokenTrust }) }),
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw keyVaultErrors.vaultPortInUse(vault.name, port);
      throw err;
    }
    vault.listeningOn(listener.port);
    this.served.set(vault.name.toLowerCase(), { vault, listener });
    this.options.logger?.log('information', `Key Vault emulator: vault ${vault.name} at ${vault.baseUrl}`, { category: 'KeyVault', vault: vault.name, url: vault.baseUrl });
  }

  private find(nameIdOrUrl: string): Served | undefined {
    const byName = this.served.get(nameIdOrUrl.toLowerCase());
    if (byName) return byName;
    const wanted = nameIdOrUrl.replace(/\/$/, '').toLowerCase();
    for (const served of this.served.values()) if (served.vault.id.toLowerCase() === wanted) return served;
    let url: URL;
    try {
      url = new URL(nameIdOrUrl);
    } catch {
      return undefined;
    }
    if (url.protocol !== 'https:' || !['127.0.0.1', 'localhost'].includes(url.hostname)) return undefined;
    for (const served of this.served.values()) if (String(served.vault.port) === url.port) return served;
    return undefined;
  }

  private require(name: string): Served {
    const served = this.served.get(name.toLowerCase());
    if (served === undefined) throw keyVaultErrors.vaultNotFound(name);
    return served;
  }

  private persist(): void {
    if (!this.options.persistState || !this.started) return;
    const vaults = [...this.served.values()].map(({ vault }) => vault.snapshot());
    writeState(path.join(this.options.dataDir, STATE_FILE), { format: STATE_FORMAT, identity: this.identity, vaults });
  }
}

export async function startKeyVaultEmulator(options: KeyVaultEmulatorOptions): Promise<RunningKeyVaultEmulator> {
  const dataDir = path.resolve(options.dataDir);
  const tls = await ensureTlsMaterial(dataDir, { caName: 'Kluis Key Vault emulator local CA' });
  const saved = options.persistState ? readState(path.join(dataDir, STATE_FILE)) : undefined;
  const emulator = new KeyVaultEmulator({ ...options, dataDir }, tls, saved?.identity ?? newBackupIdentity());
  await emulator.start(saved?.vaults ?? []);
  options.logger?.log('information', `Key Vault emulator: admin API at ${emulator.adminUrl}, CA certificate ${tls.caCertPath}`, {
    category: 'KeyVault',
    keyVaultAdminUrl: emulator.adminUrl,
    keyVaultCaFile: tls.caCertPath,
  });
  return emulator;
}
