/**
 * Backup server registration on the vault side (issue 16, step 2):
 *  - uploadVaultCertificate: PUT {vault}/certificates/{name} (VaultCertificates_Create). A client uploads the public
 *    part of a fresh certificate and writes the vault credentials file from the response (Azure's clients do the
 *    same); the vault accepts registrations signed with that certificate's key for 48 hours at most.
 *  - registerBackupServer: a server proves it holds a credential's key; the vault records the server (a backup
 *    engine of type AzureBackupServerEngine with an AzureBackupServerContainer). Expired or foreign credentials get
 *    the errors Azure's agents show. Registering again (new credentials) replaces the record: canReRegister.
 *  - unregisterBackupServer: DELETE {vault}/registeredIdentities/{serverName}.
 * Checks run before any write; a refused registration changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { vaultId, type VaultRef } from '../domain/arm-names';
import { errors } from '../domain/errors';
import { certificateFacts, credentialExpiry } from '../domain/backup-server/vault-credentials';
import { normalizeServerPublicKey } from '../domain/backup-server/server-identity';
import {
  assertServerName,
  BACKUP_MANAGEMENT_TYPE,
  managementTypeOf,
  backupEngineResource,
  backupServerContainerResource,
  checkRegistration,
  vaultCertificateResource,
  vaultResourceNumber,
  type BackupServerRecord,
  type RegistrationProof,
  type VaultCertificateRecord,
  type VaultRegistrationIdentity,
} from '../domain/backup-server/registration';
import { collect, documentKey } from '../stores/document-store';
import type { BackupServerCatalog } from '../stores/backup-server-catalog';
import type { VaultCatalog } from '../stores/vault-catalog';
import { getVault } from './vaults';

export interface BackupServerRegistrationDeps {
  catalog: VaultCatalog;
  backupServers: BackupServerCatalog;
  clock: () => Date;
  /** The identity details a credential response carries (authority, tenant, endpoint): from the deployment's config. */
  identity: { aadAuthority: string; aadTenantId: string; endpoint: string };
  newId?: () => string;
}

export interface UploadCertificateBody {
  properties?: { authType?: string; certificate?: string };
}

/** Azure Tables keys may not hold '/', so the partition is the vault's (subscription, resource group, name). */
export function vaultPartitionOf(vault: VaultRef): string {
  return documentKey(vault.subscriptionId, vault.resourceGroup, vault.vaultName);
}

function registrationIdentity(deps: BackupServerRegistrationDeps, vault: VaultRef): VaultRegistrationIdentity {
  const id = vaultId(vault);
  const resourceId = vaultResourceNumber(id);
  // The vault's registration principal: stable per vault, so every credential names the same one.
  const principal = `00000000-0000-4000-8000-${resourceId.toString(16).padStart(12, '0').slice(-12)}`;
  return { resourceId, ...deps.identity, servicePrincipalClientId: principal, servicePrincipalObjectId: principal };
}

export async function uploadVaultCertificate(deps: BackupServerRegistrationDeps, vault: VaultRef, name: string, body: UploadCertificateBody) {
  const stored = await getVault(deps, vault);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,259}$/.test(name)) throw errors.invalidRequest('certificateName', `'${name}' is not a valid certificate name.`);
  const authType = body.properties?.authType;
  if (authType !== undefined && authType !== 'AAD' && authType !== 'AzureActiveDirectory') {
    throw errors.invalidRequest('properties.authType', `authType '${authType}' is not supported; use 'AAD'.`);
  }
  const certificate = body.properties?.certificate;
  if (typeof certificate !== 'string' || certificate.length === 0) throw errors.invalidRequest('properties.certificate', 'The request has no certificate.');
  const facts = certificateFacts(certificate);
  const now = deps.clock();
  if (facts.validTo.getTime() <= now.getTime()) throw errors.invalidRequest('properties.certificate', 'The certificate has already expired.');
  const derBase64 = certificate.includes('-----BEGIN') ? Buffer.from(certificate.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64') : certificate;
  const record: VaultCertificateRecord = {
    vaultId: vaultId(vault),
    name,
    thumbprint: facts.thumbprint,
    subject: facts.subject,
    issuer: facts.issuer,
    certificate: derBase64,
    validFrom: facts.validFrom.toISOString(),
    validTo: facts.validTo.toISOString(),
    uploadedAt: now.toISOString(),
    expiresAt: credentialExpiry(facts, now).toISOString(),
  };
  const partition = vaultPartitionOf(vault);
  const existing = await deps.backupServers.certificates.get(partition, facts.thumbprint.toLowerCase());
  if (existing === undefined) await deps.backupServers.certificates.insert(partition, facts.thumbprint.toLowerCase(), record);
  return vaultCertificateResource(vault, existing?.value ?? record, registrationIdentity(deps, vault), stored.value.location);
}

export interface RegisterBackupServerInput {
  proof: RegistrationProof;
  signature: string;
}

