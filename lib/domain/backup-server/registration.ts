/**
 * Registering a backup server with a vault (seed 004, Azure Backup Server): the vault's records of uploaded
 * credential certificates and registered servers, the registration proof, and the ARM shapes the vault shows.
 *
 * Azure names: the server is a backup engine (`{vault}/backupEngines/{serverName}`, `backupEngineType:
 * "AzureBackupServerEngine"`, `backupManagementType: "AzureBackupServer"`), it has a protection container in the
 * Azure fabric (`containerType: "AzureBackupServerContainer"`, a DpmContainer), and unregistering is
 * DELETE `{vault}/registeredIdentities/{serverName}`. The container name is the server's name, as MARS/MABS
 * servers appear (uncertain in Azure's public examples; decided in docs/backup-server.md).
 */
import { createPublicKey, verify, X509Certificate } from 'node:crypto';
import { vaultId, type VaultRef } from '../arm-names';
import { errors } from '../errors';

export const BACKUP_MANAGEMENT_TYPE = 'AzureBackupServer';
export const BACKUP_ENGINE_TYPE = 'AzureBackupServerEngine';
export const CONTAINER_TYPE = 'AzureBackupServerContainer';
export const BACKUP_ENGINE_RESOURCE_TYPE = 'Microsoft.RecoveryServices/vaults/backupEngines';
export const VAULT_CERTIFICATE_RESOURCE_TYPE = 'Microsoft.RecoveryServices/vaults/certificates';
export const CONTAINER_RESOURCE_TYPE = 'Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers';
/** Direct mode (a MARS agent): a MabContainer, `containerType: "Windows"`, and no backup engine. */
export const MAB_MANAGEMENT_TYPE = 'MAB';
export const MAB_CONTAINER_TYPE = 'Windows';
/** A registration proof older (or newer) than this is refused (replay window). */
export const PROOF_MAX_SKEW_MS = 10 * 60_000;
/** Server names: a host name or FQDN. */
const SERVER_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export interface VaultCertificateRecord {
  vaultId: string;
  /** The name in the PUT path (Azure clients use `<vault><subscription>-<M-d-yyyy>-vaultcredentials`). */
  name: string;
  thumbprint: string;
  subject: string;
  issuer: string;
  /** base64 DER of the public certificate. */
  certificate: string;
  validFrom: string;
  validTo: string;
  uploadedAt: string;
  /** When the vault stops accepting registrations with it (≤ 48 h after upload). */
  expiresAt: string;
}

export interface BackupServerRecord {
  vaultId: string;
  serverName: string;
  backupEngineId: string;
  registeredAt: string;
  /** The credential certificate the server registered with. */
  thumbprint: string;
  agentVersion: string;
  /** base64 SPKI DER of the server's own identity key (server-identity.ts); later calls are signed with it. */
  serverPublicKey?: string;
  /** The last time the server checked in with the vault (connectivity, step 5). */
  lastCheckInAt: string;
  /** 'MAB': a machine in direct mode (MARS agent); absent: a backup server (AzureBackupServer). */
  backupManagementType?: typeof MAB_MANAGEMENT_TYPE;
}

export interface VaultRegistrationIdentity {
  resourceId: number;
  aadAuthority: string;
  aadTenantId: string;
  servicePrincipalClientId: string;
  servicePrincipalObjectId: string;
  endpoint: string;
}

/** What a server sends to register: who it is, which credential, and a signature proving it holds the key. */
export interface RegistrationProof {
  vaultId: string;
  serverName: string;
  thumbprint: string;
  /** ISO time the proof was made. */
  issuedAt: string;
  agentVersion: string;
  /** The server's long-lived identity key (PEM or base64 SPKI DER), kept by the vault with the server's record. */
  serverPublicKey?: string;
  /** 'MAB' when a machine registers in direct mode (MARS agent); absent: a backup server. */
  backupManagementType?: typeof MAB_MANAGEMENT_TYPE;
}

