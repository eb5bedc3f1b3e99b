/**
 * The vault credentials file (`<vault>_<ddd MMM dd yyyy>.VaultCredentials`) a backup server registers with, in
 * the shape Azure's clients write for a Backup vault with AAD auth (Azure PowerShell's RSBackupVaultAADCreds,
 * version "2.0"): an XML document naming the subscription, resource group, vault, its numeric resource id, the AAD
 * details of the vault's registration identity, and the management certificate with its private key.
 *
 * Azure's clients make a self-signed certificate valid 48 hours, upload its public part with
 * PUT {vault}/certificates/{name} (VaultCertificates_Create) and write the file from the response; Kluis's do the
 * same. Differences from Azure: ManagementCert holds base64 of the PEM certificate and PKCS#8 key (Azure: a PFX),
 * and the file also carries the Kluis endpoint (`KluisEndpoint`) the server registers at.
 */
import { X509Certificate } from 'node:crypto';
import { errors } from '../errors';

/** Azure: "The vault credentials file is valid only for 48 hours (after it's downloaded from the portal)." */
export const VAULT_CREDENTIALS_VALIDITY_HOURS = 48;
export const VAULT_CREDENTIALS_VERSION = '2.0';
const XML_NAMESPACE = 'http://schemas.datacontract.org/2004/07/Microsoft.Azure.Portal.RecoveryServices.Models.Common';

export interface VaultCredentials {
  subscriptionId: string;
  resourceGroup: string;
  resourceName: string;
  location: string;
  /** The vault's numeric resource id (ResourceCertificateDetails.resourceId). */
  resourceId: number;
  aadAuthority: string;
  aadTenantId: string;
  servicePrincipalClientId: string;
  /** Where the vault's service is reached (Azure: the ID management endpoint audience). */
  idMgmtRestEndpoint: string;
  /** The Kluis base URL the server registers at. */
  kluisEndpoint: string;
  /** PEM certificate + PEM PKCS#8 private key. */
  certificatePem: string;
  privateKeyPem: string;
}

const FIELDS: Array<[keyof VaultCredentials | 'ManagementCert' | 'Version' | 'ResourceType' | 'ProviderNamespace', string]> = [
  ['aadAuthority', 'AadAuthority'],
  ['aadTenantId', 'AadTenantId'],
  ['idMgmtRestEndpoint', 'IdMgmtRestEndpoint'],
  ['kluisEndpoint', 'KluisEndpoint'],
  ['location', 'Location'],
  ['ManagementCert', 'ManagementCert'],
  ['ProviderNamespace', 'ProviderNamespace'],
  ['resourceGroup', 'ResourceGroup'],
  ['resourceId', 'ResourceId'],
  ['resourceName', 'ResourceName'],
  ['ResourceType', 'ResourceType'],
  ['servicePrincipalClientId', 'ServicePrincipalClientId'],
  ['subscriptionId', 'SubscriptionId'],
  ['Version', 'Version'],
];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

export function vaultCredentialsFileName(vaultName: string, issuedAt: Date): string {
  const day = issuedAt.toUTCString().slice(0, 16).replace(',', ''); // "Mon 07 Dec 2026"
  const [dow, dd, mon, yyyy] = day.split(' ');
  return `${vaultName}_${dow} ${mon} ${dd} ${yyyy}.VaultCredentials`;
}

export function serializeVaultCredentials(creds: VaultCredentials): string {
  const value = (field: string): string => {
    switch (field) {
      case 'ManagementCert':
        return Buffer.from(`${creds.certificatePem.trim()}\n${creds.privateKeyPem.trim()}\n`, 'utf8').toString('base64');
      case 'Version':
        return VAULT_CREDENTIALS_VERSION;
      case 'ResourceType':
        return 'Vaults';
      case 'ProviderNamespace':
        return 'Microsoft.RecoveryServices';
      default:
        return String(creds[field as keyof VaultCredentials]);
    }
  };
  const body = FIELDS.map(([field, element]) => `<${element}>${escapeXml(value(field))}</${element}>`).join('');
  return `<?xml version="1.0" encoding="utf-8"?><RSBackupVaultAADCreds xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="${XML_NAMESPACE}">${body}</RSBackupVaultAADCreds>`;
}

/** Reads a vault credentials file; KluisVaultCredentialsInvalid when it is not one (corrupted, another format). */
export function parseVaultCredentials(text: string): VaultCredentials {
  const root = /<RSBackupVaultAADCreds\b[^>]*>([\s\S]*)<\/RSBackupVaultAADCreds>/.exec(text);
  if (root === null) throw errors.vaultCredentialsInvalid('the file is not a Recovery Services vault credentials file');
  const read = (element: string): string => {
    const match = new RegExp(`<${element}>([^<]*)</${element}>`).exec(root[1]);
    if (match === null) throw errors.vaultCredentialsInvalid(`the file has no ${element}`);
    return unescapeXml(match[1]);
  };
  if (read('Version') !== VAULT_CREDENTIALS_VERSION) throw errors.vaultCredentialsInvalid(`version ${read('Version')} is not supported`);
  const pems = Buffer.from(read('ManagementCert'), 'base64').toString('utf8');
  const certificatePem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pems)?.[0];
  const privateKeyPem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(pems)?.[0];
  if (certificatePem === undefined || privateKeyPem === undefined) throw errors.vaultCredentialsInvalid('its management certificate is incomplete');
  const resourceId = Number(read('ResourceId'));
  if (!Number.isSafeInteger(resourceId)) throw errors.vaultCredentialsInvalid('its ResourceId is not a number');
  return {
    subscriptionId: read('SubscriptionId'),
    resourceGroup: read('ResourceGroup'),
    resourceName: read('ResourceName'),
    location: read('Location'),
    resourceId,
    aadAuthority: read('AadAuthority'),
    aadTenantId: read('AadTenantId'),
    servicePrincipalClientId: read('ServicePrincipalClientId'),
    idMgmtRestEndpoint: read('IdMgmtRestEndpoint'),
    kluisEndpoint: read('KluisEndpoint'),
    certificatePem,
    privateKeyPem,
  };
}

export interface CertificateFacts {
  thumbprint: string;
  subject: string;
  issuer: string;
  validFrom: Date;
  validTo: Date;
}

/** Facts of an uploaded certificate (base64 DER or PEM); KluisInvalidRequest when it is not an X.509 certificate. */
export function certificateFacts(certificate: string | Buffer): CertificateFacts {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(typeof certificate === 'string' && !certificate.includes('-----BEGIN') ? Buffer.from(certificate, 'base64') : certificate);
  } catch {
    throw errors.invalidRequest('properties.certificate', 'The certificate is not a base64-encoded X.509 certificate.');
  }
  return {
    thumbprint: x509.fingerprint.replace(/:/g, '').toUpperCase(),
    subject: x509.subject.replace(/\n/g, ', '),
    issuer: x509.issuer.replace(/\n/g, ', '),
    validFrom: new Date(x509.validFrom),
    validTo: new Date(x509.validTo),
  };
}

/**
 * When the vault stops accepting a credential: the certificate's own end, but never later than 48 hours after the
 * vault saw it (Azure's validity), whatever validity the client put in the certificate.
 */
export function credentialExpiry(facts: CertificateFacts, uploadedAt: Date): Date {
  const cap = uploadedAt.getTime() + VAULT_CREDENTIALS_VALIDITY_HOURS * 3_600_000;
  return new Date(Math.min(facts.validTo.getTime(), cap));
}
