/**
 * Application settings, validated once. Values are never echoed in errors: they may hold keys.
 */
import { z } from 'zod';
import { errors } from '../domain/errors';
import { isValidResourceGroupName } from '../domain/arm-names';
import { isValidContainerName } from '../engine/domain/vault-layout';
import { ARM_AUDIENCES } from '../domain/access-token';
import { DEFAULT_STORAGE_RETRY, type StorageRetrySettings } from '../stores/azure/storage-retry';
import type { DashboardSignIn } from '../domain/dashboard-assets';
import type { LocalIdentityEndpoint } from '../stores/azure/keyvault-credential';
import type { StorageConnection } from '../domain/storage-account';
import { identityConnectionOf } from './storage-connections';

export interface KluisConfig {
  /**
   * KLUIS_MODE: `local` (default: connection strings and emulators allowed) or `cloud` (as deployed to Azure:
   * identity-based connections only, a managed identity, token validation configured; see checkCloudMode).
   */
  mode: KluisMode;
  /** The Functions host's own storage (Durable task hub); `UseDevelopmentStorage=true` expanded. */
  webJobsStorage: StorageConnection;
  /** Where source disks live. */
  sourceStorage: StorageConnection;
  /** Where replicas and manifests are written. */
  vaultStorage: StorageConnection;
  vaultContainer: string;
  /** Where restored disks are written (a target storage account). */
  restoreStorage: StorageConnection;
  /** Azure Table (in the vault account) holding the recovery point catalog. */
  catalogTable: string;
  /** Prefix of the vault catalog's tables (in the vault account): {prefix}Vaults, {prefix}Policies, … */
  catalogTablePrefix: string;
  /** Days instant-restore snapshots are kept in the source account (Azure Backup: 1–5, default 2). */
  instantRestoreDays: number;
  /** Scratch container in the source account for the store capability probe. */
  probeContainer: string;
  /** Where the VM inventory comes from: `table` (the local fabric's table in the source account) or `arm` (Azure Resource Manager, read-only). */
  inventory: InventoryKind;
  /** Azure Table (in the source account) holding the local fabric's VM inventory. */
  inventoryTable: string;
  /** How Kluis reaches Key Vault (encrypted VMs: their BEK secret and KEK key). */
  keyVault: KeyVaultSettings;
  /** How Kluis reaches Microsoft.Compute (managed disks, restore points, SAS access). */
  compute: ComputeSettings;
  /** The tenant, default subscription and home of Kluis's own resources, as the generic ARM endpoints show them. */
  tenancy: TenancySettings;
  /** Which access tokens Kluis's API accepts (every ARM route and the raw /api/backups, /api/restores, /api/items routes). */
  auth: AuthSettings;
  /** Who may do what: where role assignments come from and who is Owner by configuration. */
  access: AccessSettings;
  /**
   * The base URL clients reach Kluis at (KLUIS_PUBLIC_BASE_URL), for absolute URLs in responses
   * (`Location`, `Azure-AsyncOperation`); unset: from X-Forwarded-Proto/Host, else the request's origin.
   */
  publicBaseUrl?: string;
  /** The SDK layer of retries for every Blob and Table call (lib/stores/azure/storage-retry.ts; README "Faults and retries"). */
  storageRetry: StorageRetrySettings;
  /** How long an ARM request may take before it answers 504 GatewayTimeout, by kind of route (README "Faults and retries"). */
  requestDeadlines: RequestDeadlineSettings;
  /** How the dashboard (web/, served at /dashboard/) signs its users in. */
  dashboard: DashboardSettings;
  /**
   * KLUIS_ROLE: `vm` (default: the vault and Azure VM backup) or `server` (a Kluis backup server, issue 16: only the
   * server's own timer, orchestration, activities and health route are registered; functions/index.ts).
   */
  role: AppRole;
  /** The backup server role's data folder and passphrase (KLUIS_SERVER_DATA, KLUIS_SERVER_PASSPHRASE). */
  backupServer: BackupServerRoleSettings;
}

export type AppRole = 'vm' | 'server';

export interface BackupServerRoleSettings {
  /** The server's data folder (`<data>/server` state, `<data>/repository` local copies); default `.kluis-server`. */
  dataDir: string;
  /** Unlocks the repository when set; unset: the key remembered on this machine (unattended unlock). Never logged. */
  passphrase?: string;
}

export const DEFAULT_SERVER_DATA_DIR = '.kluis-server';

/**
 * The server-side deadline of an ARM request, by kind of route: reads (GET, HEAD), writes answered when done (PUT,
 * PATCH, DELETE, POST answering 200/201/204) and long operations that answer 202 once their job is started.
 */
export interface RequestDeadlineSettings {
  readInMs: number;
  writeInMs: number;
  longOperationInMs: number;
}

export const DEFAULT_REQUEST_DEADLINES: RequestDeadlineSettings = { readInMs: 30_000, writeInMs: 60_000, longOperationInMs: 30_000 };

/**
 * The dashboard's sign-in, handed to the browser at `/dashboard/config.json` (nothing secret):
 * `entra` (KLUIS_DASHBOARD_CLIENT_ID set: MSAL browser with that app registration at
 * KLUIS_DASHBOARD_AUTHORITY), `local` (KLUIS_IDENTITY_EMULATOR_URL set by kluis-host: the local
 * identity endpoint's browser sign-in), or `none` (the page says which setting is missing).
 */
export type { DashboardSignIn };

export interface DashboardSettings {
  signIn: DashboardSignIn;
}

/** The client id the dashboard signs in with at the local identity endpoint (its tokens' `appid`). */
export const LOCAL_DASHBOARD_CLIENT_ID = '00000000-0000-0000-0000-0000000000d5';
/** What the dashboard asks for: a token for Azure Resource Manager's audience, which Kluis accepts. */
export const DEFAULT_DASHBOARD_SCOPES = ['https://management.core.windows.net//user_impersonation'];
const LOCAL_DASHBOARD_SCOPES = ['https://management.core.windows.net//.default'];

/**
 * Token validation. In Azure: Entra ID (KLUIS_AUTH_TENANT_ID gives its v1 and v2 issuers and its
 * JWKS). Locally: kluis-host points KLUIS_AUTH_ISSUERS and KLUIS_AUTH_JWKS_URL at its identity
 * endpoint and KLUIS_CA_FILE at the local CA.
 */
