/**
 * KeyVaultLocators: `DnsKeyVaultLocator` (Azure: https://{name}.{dnsSuffix} from the resource id) and
 * `EmulatorKeyVaultLocator` (the local Key Vault emulator's admin API, which serves each vault on its own
 * port and answers GET {admin}/vaults/{name} and GET {admin}{resourceId} with the vault's ARM shape).
 */
import { LOCAL_BACKUP_PRINCIPAL_ID, type KeyVaultSettings } from '../../config';
import { LocalPrincipalCredential } from './keyvault-credential';
import { localIdentityOf } from './keyvault-key-store';
import { keyVaultDisplayName, normalizeVaultUrl, parseKeyVaultResourceId } from '../../domain/disk-encryption';
import { errors } from '../../domain/errors';
import type { KeyVaultAccessPolicy, KeyVaultLocation, KeyVaultLocator } from '../key-vault-locator';

const VAULT_NAME = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;

export class DnsKeyVaultLocator implements KeyVaultLocator {
  constructor(private readonly dnsSuffix = 'vault.azure.net') {}

  async locate(vaultId: string): Promise<KeyVaultLocation | undefined> {
    const parsed = parseKeyVaultResourceId(vaultId);
    if (parsed === undefined) {
      throw errors.invalidRequest('keyVaultId', `'${vaultId.slice(0, 200)}' is not a Key Vault resource id (/subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{name}).`);
    }
    if (!VAULT_NAME.test(parsed.name)) return undefined;
    return { id: vaultId.trim().replace(/\/+$/, ''), url: `https://${parsed.name.toLowerCase()}.${this.dnsSuffix}` };
  }
}

interface ArmVault {
  id?: unknown;
  name?: unknown;
  location?: unknown;
  properties?: { vaultUri?: unknown; accessPolicies?: unknown };
}

export class EmulatorKeyVaultLocator implements KeyVaultLocator {
  constructor(
    private readonly adminUrl: string,
    /** The bearer token the admin API's reads need (any principal of the tenant). */
    private readonly token: () => Promise<string>,
    private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  async locate(vaultIdNameOrUrl: string): Promise<KeyVaultLocation | undefined> {
    const wanted = vaultIdNameOrUrl.trim().replace(/\/+$/, '');
    if (parseKeyVaultResourceId(wanted) !== undefined) return this.one(wanted.split('/').map(encodeURIComponent).join('/'));
    if (/^https:\/\//i.test(wanted)) {
      const origin = normalizeVaultUrl(wanted);
      const all = (await this.get('/vaults')) as { value?: ArmVault[] } | undefined;
      const match = (all?.value ?? []).map(locationOf).find((location) => location !== undefined && location.url === origin);
      return match;
    }
    if (VAULT_NAME.test(wanted)) return this.one(`/vaults/${encodeURIComponent(wanted)}`);
    throw errors.invalidRequest('keyVault', `'${keyVaultDisplayName(wanted).slice(0, 200)}' is neither a Key Vault resource id, name nor URL.`);
  }

  private async one(path: string): Promise<KeyVaultLocation | undefined> {
    const vault = (await this.get(path)) as ArmVault | undefined;
    return vault === undefined ? undefined : locationOf(vault);
  }

  /** The JSON body, or undefined on 404. */
  private async get(path: string): Promise<unknown> {
    let response: Response;
    try {
      response = await this.fetchFn(new URL(path, `${this.adminUrl}/`), { method: 'GET', headers: { authorization: `Bearer ${await this.token()}` } });
    } catch (err) {
      throw errors.invalidConfiguration('KLUIS_KEYVAULT_EMULATOR_URL', `the Key Vault emulator does not answer there (${(err as Error).message})`);
    }
    if (response.status === 404) return undefined;
    if (!response.ok) throw errors.invalidConfiguration('KLUIS_KEYVAULT_EMULATOR_URL', `the Key Vault emulator's admin API answered HTTP ${response.status}`);
    return (await response.json()) as unknown;
  }
}

function locationOf(vault: ArmVault): KeyVaultLocation | undefined {
  if (typeof vault.id !== 'string' || typeof vault.properties?.vaultUri !== 'string') return undefined;
  return {
    id: vault.id,
    url: normalizeVaultUrl(vault.properties.vaultUri),
    ...(typeof vault.location === 'string' ? { location: vault.location } : {}),
    ...(Array.isArray(vault.properties.accessPolicies) ? { accessPolicies: vault.properties.accessPolicies.flatMap(accessPolicyOf) } : {}),
  };
}

function accessPolicyOf(entry: unknown): KeyVaultAccessPolicy[] {
  const policy = entry as { objectId?: unknown; permissions?: { keys?: unknown; secrets?: unknown } } | null;
  if (typeof policy?.objectId !== 'string') return [];
  const names = (list: unknown) => (Array.isArray(list) ? list.filter((name): name is string => typeof name === 'string') : []);
  return [{ objectId: policy.objectId.toLowerCase(), permissions: { keys: names(policy.permissions?.keys), secrets: names(policy.permissions?.secrets) } }];
}

/** Tokens for the emulator's admin API: the backup identity's, for Azure Resource Manager's audience. */
const ARM_SCOPE = 'https://management.core.windows.net/.default';

/** The emulator's locator when KLUIS_KEYVAULT_EMULATOR_URL is set, else Azure's DNS names. */
export function keyVaultLocatorFromConfig(settings: Pick<KeyVaultSettings, 'emulatorUrl' | 'dnsSuffix' | 'principalId' | 'localIdentity'>): KeyVaultLocator {
  if (settings.emulatorUrl === undefined) return new DnsKeyVaultLocator(settings.dnsSuffix);
  const credential = new LocalPrincipalCredential({ objectId: settings.principalId ?? LOCAL_BACKUP_PRINCIPAL_ID }, localIdentityOf(settings));
  return new EmulatorKeyVaultLocator(settings.emulatorUrl, async () => (await credential.getToken(ARM_SCOPE)).token);
}
