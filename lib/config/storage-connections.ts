/**
 * Storage connections as Azure Functions reads them: a connection string in `<setting>`, or an
 * identity-based connection in `<setting>__accountName` (or `__blobServiceUri`, `__queueServiceUri`,
 * `__tableServiceUri`; `__serviceUri` is the blob service), with `__credential` (`managedidentity`) and
 * `__clientId`. Suffixes are matched ignoring case, as the Functions host does. Values are never echoed.
 */
import { errors } from '../domain/errors';
import { storageAccountNameOfBlobUrl } from '../domain/restore-request';
import type { IdentityStorageConnection } from '../domain/storage-account';

/** The suffixes as Azure documents them; matched lower-cased. */
const CANONICAL = { accountname: 'accountName', serviceuri: 'serviceUri', blobserviceuri: 'blobServiceUri', queueserviceuri: 'queueServiceUri', tableserviceuri: 'tableServiceUri', credential: 'credential', clientid: 'clientId' } as const;
type Suffix = keyof typeof CANONICAL;
const SUFFIXES = Object.keys(CANONICAL) as Suffix[];

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
/** Azure public cloud's storage endpoint suffix. */
const ENDPOINT_SUFFIX = 'core.windows.net';

/** The `<setting>__<suffix>` values present (non-empty), by lower-cased suffix, with the names as written. */
export function identitySettingsOf(env: Record<string, string | undefined>, setting: string): Map<Suffix, { name: string; value: string }> {
  const found = new Map<Suffix, { name: string; value: string }>();
  const prefix = `${setting.toLowerCase()}__`;
  for (const [name, value] of Object.entries(env)) {
    if (!name.toLowerCase().startsWith(prefix) || value === undefined || value.trim() === '') continue;
    const suffix = name.slice(prefix.length).toLowerCase();
    if (suffix === 'accountkey' || suffix === 'sharedaccesssignature' || suffix === 'connectionstring') {
      throw errors.invalidConfiguration(name, 'an identity-based connection takes no key, SAS or connection string: the managed identity is the credential');
    }
    if (!(SUFFIXES as string[]).includes(suffix)) {
      throw errors.invalidConfiguration(name, `it is not a setting of an identity-based connection (use ${setting}__accountName, __blobServiceUri, __queueServiceUri, __tableServiceUri, __credential or __clientId)`);
    }
    found.set(suffix as Suffix, { name, value: value.trim() });
  }
  return found;
}

/**
 * The identity-based connection `<setting>__*` declares, or undefined when it declares none.
 * `defaultClientId` (AZURE_CLIENT_ID) is presented when the connection names no `__clientId`.
 */
export function identityConnectionOf(
  env: Record<string, string | undefined>,
  setting: string,
  defaultClientId: string | undefined,
): IdentityStorageConnection | undefined {
  const found = identitySettingsOf(env, setting);
  if (found.size === 0) return undefined;
  const get = (suffix: Suffix) => found.get(suffix)?.value;
  const name = (suffix: Suffix) => found.get(suffix)?.name ?? `${setting}__${CANONICAL[suffix]}`;

  const blobUri = get('blobserviceuri') ?? get('serviceuri');
  const explicitName = get('accountname');
  if (explicitName !== undefined && !ACCOUNT_NAME.test(explicitName)) {
    throw errors.invalidConfiguration(name('accountname'), 'it must be a storage account name: 3–24 lowercase letters and digits');
  }
  if (explicitName === undefined && blobUri === undefined) {
    throw errors.invalidConfiguration(`${setting}__accountName`, `it is required for an identity-based connection (or give ${setting}__blobServiceUri, __queueServiceUri and __tableServiceUri)`);
  }
  const service = (suffix: 'blobserviceuri' | 'queueserviceuri' | 'tableserviceuri', kind: 'blob' | 'queue' | 'table'): string => {
    const explicit = suffix === 'blobserviceuri' ? blobUri : get(suffix);
    const settingName = suffix === 'blobserviceuri' && get('blobserviceuri') === undefined && get('serviceuri') !== undefined ? name('serviceuri') : name(suffix);
    if (explicit !== undefined) return serviceUri(settingName, explicit);
    if (explicitName !== undefined) return `https://${explicitName}.${kind}.${ENDPOINT_SUFFIX}`;
    // Only the blob service named: the others follow Azure's host naming, which a path-style (emulator) URL has not.
    const derived = blobUri === undefined ? undefined : siblingService(blobUri, kind);
    if (derived === undefined) throw errors.invalidConfiguration(settingName, `it is required with ${name('blobserviceuri')} when that is not an Azure *.blob.* endpoint`);
    return derived;
  };
  const blobServiceUri = service('blobserviceuri', 'blob');
  const accountName = explicitName ?? storageAccountNameOfBlobUrl(blobServiceUri);
  if (accountName === undefined) throw errors.invalidConfiguration(name('blobserviceuri'), 'it names no storage account');

  const credential = get('credential');
  if (credential !== undefined && credential.toLowerCase() !== 'managedidentity') {
    throw errors.invalidConfiguration(name('credential'), "it must be 'managedidentity' (or unset for DefaultAzureCredential)");
  }
  const clientId = get('clientid') ?? defaultClientId;
  if (clientId !== undefined && !GUID.test(clientId)) {
    throw errors.invalidConfiguration(get('clientid') === undefined ? 'AZURE_CLIENT_ID' : name('clientid'), 'it must be the client id of a managed identity (a GUID)');
  }
  return {
    kind: 'identity',
    accountName,
    blobServiceUri,
    queueServiceUri: service('queueserviceuri', 'queue'),
    tableServiceUri: service('tableserviceuri', 'table'),
    ...(credential === undefined ? {} : { credential: 'managedidentity' as const }),
    ...(clientId === undefined ? {} : { clientId: clientId.toLowerCase() }),
  };
}

function serviceUri(setting: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw errors.invalidConfiguration(setting, 'it must be the https URL of a storage service endpoint');
  }
  if (url.protocol !== 'https:') {
    throw errors.invalidConfiguration(setting, 'it must be an https URL: an identity-based connection sends tokens, never in the clear');
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw errors.invalidConfiguration(setting, 'it must be the https URL of a storage service endpoint, without credentials, query or fragment');
  }
  return value.replace(/\/+$/, '');
}

function siblingService(blobUri: string, kind: 'blob' | 'queue' | 'table'): string | undefined {
  const url = new URL(blobUri);
  const parts = url.hostname.split('.');
  if (parts.length < 3 || parts[1] !== 'blob') return undefined;
  parts[1] = kind;
  url.hostname = parts.join('.');
  return url.toString().replace(/\/+$/, '');
}