export interface AuthSettings {
  /** Accepted `iss` values, compared exactly. Empty: nothing is configured (every request is refused with a configuration error). */
  issuers: string[];
  /** Accepted `aud` values (compared without a trailing slash): ARM's resource ids plus KLUIS_AUTH_AUDIENCES. */
  audiences: string[];
  /** Where the issuers' signing keys are published (a JWKS document). */
  jwksUrl?: string;
  /** The authority clients get tokens from: `authorization_uri` of the WWW-Authenticate challenge on a 401 and `loginEndpoint` of /metadata/endpoints (ARM: https://login.windows.net/; locally the identity endpoint's AD FS authority). */
  authority: string;
  /** PEM file of a local CA trusted for a loopback https JWKS URL only (KLUIS_CA_FILE). */
  caCertificateFile?: string;
}

/**
 * Authorization (Azure RBAC). Role assignments come from Kluis's catalog (`catalog`, managed through
 * its `Microsoft.Authorization/roleAssignments` routes) or, in Azure, from Azure RBAC (`azure`,
 * read with the app's managed identity). `owners` hold Owner at the root scope `/` by configuration
 * (KLUIS_OWNER_PRINCIPAL_IDS): the tenant's administrators; kluis-host names its local managed identity.
 */
export interface AccessSettings {
  source: AuthorizationSource;
  owners: string[];
}

export type AuthorizationSource = 'catalog' | 'azure';

/**
 * What the generic ARM endpoints (`/tenants`, `/subscriptions`, resource groups, storage accounts) show.
 * The default subscription always exists; others are registered with `Microsoft.Subscription/aliases`.
 * The storage accounts Kluis is configured with live in `storageResourceGroup` of the default subscription.
 */
export interface TenancySettings {
  tenantId: string;
  subscriptionId: string;
  subscriptionName: string;
  /** Region of Kluis's own resources (its storage accounts and their resource group). */
  location: string;
  storageResourceGroup: string;
}

/**
 * Key Vault access. In Azure: `default` credential (DefaultAzureCredential, the app's managed identity)
 * and vault URLs https://{name}.{dnsSuffix}. Locally: the `local` credential presenting `principalId` to
 * the Key Vault emulator, its CA trusted from `caCertificateFile`, and vault ids resolved by its admin API.
 */
export interface KeyVaultSettings {
  credential: KeyVaultCredentialKind;
  /**
   * Object id of Kluis's backup identity: what the local credential presents, and what permission errors
   * tell users to grant access to. Locally it defaults to LOCAL_BACKUP_PRINCIPAL_ID; in Azure it is
   * optional (the managed identity's object id, shown in messages only).
   */
  principalId?: string;
  /** PEM file of the Key Vault emulator's CA (KLUIS_KEYVAULT_CA_FILE); trusted for loopback vaults only. */
  caCertificateFile?: string;
  /** Admin API of the local Key Vault emulator (e.g. http://127.0.0.1:41234): vault ids resolve through it. */
  emulatorUrl?: string;
  /** DNS suffix of vault URLs in Azure (public cloud: vault.azure.net). */
  dnsSuffix: string;
  /**
   * Where the `local` credential gets signed tokens for the backup identity: the local identity
   * endpoint's App Service managed identity API (IDENTITY_ENDPOINT and its secret IDENTITY_HEADER, which
   * kluis-host sets as App Service does).
   */
  localIdentity?: LocalIdentityEndpoint;
}

export type KeyVaultCredentialKind = 'default' | 'local';

/**
 * Microsoft.Compute access through @azure/arm-compute: one path. In Azure: https://management.azure.com and
 * the `default` credential (DefaultAzureCredential, the app's managed identity). Locally: kluis-host sets
 * KLUIS_COMPUTE_ENDPOINT to the fabric's Compute endpoint and KLUIS_COMPUTE_CREDENTIAL=local (a token naming
 * the app's managed identity from the local identity endpoint, as Key Vault's local credential gets one); the local CA (KLUIS_CA_FILE) is trusted for a loopback
 * endpoint only. Tokens are always asked for ARM's audience.
 */
export interface ComputeSettings {
  endpoint: string;
  credential: ComputeCredentialKind;
  /** The object id the local credential presents (KLUIS_COMPUTE_PRINCIPAL_ID; kluis-host: the app's own managed identity, Owner locally). */
  principalId?: string;
  /** PEM file of the local CA (KLUIS_CA_FILE), trusted for a loopback endpoint only. */
  caCertificateFile?: string;
  /** Seconds a read SAS on a disk restore point lasts (KLUIS_COMPUTE_SAS_SECONDS; it is renewed before it ends). */
  sasDurationInSeconds: number;
}

export type ComputeCredentialKind = 'default' | 'local';

export type InventoryKind = 'table' | 'arm';

export type KluisMode = 'local' | 'cloud';

export const DEFAULT_VAULT_CONTAINER = 'kluis-vault';
export const DEFAULT_CATALOG_TABLE = 'KluisRecoveryPoints';
export const DEFAULT_CATALOG_TABLE_PREFIX = 'Kluis';
export const DEFAULT_INSTANT_RESTORE_DAYS = 2;
export const DEFAULT_PROBE_CONTAINER = 'kluis-probe';
export const DEFAULT_INVENTORY = 'table';
export const DEFAULT_INVENTORY_TABLE = 'KluisVirtualMachines';
export const DEFAULT_KEYVAULT_CREDENTIAL = 'default';
export const DEFAULT_KEYVAULT_DNS_SUFFIX = 'vault.azure.net';
export const DEFAULT_COMPUTE_ENDPOINT = 'https://management.azure.com';
export const DEFAULT_COMPUTE_CREDENTIAL = 'default';
export const DEFAULT_COMPUTE_SAS_SECONDS = 4 * 3600;
/** The local tenant: the same id the Key Vault emulator and the local identity endpoint use (LOCAL_TENANT_ID). */
export const DEFAULT_TENANT_ID = '00000000-0000-0000-0000-00000000c0de';
export const DEFAULT_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';
export const DEFAULT_SUBSCRIPTION_NAME = 'Kluis local';
export const DEFAULT_LOCATION = 'westeurope';
export const DEFAULT_STORAGE_RESOURCE_GROUP = 'kluis-storage';
/** What ARM names in its WWW-Authenticate challenge. */
export const DEFAULT_AUTH_AUTHORITY = 'https://login.windows.net/';
/** Entra ID's issuers (v1 and v2 tokens) and signing keys for a tenant (public cloud). */
export const entraIdIssuers = (tenantId: string): string[] => [`https://sts.windows.net/${tenantId}/`, `https://login.microsoftonline.com/${tenantId}/v2.0`];
export const entraIdJwksUrl = (tenantId: string): string => `https://login.microsoftonline.com/${tenantId}/discovery/v2.0/keys`;
/** The object id the backup identity has locally (in the Key Vault emulator's access policies) unless KLUIS_KEYVAULT_PRINCIPAL_ID says otherwise. */
export const LOCAL_BACKUP_PRINCIPAL_ID = '00000000-0000-0000-0000-00000000bac0';

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
const DEV_ACCOUNT_NAME = 'devstoreaccount1';
const DEV_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const DEV_HOST = '127.0.0.1';

