/**
 * Downloads a vault credentials file through the ARM API, as Azure's clients do
 * (`Get-AzRecoveryServicesVaultSettingsFile -Backup`): GET the vault (its location), make a 48-hour self-signed
 * certificate, upload its public part with PUT {vault}/certificates/{name} (VaultCertificates_Create), and write the
 * file from the answer. The file holds the certificate's private key: it is written owner-only.
 */
import { writeFileSync } from 'node:fs';
import { createCredentialCertificate, credentialCertificateName, vaultCredentialsFrom, type VaultCertificateAnswer } from '../../lib/backup-server/registration-client';
import { serializeVaultCredentials, VAULT_CREDENTIALS_VALIDITY_HOURS, vaultCredentialsFileName } from '../../lib/domain/backup-server/vault-credentials';
import type { ArmClient } from '../demo/arm-client';

/** api-version of VaultCertificates_Create (Microsoft.RecoveryServices, as Azure's clients send it). */
const CERTIFICATES_API_VERSION = '2023-04-01';

const VAULT_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.RecoveryServices\/vaults\/([^/]+)$/i;

export interface VaultRefParts {
  subscriptionId: string;
  resourceGroup: string;
  vaultName: string;
}

/** `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/{name}` → its parts (undefined when not one). */
export function parseVaultId(vaultId: string): VaultRefParts | undefined {
  const match = VAULT_ID.exec(vaultId.trim().replace(/\/+$/, ''));
  return match === null ? undefined : { subscriptionId: match[1], resourceGroup: match[2], vaultName: match[3] };
}

export interface DownloadedCredentials {
  fileName: string;
  text: string;
  expiresAt: Date;
}

export async function downloadVaultCredentials(client: ArmClient, vault: VaultRefParts, now = new Date()): Promise<DownloadedCredentials> {
  const vaultPath = `subscriptions/${vault.subscriptionId}/resourceGroups/${vault.resourceGroup}/providers/Microsoft.RecoveryServices/vaults/${vault.vaultName}`;
  const found = await client.get<{ location: string }>(client.apiUrl(vaultPath));
  const certificate = await createCredentialCertificate(now);
  const name = credentialCertificateName(vault.vaultName, vault.subscriptionId, now);
  const answer = await client.send<VaultCertificateAnswer>('PUT', client.apiUrl(`${vaultPath}/certificates/${name}`, { 'api-version': CERTIFICATES_API_VERSION }), {
    properties: { authType: 'AAD', certificate: certificate.certificateBase64 },
  });
  const credentials = vaultCredentialsFrom({ ...vault, location: found.body.location }, answer.body, certificate, client.apiBase);
  return {
    fileName: vaultCredentialsFileName(vault.vaultName, now),
    text: serializeVaultCredentials(credentials),
    expiresAt: new Date(now.getTime() + VAULT_CREDENTIALS_VALIDITY_HOURS * 3_600_000),
  };
}

/** Writes the file owner-only (it carries the credential's private key). */
export function writeVaultCredentials(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
}
