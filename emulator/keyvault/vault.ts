/**
 * One emulated key vault: its ARM identity (subscription, resource group, name, location, tenant), its
 * access policies, and its secrets and keys. The HTTPS listener that serves it lives in the emulator;
 * the vault only learns its base URL (`https://127.0.0.1:<port>`) once that listener is up.
 */
import type { BackupIdentity } from './backup-seal';
import { ObjectCollection, type CollectionSnapshot, type VersionMeta } from './object-collection';
import type { AccessPolicyEntry } from './permissions';
import type { RsaPrivateJwk } from './rsa-keys';

export interface SecretVersion extends VersionMeta {
  value: string;
  contentType?: string;
}

export const KEY_OPERATIONS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey', 'import', 'export'] as const;
export type KeyOperation = (typeof KEY_OPERATIONS)[number];

export interface KeyVersion extends VersionMeta {
  jwk: RsaPrivateJwk;
  keyOps: KeyOperation[];
}

export interface VaultSettings {
  name: string;
  location: string;
  tenantId: string;
  subscriptionId: string;
  resourceGroup: string;
  /** 7–90 days (Key Vault's range); 90 by default. */
  softDeleteRetentionInDays: number;
}

/** What callers see of a vault (no keys or secrets). */
export interface VaultDescription extends VaultSettings {
  /** ARM id: /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name} */
  id: string;
  /** https://127.0.0.1:<port> — what SecretClient and KeyClient take. */
  url: string;
  /** The same with a trailing slash, as ARM shows `properties.vaultUri`. */
  vaultUri: string;
  port: number;
  accessPolicies: AccessPolicyEntry[];
}

/** A vault as the state file keeps it. */
export interface VaultSnapshot extends VaultSettings {
  port: number;
  accessPolicies: AccessPolicyEntry[];
  secrets: CollectionSnapshot<SecretVersion>;
  keys: CollectionSnapshot<KeyVersion>;
}

export const MAX_RETENTION_DAYS = 90;

export function vaultResourceId(settings: Pick<VaultSettings, 'subscriptionId' | 'resourceGroup' | 'name'>): string {
  return `/subscriptions/${settings.subscriptionId}/resourceGroups/${settings.resourceGroup}/providers/Microsoft.KeyVault/vaults/${settings.name}`;
}

export class EmulatedVault {
  readonly secrets: ObjectCollection<SecretVersion>;
  readonly keys: ObjectCollection<KeyVersion>;
  private readonly policies = new Map<string, AccessPolicyEntry>();
  private listeningPort = 0;

  constructor(
    readonly settings: VaultSettings,
    private readonly clock: () => Date,
    readonly backupIdentity: BackupIdentity,
    snapshot?: Pick<VaultSnapshot, 'accessPolicies' | 'secrets' | 'keys'>,
  ) {
    const collectionClock = { now: () => this.nowSeconds(), retentionDays: () => this.settings.softDeleteRetentionInDays };
    this.secrets = new ObjectCollection<SecretVersion>('secret', collectionClock, snapshot?.secrets);
    this.keys = new ObjectCollection<KeyVersion>('key', collectionClock, snapshot?.keys);
    snapshot?.accessPolicies.forEach((entry) => this.policies.set(entry.objectId.toLowerCase(), entry));
  }

  get name(): string {
    return this.settings.name;
  }

  get id(): string {
    return vaultResourceId(this.settings);
  }

  get port(): number {
    return this.listeningPort;
  }

  /** `https://127.0.0.1:<port>`, known once the vault listens. */
  get baseUrl(): string {
    return `https://127.0.0.1:${this.listeningPort}`;
  }

  listeningOn(port: number): void {
    this.listeningPort = port;
  }

  nowSeconds(): number {
    return Math.floor(this.clock().getTime() / 1000);
  }

  /** How Key Vault names a vault in Forbidden messages. */
  get forbiddenTarget(): string {
    return `${this.settings.name};location=${this.settings.location}`;
  }

  recoveryAttributes(): { recoveryLevel: string; recoverableDays: number } {
    const days = this.settings.softDeleteRetentionInDays;
    return { recoveryLevel: days === MAX_RETENTION_DAYS ? 'Recoverable+Purgeable' : 'CustomizedRecoverable+Purgeable', recoverableDays: days };
  }

  policyFor(objectId: string): AccessPolicyEntry | undefined {
    return this.policies.get(objectId.toLowerCase());
  }

  /** Adds or replaces the principal's entry. */
  setPolicy(entry: AccessPolicyEntry): void {
    this.policies.set(entry.objectId.toLowerCase(), entry);
  }

  removePolicy(objectId: string): void {
    this.policies.delete(objectId.toLowerCase());
  }

  describe(): VaultDescription {
    return {
      ...this.settings,
      id: this.id,
      url: this.baseUrl,
      vaultUri: `${this.baseUrl}/`,
      port: this.listeningPort,
      accessPolicies: [...this.policies.values()].map((entry) => structuredClone(entry)),
    };
  }

  snapshot(): VaultSnapshot {
    return {
      ...this.settings,
      port: this.listeningPort,
      accessPolicies: [...this.policies.values()],
      secrets: this.secrets.snapshot(),
      keys: this.keys.snapshot(),
    };
  }
}