export const DEVELOPMENT_STORAGE_CONNECTION_STRING =
  'DefaultEndpointsProtocol=http;' +
  `AccountName=${DEV_ACCOUNT_NAME};` +
  `AccountKey=${DEV_ACCOUNT_KEY};` +
  `BlobEndpoint=http://${DEV_HOST}:10000/${DEV_ACCOUNT_NAME};` +
  `QueueEndpoint=http://${DEV_HOST}:10001/${DEV_ACCOUNT_NAME};` +
  `TableEndpoint=http://${DEV_HOST}:10002/${DEV_ACCOUNT_NAME};`;

function guid(what: string) {
  return z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, { error: `it must be ${what} (a GUID)` });
}

const emptyAsUnset = (value: unknown): unknown => (typeof value === 'string' && value.trim() === '' ? undefined : value);

const GUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function isHttpUrl(value: string, { noQuery = false } = {}): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && (!noQuery || (url.search === '' && url.hash === ''));
  } catch {
    return false;
  }
}

/** An audience: an http(s) URL, an application id URI (api://…) or an application id (a GUID). */
function isAudience(value: string): boolean {
  return isHttpUrl(value) || GUID_PATTERN.test(value) || /^api:\/\/\S+$/.test(value);
}

/** A comma-separated list (issuers, audiences): trimmed, empty items dropped, each checked. */
const list = (check: (item: string) => boolean, error: string) =>
  z.preprocess(
    (value) => (typeof value === 'string' ? value.split(',').map((item) => item.trim()).filter((item) => item !== '') : value),
    z.array(z.string().refine(check, { error })).optional(),
  );

/** A whole number of milliseconds (or tries) within [min, max], defaulting to `fallback`. */
const wholeNumber = (min: number, max: number, fallback: number, unit: string) =>
  z.preprocess(
    emptyAsUnset,
    z.coerce
      .number()
      .int({ error: `it must be a whole number of ${unit}` })
      .min(min, { error: `it must be ${min}–${max} ${unit}` })
      .max(max, { error: `it must be ${min}–${max} ${unit}` })
      .default(fallback),
  );

const roleSetting = z.preprocess(emptyAsUnset, z.enum(['vm', 'server'], { error: "it must be 'vm' (the vault and VM backup) or 'server' (a backup server)" }).default('vm'));