export function assertServerName(name: string): string {
  if (!SERVER_NAME.test(name)) throw errors.invalidRequest('serverName', `'${name}' is not a host name or FQDN.`);
  return name;
}

/** The stable numeric resource id Azure gives a vault (ResourceCertificateDetails.resourceId), from its id. */
export function vaultResourceNumber(id: string): number {
  let hash = 0n;
  for (const ch of id.toLowerCase()) hash = (hash * 131n + BigInt(ch.codePointAt(0)!)) % 9_007_199_254_740_881n;
  return Number(hash);
}

export function proofPayload(proof: RegistrationProof): Buffer {
  const fields = [proof.vaultId.toLowerCase(), proof.serverName.toLowerCase(), proof.thumbprint, proof.issuedAt, proof.agentVersion];
  const withKey = proof.serverPublicKey === undefined ? fields : [...fields, proof.serverPublicKey];
  return Buffer.from(JSON.stringify(proof.backupManagementType === undefined ? withKey : [...withKey, `backupManagementType=${proof.backupManagementType}`]), 'utf8');
}

/**
 * Checks a registration against the vault's credential record: the certificate must be one this vault issued
 * (else the credentials are foreign), not expired, the proof signed by its key, fresh, and for this vault.
 */
export function checkRegistration(proof: RegistrationProof, signatureBase64: string, record: VaultCertificateRecord | undefined, vault: VaultRef, now: Date): void {
  if (record === undefined) throw errors.vaultCredentialsInvalid('this vault did not issue the credentials');
  if (now.getTime() >= Date.parse(record.expiresAt)) throw errors.vaultCredentialsExpired(record.expiresAt);
  if (proof.vaultId.toLowerCase() !== vaultId(vault).toLowerCase()) throw errors.vaultCredentialsInvalid('the credentials are for another vault');
  const issued = Date.parse(proof.issuedAt);
  if (!Number.isFinite(issued) || Math.abs(now.getTime() - issued) > PROOF_MAX_SKEW_MS) {
    throw errors.vaultCredentialsInvalid('the registration request is not current (check the server clock)');
  }
  const publicKey = createPublicKey(new X509Certificate(Buffer.from(record.certificate, 'base64')).publicKey.export({ type: 'spki', format: 'pem' }));
  const valid = verify('sha256', proofPayload(proof), publicKey, Buffer.from(signatureBase64, 'base64'));
  if (!valid) throw errors.vaultCredentialsInvalid('the registration is not signed with the credentials’ key');
}

export function vaultCertificateResource(vault: VaultRef, record: VaultCertificateRecord, identity: VaultRegistrationIdentity, location: string) {
  return {
    id: `${vaultId(vault)}/certificates/${record.name}`,
    name: record.name,
    type: VAULT_CERTIFICATE_RESOURCE_TYPE,
    properties: {
      authType: 'AzureActiveDirectory',
      certificate: record.certificate,
      friendlyName: record.name,
      issuer: record.issuer,
      resourceId: identity.resourceId,
      subject: record.subject,
      thumbprint: record.thumbprint,
      validFrom: record.validFrom,
      validTo: record.expiresAt,
      aadAuthority: identity.aadAuthority,
      aadTenantId: identity.aadTenantId,
      servicePrincipalClientId: identity.servicePrincipalClientId,
      servicePrincipalObjectId: identity.servicePrincipalObjectId,
      azureManagementEndpointAudience: identity.endpoint,
      serviceResourceId: vaultId(vault),
      aadAudience: `https://RecoveryServiceVault/${location}/${vault.vaultName}/${identity.resourceId}`,
    },
  };
}

export function backupEngineResource(vault: VaultRef, server: BackupServerRecord) {
  return {
    id: `${vaultId(vault)}/backupEngines/${server.serverName}`,
    name: server.serverName,
    type: BACKUP_ENGINE_RESOURCE_TYPE,
    properties: {
      backupEngineType: BACKUP_ENGINE_TYPE,
      friendlyName: server.serverName,
      backupManagementType: BACKUP_MANAGEMENT_TYPE,
      registrationStatus: 'Registered',
      backupEngineState: 'Active',
      healthStatus: 'Healthy',
      canReRegister: true,
      backupEngineId: server.backupEngineId,
      dpmVersion: server.agentVersion,
      azureBackupAgentVersion: server.agentVersion,
      isAzureBackupAgentUpgradeAvailable: false,
      isDpmUpgradeAvailable: false,
    },
  };
}

