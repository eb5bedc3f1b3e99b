/**
 * A registered backup server talking to its vault after registration (issue 16), every call signed with the
 * server's own identity key (lib/domain/backup-server/server-identity.ts), not the 48-hour credentials key:
 *  - checkInBackupServer: the vault records lastCheckInAt and answers the subscription's state, so the server
 *    applies the seed's connectivity × subscription table (lib/domain/backup-server/connectivity.ts).
 *  - grantVaultCopyAccess: a short-lived SAS for the server's own container in the vault's storage (write: copy
 *    and retention) or read-only (restore), also for another server's container of the same vault (restoring on a
 *    second server with the passphrase). Stopped as the table says; a Deprovisioned subscription deletes the
 *    server's vault copy irretrievably.
 *  - unregisterBackupServerAndVaultCopy: DELETE {vault}/registeredIdentities/{name}, as Azure's "delete backup
 *    management server": the server's backup data in the vault is deleted permanently; its local copies stay.
 */
import type { VaultRef } from '../domain/arm-names';
import { errors } from '../domain/errors';
import { allowedOperations, connectivityOf, serverSubscriptionState, type AllowedOperations, type ServerSubscriptionState } from '../domain/backup-server/connectivity';
import type { BackupServerRecord } from '../domain/backup-server/registration';
import { checkServerRequest, type ServerOperation, type SignedServerRequest } from '../domain/backup-server/server-identity';
import type { SubscriptionState } from '../domain/tenancy';
import type { BackupServerCatalog } from '../stores/backup-server-catalog';
import type { VaultCatalog } from '../stores/vault-catalog';
import type { VaultCopyAccessIssuer, VaultCopyGrant, VaultCopyPermission } from '../stores/vault-copy-access';
import { unregisterBackupServer, vaultPartitionOf } from './backup-server-registration';
import { getVault } from './vaults';

/** How long a vault copy SAS lives: long enough for one day's copy, short enough to be worthless when leaked later. */
export const VAULT_COPY_ACCESS_MINUTES = 60;

export interface BackupServerConnectionDeps {
  catalog: VaultCatalog;
  backupServers: BackupServerCatalog;
  clock: () => Date;
  /** The subscription's ARM state (admin-changeable locally). */
  subscriptionState: (subscriptionId: string) => Promise<SubscriptionState>;
  copyAccess: VaultCopyAccessIssuer;
}

export interface CheckInResult {
  serverName: string;
  lastCheckInAt: string;
  subscriptionState: ServerSubscriptionState;
  allowed: AllowedOperations;
}

/** The vault's container of a server's online copy: one per registered server, named by its engine id. */
export function vaultCopyContainerOf(server: Pick<BackupServerRecord, 'backupEngineId'>): string {
  return `kluis-bs-${server.backupEngineId.toLowerCase()}`;
}

export async function authenticated(deps: Pick<BackupServerConnectionDeps, 'catalog' | 'backupServers' | 'clock'>, vault: VaultRef, signed: SignedServerRequest, operation: ServerOperation) {
  await getVault(deps, vault);
  const partition = vaultPartitionOf(vault);
  const found = await deps.backupServers.servers.get(partition, String(signed.request.serverName).toLowerCase());
  if (found === undefined) throw errors.backupServerNotRegistered(String(signed.request.serverName));
  checkServerRequest(signed, { vault, operation, serverPublicKey: found.value.serverPublicKey }, deps.clock());
  return { partition, found };
}

export async function checkInBackupServer(deps: BackupServerConnectionDeps, vault: VaultRef, signed: SignedServerRequest): Promise<CheckInResult> {
  const { partition, found } = await authenticated(deps, vault, signed, 'checkIn');
  const now = deps.clock();
  const record: BackupServerRecord = { ...found.value, lastCheckInAt: now.toISOString() };
  await deps.backupServers.servers.replace(partition, record.serverName.toLowerCase(), record, found.etag);
  const subscription = serverSubscriptionState(await deps.subscriptionState(vault.subscriptionId));
  if (subscription === 'Deprovisioned') await deps.copyAccess.deleteContainer(vaultCopyContainerOf(record));
  return { serverName: record.serverName, lastCheckInAt: record.lastCheckInAt, subscriptionState: subscription, allowed: allowedOperations('Connected', subscription) };
}

export async function grantVaultCopyAccess(deps: BackupServerConnectionDeps, vault: VaultRef, signed: SignedServerRequest): Promise<VaultCopyGrant & { permission: VaultCopyPermission; serverName: string }> {
  const { partition, found } = await authenticated(deps, vault, signed, 'vaultCopyAccess');
  const permission = signed.request.arguments?.access === 'write' ? 'write' : 'read';
  const sourceName = signed.request.arguments?.sourceServer ?? found.value.serverName;
  const now = deps.clock();
  const subscription = serverSubscriptionState(await deps.subscriptionState(vault.subscriptionId));
  // The vault sees the caller now, so it is Connected; the table decides the rest.
  const allowed = allowedOperations(connectivityOf(now.toISOString(), now), subscription);
  if (subscription === 'Deprovisioned') await deps.copyAccess.deleteContainer(vaultCopyContainerOf(found.value));
  if (permission === 'write' && allowed.backupToAzure === 'Stopped') throw errors.backupServerOperationStopped('Backup to Azure', 'Connected', subscription);
  if (permission === 'read' && allowed.restoreFromAzure === 'Stopped') throw errors.backupServerOperationStopped('Restore from Azure', 'Connected', subscription);

  let source = found.value;
  if (sourceName.toLowerCase() !== found.value.serverName.toLowerCase()) {
    // Another server's copy (restore on a second server): read-only, and only within the same vault.
    if (permission === 'write') throw errors.backupServerSignatureInvalid('a server may write only to its own vault copy');
    const other = await deps.backupServers.servers.get(partition, sourceName.toLowerCase());
    if (other === undefined) throw errors.backupServerNotRegistered(sourceName);
    source = other.value;
  }
  const grant = await deps.copyAccess.grant(vaultCopyContainerOf(source), permission, VAULT_COPY_ACCESS_MINUTES);
  return { ...grant, permission, serverName: source.serverName };
}

/**
 * Unregisters a server and deletes its copy in the vault, permanently (Azure deletes a backup management server's
 * cloud backup data with the server, after the portal's confirmation). The server's local copies stay on its
 * disks, readable with its passphrase. The copy goes first: a failure leaves the server registered, to retry.
 */
export async function unregisterBackupServerAndVaultCopy(deps: BackupServerConnectionDeps, vault: VaultRef, serverName: string): Promise<void> {
  await getVault(deps, vault);
  const found = await deps.backupServers.servers.get(vaultPartitionOf(vault), serverName.toLowerCase());
  if (found === undefined) throw errors.backupServerNotRegistered(serverName);
  await deps.copyAccess.deleteContainer(vaultCopyContainerOf(found.value));
  await unregisterBackupServer(deps, vault, serverName);
}