const settingsSchema = z.object({
  KLUIS_ROLE: roleSetting,
  KLUIS_SERVER_DATA: z.preprocess(emptyAsUnset, z.string().default(DEFAULT_SERVER_DATA_DIR)),
  KLUIS_SERVER_PASSPHRASE: z.preprocess(emptyAsUnset, z.string().optional()),
  KLUIS_MODE: z.preprocess(emptyAsUnset, z.enum(['local', 'cloud'], { error: "it must be 'local' or 'cloud'" }).default('local')),
  AZURE_CLIENT_ID: z.preprocess(emptyAsUnset, z.string().regex(GUID_PATTERN, { error: 'it must be the client id of the app\'s managed identity (a GUID)' }).optional()),
  AzureWebJobsStorage: z.preprocess(emptyAsUnset, z.string().optional()),
  KLUIS_SOURCE_STORAGE: z.preprocess(emptyAsUnset, z.string().optional()),
  KLUIS_VAULT_STORAGE: z.preprocess(emptyAsUnset, z.string().optional()),
  KLUIS_VAULT_CONTAINER: z.preprocess(
    emptyAsUnset,
    z
      .string()
      .refine(isValidContainerName, {
        error: 'it must be 3–63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit',
      })
      .default(DEFAULT_VAULT_CONTAINER),
  ),
  KLUIS_RESTORE_STORAGE: z.preprocess(emptyAsUnset, z.string().optional()),
  KLUIS_CATALOG_TABLE: z.preprocess(
    emptyAsUnset,
    z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, { error: 'it must be 3–63 letters and digits, starting with a letter' })
      .default(DEFAULT_CATALOG_TABLE),
  ),
  KLUIS_CATALOG_TABLE_PREFIX: z.preprocess(
    emptyAsUnset,
    z
      .string()
      // The longest suffix is 'ProtectedItems' (14): table names stay within 63 characters.
      .regex(/^[A-Za-z][A-Za-z0-9]{0,48}$/, { error: 'it must be 1–49 letters and digits, starting with a letter' })
      .default(DEFAULT_CATALOG_TABLE_PREFIX),
  ),
  KLUIS_INSTANT_RESTORE_DAYS: z.preprocess(
    emptyAsUnset,
    z.coerce.number().int({ error: 'it must be a whole number of days' }).min(1, { error: 'it must be 1–5 days' }).max(5, { error: 'it must be 1–5 days' }).default(DEFAULT_INSTANT_RESTORE_DAYS),
  ),
  KLUIS_PROBE_CONTAINER: z.preprocess(
    emptyAsUnset,
    z.string().refine(isValidContainerName, { error: 'it must be a valid container name' }).default(DEFAULT_PROBE_CONTAINER),
  ),
  KLUIS_INVENTORY: z.preprocess(
    emptyAsUnset,
    z.enum(['table', 'arm'], { error: "it must be 'table' or 'arm'" }).default(DEFAULT_INVENTORY),
  ),
  KLUIS_INVENTORY_TABLE: z.preprocess(
    emptyAsUnset,
    z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, { error: 'it must be 3–63 letters and digits, starting with a letter' })
      .default(DEFAULT_INVENTORY_TABLE),
  ),
  KLUIS_KEYVAULT_CREDENTIAL: z.preprocess(
    emptyAsUnset,
    z.enum(['default', 'local'], { error: "it must be 'default' (DefaultAzureCredential) or 'local' (the Key Vault emulator)" }).default(DEFAULT_KEYVAULT_CREDENTIAL),
  ),
  KLUIS_KEYVAULT_PRINCIPAL_ID: z.preprocess(
    emptyAsUnset,
    z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, { error: 'it must be an object id (a GUID)' }).optional(),
  ),
  KLUIS_KEYVAULT_CA_FILE: z.preprocess(emptyAsUnset, z.string().optional()),
  KLUIS_KEYVAULT_EMULATOR_URL: z.preprocess(
    emptyAsUnset,
    z.url({ protocol: /^https?$/, error: 'it must be the http(s) URL of the Key Vault emulator\'s admin API' }).optional(),
  ),
  KLUIS_KEYVAULT_DNS_SUFFIX: z.preprocess(
    emptyAsUnset,
    z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i, { error: 'it must be a DNS suffix such as vault.azure.net' }).default(DEFAULT_KEYVAULT_DNS_SUFFIX),
  ),
  KLUIS_COMPUTE_ENDPOINT: z.preprocess(
    emptyAsUnset,
    z.string().refine((value) => isHttpUrl(value, { noQuery: true }) && value.startsWith('https:'), { error: 'it must be an https URL such as https://management.azure.com' }).default(DEFAULT_COMPUTE_ENDPOINT),
  ),
  KLUIS_COMPUTE_CREDENTIAL: z.preprocess(
    emptyAsUnset,
    z.enum(['default', 'local'], { error: "it must be 'default' (DefaultAzureCredential) or 'local' (the local fabric)" }).default(DEFAULT_COMPUTE_CREDENTIAL),
  ),
  KLUIS_COMPUTE_PRINCIPAL_ID: z.preprocess(emptyAsUnset, z.string().regex(GUID_PATTERN, { error: 'it must be an object id (a GUID)' }).optional()),
  KLUIS_COMPUTE_SAS_SECONDS: z.preprocess(
    emptyAsUnset,
    z.coerce.number().int({ error: 'it must be a whole number of seconds' }).min(300, { error: 'it must be 300–5184000 seconds' }).max(5_184_000, { error: 'it must be 300–5184000 seconds' }).default(DEFAULT_COMPUTE_SAS_SECONDS),
  ),
  IDENTITY_ENDPOINT: z.preprocess(emptyAsUnset, z.string().refine((value) => isHttpUrl(value, { noQuery: true }), { error: 'it must be the http(s) URL of a managed identity endpoint' }).optional()),
  IDENTITY_HEADER: z.preprocess(emptyAsUnset, z.string().optional()),
  KLUIS_TENANT_ID: z.preprocess(emptyAsUnset, guid('a tenant id').default(DEFAULT_TENANT_ID)),
  KLUIS_SUBSCRIPTION_ID: z.preprocess(emptyAsUnset, guid('a subscription id').default(DEFAULT_SUBSCRIPTION_ID)),
  KLUIS_SUBSCRIPTION_NAME: z.preprocess(emptyAsUnset, z.string().max(64, { error: 'it must be at most 64 characters' }).default(DEFAULT_SUBSCRIPTION_NAME)),
  KLUIS_LOCATION: z.preprocess(
    emptyAsUnset,
    z.string().regex(/^[A-Za-z][A-Za-z0-9 ]{1,39}$/, { error: 'it must be a region name such as westeurope' }).default(DEFAULT_LOCATION),
  ),
  KLUIS_STORAGE_RESOURCE_GROUP: z.preprocess(
    emptyAsUnset,
    z
      .string()
      .refine(isValidResourceGroupName, { error: 'it must be 1–90 letters, digits, underscores, hyphens, periods and parentheses, not ending with a period' })
      .default(DEFAULT_STORAGE_RESOURCE_GROUP),
  ),
  KLUIS_AUTH_TENANT_ID: z.preprocess(emptyAsUnset, z.string().regex(GUID_PATTERN, { error: 'it must be a tenant id (a GUID)' }).optional()),
  KLUIS_AUTH_ISSUERS: z.preprocess(emptyAsUnset, list((item) => isHttpUrl(item), 'each issuer must be an http(s) URL')),
  KLUIS_AUTH_AUDIENCES: z.preprocess(emptyAsUnset, list(isAudience, 'each audience must be an http(s) URL, an api:// URI or an application id')),
  KLUIS_AUTH_JWKS_URL: z.preprocess(
    emptyAsUnset,
    z.string().refine((value) => isHttpUrl(value), { error: 'it must be the http(s) URL of a JWKS document' }).optional(),
  ),
  KLUIS_AUTH_AUTHORITY: z.preprocess(
    emptyAsUnset,
    z.string().refine((value) => isHttpUrl(value, { noQuery: true }), { error: 'it must be an https URL such as https://login.windows.net/' }).default(DEFAULT_AUTH_AUTHORITY),
  ),
  KLUIS_CA_FILE: z.preprocess(emptyAsUnset, z.string().optional()),
  KLUIS_AUTHORIZATION: z.preprocess(
    emptyAsUnset,
    z.enum(['catalog', 'azure'], { error: "it must be 'catalog' (Kluis's own role assignments) or 'azure' (Azure RBAC)" }).default('catalog'),
  ),
  KLUIS_OWNER_PRINCIPAL_IDS: z.preprocess(emptyAsUnset, list((item) => GUID_PATTERN.test(item), 'each owner must be an object id (a GUID)')),
  KLUIS_PUBLIC_BASE_URL: z.preprocess(
    emptyAsUnset,
    z.string().refine((value) => isHttpUrl(value, { noQuery: true }), { error: 'it must be an http(s) URL without query or fragment, e.g. https://backup.example.com' }).optional(),
  ),
  KLUIS_STORAGE_MAX_TRIES: wholeNumber(1, 10, DEFAULT_STORAGE_RETRY.maxTries, 'tries'),
  KLUIS_STORAGE_RETRY_DELAY_MS: wholeNumber(0, 60_000, DEFAULT_STORAGE_RETRY.retryDelayInMs, 'ms'),
  KLUIS_STORAGE_MAX_RETRY_DELAY_MS: wholeNumber(0, 600_000, DEFAULT_STORAGE_RETRY.maxRetryDelayInMs, 'ms'),
  KLUIS_STORAGE_TRY_TIMEOUT_MS: wholeNumber(100, 600_000, DEFAULT_STORAGE_RETRY.blobTryTimeoutInMs, 'ms'),
  KLUIS_CATALOG_TRY_TIMEOUT_MS: wholeNumber(100, 600_000, DEFAULT_STORAGE_RETRY.tableTryTimeoutInMs, 'ms'),
  KLUIS_STORAGE_MAX_RETRY_AFTER_MS: wholeNumber(0, 600_000, DEFAULT_STORAGE_RETRY.maxRetryAfterInMs, 'ms'),
  KLUIS_REQUEST_DEADLINE_MS: wholeNumber(100, 600_000, DEFAULT_REQUEST_DEADLINES.readInMs, 'ms'),
  KLUIS_WRITE_REQUEST_DEADLINE_MS: wholeNumber(100, 600_000, DEFAULT_REQUEST_DEADLINES.writeInMs, 'ms'),
  KLUIS_LONG_OPERATION_REQUEST_DEADLINE_MS: wholeNumber(100, 600_000, DEFAULT_REQUEST_DEADLINES.longOperationInMs, 'ms'),
  KLUIS_DASHBOARD_CLIENT_ID: z.preprocess(emptyAsUnset, z.string().regex(GUID_PATTERN, { error: 'it must be the application (client) id of an app registration (a GUID)' }).optional()),
  KLUIS_DASHBOARD_AUTHORITY: z.preprocess(
    emptyAsUnset,
    z.string().refine((value) => isHttpUrl(value, { noQuery: true }), { error: 'it must be an https URL such as https://login.microsoftonline.com/<tenant>' }).optional(),
  ),
  KLUIS_DASHBOARD_SCOPES: z.preprocess(emptyAsUnset, list((item) => item.length > 0 && !/\s/.test(item), 'each scope must be one word, e.g. https://management.core.windows.net//user_impersonation')),
  KLUIS_IDENTITY_EMULATOR_URL: z.preprocess(
    emptyAsUnset,
    z.string().refine((value) => isHttpUrl(value, { noQuery: true }), { error: 'it must be the http(s) URL of the local identity endpoint' }).optional(),
  ),
});