export function backupServerContainerResource(vault: VaultRef, server: BackupServerRecord, protectedItemCount: number) {
  if (server.backupManagementType === MAB_MANAGEMENT_TYPE) return mabContainerResource(vault, server, protectedItemCount);
  return {
    id: `${vaultId(vault)}/backupFabrics/Azure/protectionContainers/${server.serverName}`,
    name: server.serverName,
    type: CONTAINER_RESOURCE_TYPE,
    properties: {
      containerType: CONTAINER_TYPE,
      friendlyName: server.serverName,
      backupManagementType: BACKUP_MANAGEMENT_TYPE,
      registrationStatus: 'Registered',
      healthStatus: 'Healthy',
      canReRegister: true,
      containerId: server.backupEngineId,
      protectedItemCount,
      dpmAgentVersion: server.agentVersion,
      dpmServers: [server.serverName],
      upgradeAvailable: false,
      protectionStatus: protectedItemCount > 0 ? 'Protected' : 'Unprotected',
      extendedInfo: { lastRefreshedAt: server.lastCheckInAt },
    },
  };
}

/**
 * A machine in direct mode as the vault shows a MARS agent: a MabContainer (`containerType: "Windows"`,
 * `backupManagementType: "MAB"`, friendlyName the machine's name; `containerId` is a number in Azure's model).
 */
export function mabContainerResource(vault: VaultRef, machine: BackupServerRecord, protectedItemCount: number) {
  return {
    id: `${vaultId(vault)}/backupFabrics/Azure/protectionContainers/${machine.serverName}`,
    name: machine.serverName,
    type: CONTAINER_RESOURCE_TYPE,
    properties: {
      containerType: MAB_CONTAINER_TYPE,
      friendlyName: machine.serverName,
      backupManagementType: MAB_MANAGEMENT_TYPE,
      registrationStatus: 'Registered',
      healthStatus: 'Healthy',
      canReRegister: true,
      containerId: vaultResourceNumber(machine.backupEngineId),
      protectedItemCount,
      agentVersion: machine.agentVersion,
      containerHealthState: 'Healthy',
      extendedInfo: { lastRefreshedAt: machine.lastCheckInAt, backupItemType: 'FileFolder', backupItems: [] },
    },
  };
}

/** The backup management type a registration record shows in the vault. */
export function managementTypeOf(record: BackupServerRecord): string {
  return record.backupManagementType ?? BACKUP_MANAGEMENT_TYPE;
}

/**
 * Whether a `backupProtectionContainers` $filter asks for backup servers' containers, and which: a filter naming
 * backupManagementType AzureBackupServer (or none), status Registered (or none), optionally a friendlyName.
 * (The filter's syntax is checked by parseContainerFilter for the same request.)
 */
export function backupServerContainerFilter(text: string | null | undefined): { wanted: boolean; friendlyName?: string; backupManagementType?: string } {
  const clause = (name: string) => new RegExp(`${name}\\s+eq\\s+'([^']*)'`, 'i').exec(text ?? '')?.[1];
  const type = clause('backupManagementType');
  const status = clause('status');
  const fabric = clause('fabricName');
  const known = [BACKUP_MANAGEMENT_TYPE, MAB_MANAGEMENT_TYPE].find((t) => t.toLowerCase() === type?.toLowerCase());
  const wanted = (type === undefined || known !== undefined) &&
    (status === undefined || status.toLowerCase() === 'registered') && (fabric === undefined || fabric.toLowerCase() === 'azure');
  const friendlyName = clause('friendlyName');
  return { wanted, ...(friendlyName === undefined ? {} : { friendlyName }), ...(known === undefined ? {} : { backupManagementType: known }) };
}
