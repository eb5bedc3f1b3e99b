/**
 * The server's side of registration: make a credential certificate (as Azure's clients do before
 * PUT {vault}/certificates/{name}), write the vault credentials file from the vault's answer, and sign a
 * registration with the file's key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';
import { proofPayload, type RegistrationProof } from '../domain/backup-server/registration';
import { serverRequestPayload, type ServerOperation, type SignedServerRequest } from '../domain/backup-server/server-identity';
import { VAULT_CREDENTIALS_VALIDITY_HOURS, type VaultCredentials } from '../domain/backup-server/vault-credentials';

export const AGENT_VERSION = '2.0.10000.0-kluis';

export interface CredentialCertificate {
  certificatePem: string;
  privateKeyPem: string;
  /** base64 DER, the body of PUT {vault}/certificates/{name} (`properties.certificate`). */
  certificateBase64: string;
}

/** A self-signed EC P-256 certificate valid 48 hours, named as Azure's clients name theirs (CN=Windows Azure Tools). */
export async function createCredentialCertificate(now: Date): Promise<CredentialCertificate> {
  const pems = await generate([{ name: 'commonName', value: 'Windows Azure Tools' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 5 * 60_000),
    notAfterDate: new Date(now.getTime() + VAULT_CREDENTIALS_VALIDITY_HOURS * 3_600_000),
    extensions: [{ name: 'extKeyUsage', clientAuth: true }],
  });
  return { certificatePem: pems.cert, privateKeyPem: pems.private, certificateBase64: new X509Certificate(pems.cert).raw.toString('base64') };
}

/** The name Azure's clients give the certificate resource: `<vault><subscription>-<M-d-yyyy>-vaultcredentials`. */
export function credentialCertificateName(vaultName: string, subscriptionId: string, now: Date): string {
  return `${vaultName}${subscriptionId}-${now.getUTCMonth() + 1}-${now.getUTCDate()}-${now.getUTCFullYear()}-vaultcredentials`;
}

export interface VaultCertificateAnswer {
  properties: {
    resourceId: number;
    aadAuthority: string;
    aadTenantId: string;
    servicePrincipalClientId: string;
    azureManagementEndpointAudience: string;
  };
}

export function vaultCredentialsFrom(
  vault: { subscriptionId: string; resourceGroup: string; vaultName: string; location: string },
  answer: VaultCertificateAnswer,
  certificate: CredentialCertificate,
  kluisEndpoint: string,
): VaultCredentials {
  return {
    subscriptionId: vault.subscriptionId,
    resourceGroup: vault.resourceGroup,
    resourceName: vault.vaultName,
    location: vault.location,
    resourceId: answer.properties.resourceId,
    aadAuthority: answer.properties.aadAuthority,
    aadTenantId: answer.properties.aadTenantId,
    servicePrincipalClientId: answer.properties.servicePrincipalClientId,
    idMgmtRestEndpoint: answer.properties.azureManagementEndpointAudience,
    kluisEndpoint,
    certificatePem: certificate.certificatePem,
    privateKeyPem: certificate.privateKeyPem,
  };
}

/** A registration for `serverName`, signed with the credentials' key. */
export function signRegistration(
  credentials: VaultCredentials,
  serverName: string,
  now: Date,
  options: { agentVersion?: string; serverPublicKey?: string; backupManagementType?: 'MAB' } = {},
): { proof: RegistrationProof; signature: string } {
  const agentVersion = options.agentVersion ?? AGENT_VERSION;
  const proof: RegistrationProof = {
    vaultId: `/subscriptions/${credentials.subscriptionId}/resourceGroups/${credentials.resourceGroup}/providers/Microsoft.RecoveryServices/vaults/${credentials.resourceName}`,
    serverName,
    thumbprint: new X509Certificate(credentials.certificatePem).fingerprint.replace(/:/g, '').toUpperCase(),
    issuedAt: now.toISOString(),
    agentVersion,
    ...(options.serverPublicKey === undefined ? {} : { serverPublicKey: options.serverPublicKey }),
    ...(options.backupManagementType === undefined ? {} : { backupManagementType: options.backupManagementType }),
  };
  return { proof, signature: sign('sha256', proofPayload(proof), createPrivateKey(credentials.privateKeyPem)).toString('base64') };
}

/** The server's long-lived identity key pair (EC P-256), made once at registration; the private key stays on the server. */
export function createServerIdentity(): { privateKeyPem: string; publicKeyBase64: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyBase64: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}

export function publicKeyOfIdentity(privateKeyPem: string): string {
  return createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'der' }).toString('base64');
}

/** A request signed with the server's identity key (check-in, vault copy access). */
export function signServerRequest(
  identity: { privateKeyPem: string; vaultId: string; serverName: string },
  operation: ServerOperation,
  now: Date,
  args?: Record<string, string>,
): SignedServerRequest {
  const request = { vaultId: identity.vaultId, serverName: identity.serverName, operation, issuedAt: now.toISOString(), ...(args === undefined ? {} : { arguments: args }) };
  return { request, signature: sign('sha256', serverRequestPayload(request), createPrivateKey(identity.privateKeyPem)).toString('base64') };
}