export async function registerBackupServer(deps: BackupServerRegistrationDeps, vault: VaultRef, input: RegisterBackupServerInput) {
  await getVault(deps, vault);
  const serverName = assertServerName(input.proof.serverName);
  const partition = vaultPartitionOf(vault);
  const certificate = await deps.backupServers.certificates.get(partition, String(input.proof.thumbprint).toLowerCase());
  const now = deps.clock();
  checkRegistration(input.proof, input.signature, certificate?.value, vault, now);
  const serverPublicKey = input.proof.serverPublicKey === undefined ? undefined : normalizeServerPublicKey(input.proof.serverPublicKey);

  const row = serverName.toLowerCase();
  const existing = await deps.backupServers.servers.get(partition, row);
  const managementType = input.proof.backupManagementType;
  if (existing !== undefined && existing.value.backupManagementType !== managementType) {
    throw errors.invalidRequest(
      'proof.backupManagementType',
      `'${serverName}' is registered with this vault as ${managementTypeOf(existing.value)}; unregister it before registering it as ${managementType ?? BACKUP_MANAGEMENT_TYPE}.`,
    );
  }
  const record: BackupServerRecord = {
    vaultId: vaultId(vault),
    serverName,
    backupEngineId: existing?.value.backupEngineId ?? (deps.newId ?? randomUUID)(),
    registeredAt: existing?.value.registeredAt ?? now.toISOString(),
    thumbprint: input.proof.thumbprint,
    agentVersion: input.proof.agentVersion,
    ...(serverPublicKey === undefined ? {} : { serverPublicKey }),
    lastCheckInAt: now.toISOString(),
    ...(managementType === undefined ? {} : { backupManagementType: managementType }),
  };
  if (existing === undefined) await deps.backupServers.servers.insert(partition, row, record);
  else await deps.backupServers.servers.replace(partition, row, record, existing.etag);
  // A MARS agent has no backup engine in the vault: its answer names only the registration (id, type) and its container.
  const engine = managementType === undefined
    ? backupEngineResource(vault, record)
    : { name: serverName, properties: { backupEngineId: record.backupEngineId, backupEngineType: 'None', backupManagementType: managementType } };
  return { created: existing === undefined, engine, container: backupServerContainerResource(vault, record, 0) };
}

export async function listBackupEngines(deps: Pick<BackupServerRegistrationDeps, 'catalog' | 'backupServers'>, vault: VaultRef) {
  await getVault(deps, vault);
  const servers = await collect(deps.backupServers.servers.list(vaultPartitionOf(vault)));
  // A machine in direct mode (MAB) has no backup engine, only its container.
  return servers.filter((s) => s.value.backupManagementType === undefined).map((s) => backupEngineResource(vault, s.value));
}

export async function listBackupServerContainers(deps: Pick<BackupServerRegistrationDeps, 'catalog' | 'backupServers'>, vault: VaultRef) {
  await getVault(deps, vault);
  const partition = vaultPartitionOf(vault);
  const servers = await collect(deps.backupServers.servers.list(partition));
  const items = await collect(deps.backupServers.items.list(partition));
  const countOf = (server: string) => items.filter((i) => i.value.serverName.toLowerCase() === server.toLowerCase()).length;
  return servers.map((s) => backupServerContainerResource(vault, s.value, countOf(s.value.serverName)));
}

export async function getBackupServer(deps: Pick<BackupServerRegistrationDeps, 'catalog' | 'backupServers'>, vault: VaultRef, serverName: string): Promise<BackupServerRecord> {
  await getVault(deps, vault);
  const found = await deps.backupServers.servers.get(vaultPartitionOf(vault), serverName.toLowerCase());
  if (found === undefined) throw errors.backupServerNotRegistered(serverName);
  return found.value;
}

/**
 * BackupEngines_Get: a registered backup server. A machine in direct mode (MAB) is registered too but has no backup
 * engine (as in Azure, where a MARS agent shows only as a container): KluisBackupEngineNotFound (404), as for a name
 * nothing registered.
 */
export async function getBackupEngine(deps: Pick<BackupServerRegistrationDeps, 'catalog' | 'backupServers'>, vault: VaultRef, name: string): Promise<BackupServerRecord> {
  await getVault(deps, vault);
  const found = await deps.backupServers.servers.get(vaultPartitionOf(vault), name.toLowerCase());
  if (found === undefined) throw errors.backupEngineNotFound(name, 'no backup server of that name is registered with this vault');
  if (found.value.backupManagementType !== undefined) {
    throw errors.backupEngineNotFound(name, `it is registered in direct mode (the MARS agent, ${found.value.backupManagementType}), which has a protection container and no backup engine`);
  }
  return found.value;
}

/**
 * Removes a server's registration record (the route also deletes its vault copy first:
 * backup-server-connection.ts, unregisterBackupServerAndVaultCopy).
 */
export async function unregisterBackupServer(deps: Pick<BackupServerRegistrationDeps, 'catalog' | 'backupServers'>, vault: VaultRef, serverName: string): Promise<void> {
  await getBackupServer(deps, vault, serverName);
  await deps.backupServers.servers.delete(vaultPartitionOf(vault), serverName.toLowerCase());
}