/** Reads and validates settings from `env`; throws KluisInvalidConfiguration naming the bad setting. */
export function loadConfig(env: Record<string, string | undefined> = process.env): KluisConfig {
  const parsed = settingsSchema.safeParse({
    KLUIS_ROLE: env.KLUIS_ROLE,
    KLUIS_SERVER_DATA: env.KLUIS_SERVER_DATA,
    KLUIS_SERVER_PASSPHRASE: env.KLUIS_SERVER_PASSPHRASE,
    KLUIS_MODE: env.KLUIS_MODE,
    AZURE_CLIENT_ID: env.AZURE_CLIENT_ID,
    AzureWebJobsStorage: env.AzureWebJobsStorage,
    KLUIS_SOURCE_STORAGE: env.KLUIS_SOURCE_STORAGE,
    KLUIS_VAULT_STORAGE: env.KLUIS_VAULT_STORAGE,
    KLUIS_VAULT_CONTAINER: env.KLUIS_VAULT_CONTAINER,
    KLUIS_RESTORE_STORAGE: env.KLUIS_RESTORE_STORAGE,
    KLUIS_CATALOG_TABLE: env.KLUIS_CATALOG_TABLE,
    KLUIS_CATALOG_TABLE_PREFIX: env.KLUIS_CATALOG_TABLE_PREFIX,
    KLUIS_INSTANT_RESTORE_DAYS: env.KLUIS_INSTANT_RESTORE_DAYS,
    KLUIS_PROBE_CONTAINER: env.KLUIS_PROBE_CONTAINER,
    KLUIS_INVENTORY: env.KLUIS_INVENTORY,
    KLUIS_INVENTORY_TABLE: env.KLUIS_INVENTORY_TABLE,
    KLUIS_KEYVAULT_CREDENTIAL: env.KLUIS_KEYVAULT_CREDENTIAL,
    KLUIS_KEYVAULT_PRINCIPAL_ID: env.KLUIS_KEYVAULT_PRINCIPAL_ID,
    KLUIS_KEYVAULT_CA_FILE: env.KLUIS_KEYVAULT_CA_FILE,
    KLUIS_KEYVAULT_EMULATOR_URL: env.KLUIS_KEYVAULT_EMULATOR_URL,
    KLUIS_KEYVAULT_DNS_SUFFIX: env.KLUIS_KEYVAULT_DNS_SUFFIX,
    KLUIS_COMPUTE_ENDPOINT: env.KLUIS_COMPUTE_ENDPOINT,
    KLUIS_COMPUTE_CREDENTIAL: env.KLUIS_COMPUTE_CREDENTIAL,
    KLUIS_COMPUTE_PRINCIPAL_ID: env.KLUIS_COMPUTE_PRINCIPAL_ID,
    KLUIS_COMPUTE_SAS_SECONDS: env.KLUIS_COMPUTE_SAS_SECONDS,
    IDENTITY_ENDPOINT: env.IDENTITY_ENDPOINT,
    IDENTITY_HEADER: env.IDENTITY_HEADER,
    KLUIS_TENANT_ID: env.KLUIS_TENANT_ID,
    KLUIS_SUBSCRIPTION_ID: env.KLUIS_SUBSCRIPTION_ID,
    KLUIS_SUBSCRIPTION_NAME: env.KLUIS_SUBSCRIPTION_NAME,
    KLUIS_LOCATION: env.KLUIS_LOCATION,
    KLUIS_STORAGE_RESOURCE_GROUP: env.KLUIS_STORAGE_RESOURCE_GROUP,
    KLUIS_AUTH_TENANT_ID: env.KLUIS_AUTH_TENANT_ID,
    KLUIS_AUTH_ISSUERS: env.KLUIS_AUTH_ISSUERS,
    KLUIS_AUTH_AUDIENCES: env.KLUIS_AUTH_AUDIENCES,
    KLUIS_AUTH_JWKS_URL: env.KLUIS_AUTH_JWKS_URL,
    KLUIS_AUTH_AUTHORITY: env.KLUIS_AUTH_AUTHORITY,
    KLUIS_CA_FILE: env.KLUIS_CA_FILE,
    KLUIS_AUTHORIZATION: env.KLUIS_AUTHORIZATION,
    KLUIS_OWNER_PRINCIPAL_IDS: env.KLUIS_OWNER_PRINCIPAL_IDS,
    KLUIS_PUBLIC_BASE_URL: env.KLUIS_PUBLIC_BASE_URL,
    KLUIS_STORAGE_MAX_TRIES: env.KLUIS_STORAGE_MAX_TRIES,
    KLUIS_STORAGE_RETRY_DELAY_MS: env.KLUIS_STORAGE_RETRY_DELAY_MS,
    KLUIS_STORAGE_MAX_RETRY_DELAY_MS: env.KLUIS_STORAGE_MAX_RETRY_DELAY_MS,
    KLUIS_STORAGE_TRY_TIMEOUT_MS: env.KLUIS_STORAGE_TRY_TIMEOUT_MS,
    KLUIS_CATALOG_TRY_TIMEOUT_MS: env.KLUIS_CATALOG_TRY_TIMEOUT_MS,
    KLUIS_STORAGE_MAX_RETRY_AFTER_MS: env.KLUIS_STORAGE_MAX_RETRY_AFTER_MS,
    KLUIS_REQUEST_DEADLINE_MS: env.KLUIS_REQUEST_DEADLINE_MS,
    KLUIS_WRITE_REQUEST_DEADLINE_MS: env.KLUIS_WRITE_REQUEST_DEADLINE_MS,
    KLUIS_LONG_OPERATION_REQUEST_DEADLINE_MS: env.KLUIS_LONG_OPERATION_REQUEST_DEADLINE_MS,
    KLUIS_DASHBOARD_CLIENT_ID: env.KLUIS_DASHBOARD_CLIENT_ID,
    KLUIS_DASHBOARD_AUTHORITY: env.KLUIS_DASHBOARD_AUTHORITY,
    KLUIS_DASHBOARD_SCOPES: env.KLUIS_DASHBOARD_SCOPES,
    KLUIS_IDENTITY_EMULATOR_URL: env.KLUIS_IDENTITY_EMULATOR_URL,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw errors.invalidConfiguration(String(issue.path[0] ?? 'settings'), issue.message);
  }
  const settings = parsed.data;
  const connection = (setting: StorageSetting, fallback?: StorageConnection) => storageConnection(env, settings, setting, fallback);
  const webJobsStorage = connection('AzureWebJobsStorage');
  const sourceStorage = connection('KLUIS_SOURCE_STORAGE', webJobsStorage);
  const vaultStorage = connection('KLUIS_VAULT_STORAGE', webJobsStorage);
  const restoreStorage = connection('KLUIS_RESTORE_STORAGE', sourceStorage);
  if (settings.KLUIS_MODE === 'cloud') checkCloudMode(settings);
  return {
    mode: settings.KLUIS_MODE,
    webJobsStorage,
    sourceStorage,
    vaultStorage,
    vaultContainer: settings.KLUIS_VAULT_CONTAINER,
    restoreStorage,
    catalogTable: settings.KLUIS_CATALOG_TABLE,
    catalogTablePrefix: settings.KLUIS_CATALOG_TABLE_PREFIX,
    instantRestoreDays: settings.KLUIS_INSTANT_RESTORE_DAYS,
    probeContainer: settings.KLUIS_PROBE_CONTAINER,
    inventory: settings.KLUIS_INVENTORY,
    inventoryTable: settings.KLUIS_INVENTORY_TABLE,
    keyVault: {
      credential: settings.KLUIS_KEYVAULT_CREDENTIAL,
      ...(settings.KLUIS_KEYVAULT_PRINCIPAL_ID !== undefined
        ? { principalId: settings.KLUIS_KEYVAULT_PRINCIPAL_ID }
        : settings.KLUIS_KEYVAULT_CREDENTIAL === 'local'
          ? { principalId: LOCAL_BACKUP_PRINCIPAL_ID }
          : {}),
      ...(settings.KLUIS_KEYVAULT_CA_FILE === undefined ? {} : { caCertificateFile: settings.KLUIS_KEYVAULT_CA_FILE }),
      ...(settings.KLUIS_KEYVAULT_EMULATOR_URL === undefined ? {} : { emulatorUrl: settings.KLUIS_KEYVAULT_EMULATOR_URL.replace(/\/+$/, '') }),
      dnsSuffix: settings.KLUIS_KEYVAULT_DNS_SUFFIX.toLowerCase(),
      ...(settings.IDENTITY_ENDPOINT === undefined || settings.IDENTITY_HEADER === undefined
        ? {}
        : { localIdentity: { msiEndpoint: settings.IDENTITY_ENDPOINT, secret: settings.IDENTITY_HEADER } }),
    },
    compute: {
      endpoint: settings.KLUIS_COMPUTE_ENDPOINT.replace(/\/+$/, ''),
      credential: settings.KLUIS_COMPUTE_CREDENTIAL,
      ...(settings.KLUIS_COMPUTE_CREDENTIAL === 'local'
        ? { principalId: (settings.KLUIS_COMPUTE_PRINCIPAL_ID ?? settings.KLUIS_KEYVAULT_PRINCIPAL_ID ?? LOCAL_BACKUP_PRINCIPAL_ID).toLowerCase() }
        : {}),
      ...(settings.KLUIS_CA_FILE === undefined ? {} : { caCertificateFile: settings.KLUIS_CA_FILE }),
      sasDurationInSeconds: settings.KLUIS_COMPUTE_SAS_SECONDS,
    },
    tenancy: {
      tenantId: settings.KLUIS_TENANT_ID.toLowerCase(),
      subscriptionId: settings.KLUIS_SUBSCRIPTION_ID.toLowerCase(),
      subscriptionName: settings.KLUIS_SUBSCRIPTION_NAME,
      location: settings.KLUIS_LOCATION.replace(/\s+/g, '').toLowerCase(),
      storageResourceGroup: settings.KLUIS_STORAGE_RESOURCE_GROUP,
    },
    auth: authSettings(settings),
    access: {
      source: settings.KLUIS_AUTHORIZATION,
      owners: [...new Set((settings.KLUIS_OWNER_PRINCIPAL_IDS ?? []).map((id) => id.toLowerCase()))],
    },
    ...(settings.KLUIS_PUBLIC_BASE_URL === undefined ? {} : { publicBaseUrl: settings.KLUIS_PUBLIC_BASE_URL.replace(/\/+$/, '') }),
    storageRetry: {
      maxTries: settings.KLUIS_STORAGE_MAX_TRIES,
      retryDelayInMs: settings.KLUIS_STORAGE_RETRY_DELAY_MS,
      maxRetryDelayInMs: settings.KLUIS_STORAGE_MAX_RETRY_DELAY_MS,
      blobTryTimeoutInMs: settings.KLUIS_STORAGE_TRY_TIMEOUT_MS,
      tableTryTimeoutInMs: settings.KLUIS_CATALOG_TRY_TIMEOUT_MS,
      maxRetryAfterInMs: settings.KLUIS_STORAGE_MAX_RETRY_AFTER_MS,
    },
    requestDeadlines: {
      readInMs: settings.KLUIS_REQUEST_DEADLINE_MS,
      writeInMs: settings.KLUIS_WRITE_REQUEST_DEADLINE_MS,
      longOperationInMs: settings.KLUIS_LONG_OPERATION_REQUEST_DEADLINE_MS,
    },
    dashboard: { signIn: dashboardSignIn(settings) },
    role: settings.KLUIS_ROLE,
    backupServer: { dataDir: settings.KLUIS_SERVER_DATA, ...(settings.KLUIS_SERVER_PASSPHRASE === undefined ? {} : { passphrase: settings.KLUIS_SERVER_PASSPHRASE }) },
  };
}

/**
 * KLUIS_ROLE alone, by the same schema as loadConfig: what the app's entry point (functions/index.ts) reads to
 * choose which functions to register, before any other setting is needed.
 */
export function appRoleOf(env: Record<string, string | undefined> = process.env): AppRole {
  const parsed = roleSetting.safeParse(env.KLUIS_ROLE);
  if (!parsed.success) throw errors.invalidConfiguration('KLUIS_ROLE', parsed.error.issues[0].message);
  return parsed.data;
}

/** Entra ID when an app registration is named, else the local identity endpoint when kluis-host runs one. */
function dashboardSignIn(settings: ParsedSettings): DashboardSignIn {
  const clientId = settings.KLUIS_DASHBOARD_CLIENT_ID?.toLowerCase();
  if (clientId !== undefined) {
    const tenant = settings.KLUIS_AUTH_TENANT_ID?.toLowerCase() ?? 'organizations';
    return {
      kind: 'entra',
      clientId,
      authority: (settings.KLUIS_DASHBOARD_AUTHORITY ?? `https://login.microsoftonline.com/${tenant}`).replace(/\/+$/, ''),
      scopes: settings.KLUIS_DASHBOARD_SCOPES ?? DEFAULT_DASHBOARD_SCOPES,
    };
  }
  if (settings.KLUIS_IDENTITY_EMULATOR_URL !== undefined) {
    return {
      kind: 'local',
      clientId: LOCAL_DASHBOARD_CLIENT_ID,
      authority: `${settings.KLUIS_IDENTITY_EMULATOR_URL.replace(/\/+$/, '')}/organizations`,
      scopes: settings.KLUIS_DASHBOARD_SCOPES ?? LOCAL_DASHBOARD_SCOPES,
    };
  }
  return { kind: 'none' };
}

type ParsedSettings = z.infer<typeof settingsSchema>;

type StorageSetting = 'AzureWebJobsStorage' | 'KLUIS_SOURCE_STORAGE' | 'KLUIS_VAULT_STORAGE' | 'KLUIS_RESTORE_STORAGE';

/**
 * One storage connection: the connection string in `setting`, or the identity-based connection in
 * `setting__*`, never both; neither: `fallback` (required for AzureWebJobsStorage). In cloud mode only
 * identity-based connections with the managed identity are accepted: a connection string holds an account
 * key or SAS (or points at the emulator), which a deployed app must not keep in its settings.
 */
function storageConnection(env: Record<string, string | undefined>, settings: ParsedSettings, setting: StorageSetting, fallback?: StorageConnection): StorageConnection {
  const plain = settings[setting];
  const identity = identityConnectionOf(env, setting, settings.AZURE_CLIENT_ID);
  const cloud = settings.KLUIS_MODE === 'cloud';
  if (plain !== undefined && identity !== undefined) {
    throw errors.invalidConfiguration(setting, `it is set together with ${setting}__* (an identity-based connection): keep one of them`);
  }
  if (plain !== undefined) {
    if (cloud) {
      throw errors.invalidConfiguration(
        setting,
        `KLUIS_MODE=cloud takes no connection strings (an account key or SAS in app settings, or the storage emulator); set ${setting}__accountName with ${setting}__credential=managedidentity instead`,
      );
    }
    return resolveConnectionString(setting, plain);
  }
  if (identity !== undefined) {
    if (cloud && identity.credential !== 'managedidentity') {
      throw errors.invalidConfiguration(`${setting}__credential`, "it must be 'managedidentity' with KLUIS_MODE=cloud: the app presents its managed identity, nothing else");
    }
    return identity;
  }
  if (fallback !== undefined) return fallback;
  throw errors.invalidConfiguration(
    setting,
    cloud ? `it is required: set ${setting}__accountName with ${setting}__credential=managedidentity` : `it is required: a connection string (UseDevelopmentStorage=true for Azurite) or ${setting}__accountName for an identity-based connection`,
  );
}

/**
 * What a deployment (KLUIS_MODE=cloud) must have besides identity-based storage: the app's managed identity
 * (AZURE_CLIENT_ID: its user-assigned identity, presented to Storage, Key Vault and ARM), token validation
 * for its API (an Entra tenant or issuers, and the audience tokens must be issued for), and no emulator
 * credential or endpoint.
 */
function checkCloudMode(settings: ParsedSettings): void {
  if (settings.AZURE_CLIENT_ID === undefined) {
    throw errors.invalidConfiguration('AZURE_CLIENT_ID', 'it is required with KLUIS_MODE=cloud: the client id of the user-assigned managed identity the app presents to Storage, Key Vault and Azure Resource Manager');
  }
  if (settings.KLUIS_AUTH_TENANT_ID === undefined && settings.KLUIS_AUTH_ISSUERS === undefined) {
    throw errors.invalidConfiguration('KLUIS_AUTH_TENANT_ID', 'it is required with KLUIS_MODE=cloud: the Entra ID tenant whose tokens the API accepts (or KLUIS_AUTH_ISSUERS with KLUIS_AUTH_JWKS_URL)');
  }
  if (settings.KLUIS_AUTH_AUDIENCES === undefined || settings.KLUIS_AUTH_AUDIENCES.length === 0) {
    throw errors.invalidConfiguration('KLUIS_AUTH_AUDIENCES', "it is required with KLUIS_MODE=cloud: the audience of the app's own tokens (its application id URI or client id)");
  }
  if (settings.KLUIS_KEYVAULT_CREDENTIAL === 'local') {
    throw errors.invalidConfiguration('KLUIS_KEYVAULT_CREDENTIAL', "it must be 'default' with KLUIS_MODE=cloud: 'local' is the Key Vault emulator's credential");
  }
  if (settings.KLUIS_KEYVAULT_EMULATOR_URL !== undefined) {
    throw errors.invalidConfiguration('KLUIS_KEYVAULT_EMULATOR_URL', 'it must be unset with KLUIS_MODE=cloud: it points at the Key Vault emulator');
  }
  if (settings.KLUIS_COMPUTE_CREDENTIAL === 'local') {
    throw errors.invalidConfiguration('KLUIS_COMPUTE_CREDENTIAL', "it must be 'default' with KLUIS_MODE=cloud: 'local' is the local fabric's credential");
  }
}

/** Issuers and JWKS from KLUIS_AUTH_ISSUERS / KLUIS_AUTH_JWKS_URL, else Entra ID's for KLUIS_AUTH_TENANT_ID; both or neither. */
function authSettings(settings: ParsedSettings): AuthSettings {
  const tenant = settings.KLUIS_AUTH_TENANT_ID?.toLowerCase();
  const issuers = settings.KLUIS_AUTH_ISSUERS ?? (tenant === undefined ? [] : entraIdIssuers(tenant));
  const jwksUrl = settings.KLUIS_AUTH_JWKS_URL ?? (tenant === undefined ? undefined : entraIdJwksUrl(tenant));
  if (issuers.length > 0 && jwksUrl === undefined) {
    throw errors.invalidConfiguration('KLUIS_AUTH_JWKS_URL', 'it is required with KLUIS_AUTH_ISSUERS (or set KLUIS_AUTH_TENANT_ID for Entra ID)');
  }
  if (issuers.length === 0 && jwksUrl !== undefined) {
    throw errors.invalidConfiguration('KLUIS_AUTH_ISSUERS', 'it is required with KLUIS_AUTH_JWKS_URL (or set KLUIS_AUTH_TENANT_ID for Entra ID)');
  }
  return {
    issuers,
    audiences: [...new Set([...ARM_AUDIENCES, ...(settings.KLUIS_AUTH_AUDIENCES ?? [])])],
    ...(jwksUrl === undefined ? {} : { jwksUrl }),
    authority: settings.KLUIS_AUTH_AUTHORITY,
    ...(settings.KLUIS_CA_FILE === undefined ? {} : { caCertificateFile: settings.KLUIS_CA_FILE }),
  };
}

let cached: KluisConfig | undefined;

/** The process's configuration, loaded from process.env on first use. */
export function getConfig(): KluisConfig {
  cached ??= loadConfig(process.env);
  return cached;
}

/**
 * Checks the shape of a storage connection string and expands `UseDevelopmentStorage=true` to
 * Azurite on its default ports (127.0.0.1:10000/10001/10002, account devstoreaccount1).
 */
export function resolveConnectionString(setting: string, value: string): string {
  const parts = parseSegments(setting, value);
  const developmentStorage = parts.get('usedevelopmentstorage');
  if (developmentStorage !== undefined) {
    if (developmentStorage.toLowerCase() !== 'true') {
      throw errors.invalidConfiguration(setting, 'UseDevelopmentStorage must be true when present');
    }
    if (parts.has('developmentstorageproxyuri')) {
      throw errors.invalidConfiguration(setting, 'DevelopmentStorageProxyUri is not supported');
    }
    return DEVELOPMENT_STORAGE_CONNECTION_STRING;
  }
  const hasAccount = parts.has('accountname') && (parts.has('accountkey') || parts.has('sharedaccesssignature'));
  const hasEndpoint = parts.has('blobendpoint') && (parts.has('sharedaccesssignature') || parts.has('accountkey'));
  if (!hasAccount && !hasEndpoint) {
    throw errors.invalidConfiguration(
      setting,
      'it must be UseDevelopmentStorage=true or a storage connection string with AccountName and AccountKey (or SharedAccessSignature), or BlobEndpoint with SharedAccessSignature',
    );
  }
  return value.trim();
}

/** Lower-cased keys; a value may contain '=' (keys, SAS), so only the first '=' separates. */
function parseSegments(setting: string, value: string): Map<string, string> {
  const parts = new Map<string, string>();
  value.split(';').forEach((raw, index) => {
    const segment = raw.trim();
    if (segment === '') return;
    const eq = segment.indexOf('=');
    if (eq <= 0) throw errors.invalidConfiguration(setting, `segment ${index + 1} is not Key=Value`);
    parts.set(segment.slice(0, eq).trim().toLowerCase(), segment.slice(eq + 1).trim());
  });
  return parts;
}

/** Every setting loadConfig reads by name (deployment templates are checked against it). */
export const SETTING_NAMES: readonly string[] = Object.keys(settingsSchema.shape);

/** The storage settings that also take an identity-based connection, `<setting>__accountName` and its siblings. */
export const IDENTITY_CONNECTION_SETTINGS: readonly string[] = ['AzureWebJobsStorage', 'KLUIS_SOURCE_STORAGE', 'KLUIS_VAULT_STORAGE', 'KLUIS_RESTORE_STORAGE'] satisfies StorageSetting[];
