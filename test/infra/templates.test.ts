/**
 * infra/: the Bicep templates and the ARM JSON kept by hand beside them (no offline Bicep compiler exists
 * here). Checks that each pair agrees, the security rules of a deployment (HTTPS only, TLS 1.2, no shared
 * key, no key or secret in outputs or app settings), that every role assignment is in docs/deploy.md's
 * table at no wider a scope, and that the app settings are what lib/config reads and all it needs.
 * Each rule is a function returning its violations, and each is shown to catch a broken template.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IDENTITY_CONNECTION_SETTINGS, SETTING_NAMES, loadConfig } from '../../lib/config';
import { evaluate, functionsCalled, type ArmContext, type ArmValue } from './arm-expression';
import { outlineOfArm, outlineOfBicep, targetScopeOfArm } from './bicep-outline';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
type Json = Record<string, unknown>;
type Resource = Json & { type: string; properties?: Json };
const armOf = (name: string) => JSON.parse(read(`infra/${name}.json`)) as Json & { resources: Resource[] };
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const TEMPLATES = ['main', 'protect', 'rbac-reader'] as const;
/** Parameters each template needs a value for (the rest have defaults). */
const PARAMETERS_OF: Record<(typeof TEMPLATES)[number], Record<string, ArmValue>> = {
  main: { apiAudience: 'api://kluis-backup' },
  protect: { principalId: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a' },
  'rbac-reader': { principalId: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a' },
};

const CLIENT_ID = '3c0f8e1a-5b7d-4c2e-9f10-2a3b4c5d6e7f';
const PRINCIPAL_ID = '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a';
const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';

function contextFor(template: Json, parameters: Record<string, ArmValue>): ArmContext {
  const declared = template.parameters as Record<string, { defaultValue?: ArmValue }>;
  const values: Record<string, ArmValue> = {};
  for (const [name, declaration] of Object.entries(declared)) {
    if (name in parameters) values[name] = parameters[name];
    else if (declaration.defaultValue !== undefined) values[name] = declaration.defaultValue;
    else throw new Error(`parameter ${name} needs a value`);
  }
  return {
    parameters: values,
    variables: (template.variables ?? {}) as Record<string, ArmValue>,
    subscriptionId: '11111111-2222-4333-8444-555555555555',
    resourceGroup: 'kluis-prod',
    location: 'westeurope',
    tenantId: TENANT_ID,
    references: {
      'Microsoft.ManagedIdentity/userAssignedIdentities': { clientId: CLIENT_ID, principalId: PRINCIPAL_ID },
      'Microsoft.Insights/components': { ConnectionString: 'InstrumentationKey=0e9f8a7b-6c5d-4e3f-a2b1-c0d9e8f7a6b5;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/' },
      'Microsoft.Storage/storageAccounts': { primaryEndpoints: { blob: 'https://kluisfnexample.blob.core.windows.net/' } },
      'Microsoft.Web/sites': { defaultHostName: 'kluis-example.azurewebsites.net' },
    },
  };
}

const MAIN_PARAMETERS = PARAMETERS_OF.main;

function siteOf(template: Json & { resources: Resource[] }): Resource {
  const site = template.resources.find((resource) => resource.type === 'Microsoft.Web/sites');
  if (site === undefined) throw new Error('no Microsoft.Web/sites');
  return site;
}

function appSettingsOf(template: Json & { resources: Resource[] }, parameters: Record<string, ArmValue> = MAIN_PARAMETERS): Record<string, string> {
  const ctx = contextFor(template, parameters);
  const siteConfig = (siteOf(template).properties as Json).siteConfig as { appSettings: { name: string; value: ArmValue }[] };
  return Object.fromEntries(siteConfig.appSettings.map((setting) => [setting.name, String(evaluate(setting.value, ctx))]));
}

// ---- the rules ---------------------------------------------------------------------------------------

/** Storage accounts: no shared key, HTTPS only, TLS 1.2, no anonymous blob access. */
function storageViolations(template: Json & { resources: Resource[] }): string[] {
  const violations: string[] = [];
  for (const account of template.resources.filter((resource) => resource.type === 'Microsoft.Storage/storageAccounts')) {
    const props = account.properties ?? {};
    if (props.allowSharedKeyAccess !== false) violations.push(`${String(account.name)}: allowSharedKeyAccess is not false`);
    if (props.supportsHttpsTrafficOnly !== true) violations.push(`${String(account.name)}: supportsHttpsTrafficOnly is not true`);
    if (props.minimumTlsVersion !== 'TLS1_2') violations.push(`${String(account.name)}: minimumTlsVersion is not TLS1_2`);
    if (props.allowBlobPublicAccess !== false) violations.push(`${String(account.name)}: allowBlobPublicAccess is not false`);
  }
  for (const container of template.resources.filter((resource) => resource.type === 'Microsoft.Storage/storageAccounts/blobServices/containers')) {
    if ((container.properties ?? {}).publicAccess !== 'None') violations.push(`${String(container.name)}: publicAccess is not None`);
  }
  return violations;
}

/** The Function App: HTTPS only, TLS 1.2, no FTP, no basic-auth publishing; Key Vault: RBAC and purge protection. */
function siteAndVaultViolations(template: Json & { resources: Resource[] }): string[] {
  const violations: string[] = [];
  const site = siteOf(template);
  const props = site.properties ?? {};
  const siteConfig = (props.siteConfig ?? {}) as Json;
  if (props.httpsOnly !== true) violations.push('site: httpsOnly is not true');
  if (siteConfig.minTlsVersion !== '1.2') violations.push('site: minTlsVersion is not 1.2');
  if (siteConfig.scmMinTlsVersion !== '1.2') violations.push('site: scmMinTlsVersion is not 1.2');
  if (siteConfig.ftpsState !== 'Disabled') violations.push('site: ftpsState is not Disabled');
  const policies = template.resources.filter((resource) => resource.type === 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
  for (const kind of ['ftp', 'scm']) {
    const policy = policies.find((resource) => String(resource.name).includes(`'${kind}'`));
    if (policy === undefined || (policy.properties ?? {}).allow !== false) violations.push(`site: basic publishing credentials (${kind}) are not disallowed`);
  }
  const identity = site.identity as { type?: string } | undefined;
  if (identity?.type !== 'UserAssigned') violations.push('site: no user-assigned managed identity');
  for (const vault of template.resources.filter((resource) => resource.type === 'Microsoft.KeyVault/vaults')) {
    const vaultProps = vault.properties ?? {};
    if (vaultProps.enableRbacAuthorization !== true) violations.push('key vault: not in RBAC mode');
    if (vaultProps.enablePurgeProtection !== true) violations.push('key vault: no purge protection');
    if ('accessPolicies' in vaultProps) violations.push('key vault: access policies (RBAC only)');
  }
  for (const component of template.resources.filter((resource) => resource.type === 'Microsoft.Insights/components')) {
    if ((component.properties ?? {}).DisableLocalAuth !== true) violations.push('application insights: local (instrumentation key) authentication is on');
  }
  return violations;
}

/** Key-bearing text: account keys, SAS signatures, connection strings with a key, passwords. */
const SECRET_TEXT = /AccountKey=|SharedAccessSignature=|[?&]sig=|SharedAccessKey=|password/i;
/** Functions that return keys or secrets (listKeys, listSecrets, listCredentials, …). */
const SECRET_FUNCTIONS = /^list/;

/**
 * No key or secret in outputs or app settings: no list*() call anywhere, no secure outputs, no key-bearing
 * text in what the settings and outputs evaluate to. Application Insights' connection string carries an
 * instrumentation key, an identifier that grants nothing while the component refuses local authentication
 * (checked above): the only such setting let through.
 */
function secretViolations(template: Json & { resources: Resource[] }, parameters: Record<string, ArmValue>): string[] {
  const violations: string[] = [];
  for (const name of functionsCalled(template as ArmValue)) {
    if (SECRET_FUNCTIONS.test(name)) violations.push(`calls ${name}()`);
  }
  const ctx = contextFor(template, parameters);
  for (const [name, output] of Object.entries((template.outputs ?? {}) as Record<string, { type: string; value: ArmValue }>)) {
    if (/^secure/i.test(output.type)) violations.push(`output ${name} is ${output.type}`);
    if (/(account|access|primary|secondary|storage|shared|api)_?keys?$|secret|password|connection_?string|(^|_)sas(_|$)/i.test(name)) violations.push(`output ${name}: its name says it holds a secret`);
    if (functionsCalled(output.value).some((fn) => SECRET_FUNCTIONS.test(fn))) continue; // flagged above; not evaluable
    if (SECRET_TEXT.test(String(evaluate(output.value, ctx)))) violations.push(`output ${name} holds a key or secret`);
  }
  if (template.resources.some((resource) => resource.type === 'Microsoft.Web/sites')) {
    for (const [name, value] of Object.entries(appSettingsOf(template, parameters))) {
      if (SECRET_TEXT.test(value) || (/InstrumentationKey=/.test(value) && name !== 'APPLICATIONINSIGHTS_CONNECTION_STRING')) violations.push(`app setting ${name} holds a key or secret`);
      if (/__(accountKey|sharedAccessSignature|connectionString)$/i.test(name)) violations.push(`app setting ${name} is a key setting`);
    }
  }
  return violations;
}

interface RoleRow {
  template: string;
  role: string;
  scope: string;
}

/** docs/deploy.md's role table: rows whose first cell names a template (`main`/`protect`), role key and scope in backticks. */
function roleTable(markdown: string): RoleRow[] {
  const rows: RoleRow[] = [];
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    if (cells.length < 6) continue;
    const template = /^`(main|protect|rbac-reader)`$/.exec(cells[1])?.[1];
    const role = /`(\w+)`/.exec(cells[2])?.[1];
    const scope = /`([^`]+)`/.exec(cells[3])?.[1];
    if (template !== undefined && role !== undefined && scope !== undefined) rows.push({ template, role, scope });
  }
  return rows;
}

/** An outline's assignment `Type:name:role` (or `resourceGroup::role`) as the table writes it. */
function assignmentOf(assignment: string): { scope: string; role: string } {
  const [type, scopeName, role] = assignment.split(':');
  return { scope: scopeName === '' ? type : `${type}:${scopeName}`, role };
}

/** Each assignment's role must be in the table for its template, at exactly the scope the table gives. */
function roleScopeViolations(name: string, template: Json, rows: RoleRow[]): string[] {
  const violations: string[] = [];
  for (const { scope, role } of outlineOfArm(template).roleAssignments.map(assignmentOf)) {
    const listed = rows.filter((candidate) => candidate.template === name && candidate.role === role);
    if (listed.length === 0) violations.push(`${name}: ${role} is assigned but not in docs/deploy.md's table`);
    else if (!listed.some((row) => row.scope === scope)) violations.push(`${name}: ${role} is assigned at ${scope}, the table says ${listed.map((row) => row.scope).join(' or ')}`);
  }
  return violations;
}

/** Custom roles: assignable in their resource group only, no wildcards, no key listing, no authorization writes. */
function customRoleViolations(template: Json & { resources: Resource[] }): string[] {
  const violations: string[] = [];
  for (const definition of template.resources.filter((resource) => resource.type === 'Microsoft.Authorization/roleDefinitions')) {
    const props = definition.properties as { assignableScopes: string[]; permissions: { actions: string[]; dataActions: string[] }[] };
    const scope = `[${targetScopeOfArm(template)}().id]`;
    if (JSON.stringify(props.assignableScopes) !== JSON.stringify([scope])) violations.push(`${String(definition.name)}: assignable beyond ${scope}`);
    for (const action of props.permissions.flatMap((permission) => [...permission.actions, ...permission.dataActions])) {
      if (action.includes('*')) violations.push(`${String(definition.name)}: wildcard ${action}`);
      if (/listkeys|listAccountSas|listServiceSas|Microsoft\.Authorization\/.*\/(write|delete)/i.test(action)) violations.push(`${String(definition.name)}: ${action}`);
    }
  }
  const broad = /8e3af657-a8ff-443c-a75c-2fe8c4bcb635|b24988ac-6180-42a0-ab88-20f7382dd24c|18d7d88d-d35e-4fb5-a5c3-7773c20a72d9/i; // Owner, Contributor, User Access Administrator
  if (broad.test(JSON.stringify(template))) violations.push('assigns Owner, Contributor or User Access Administrator');
  return violations;
}

// ---- the tests ---------------------------------------------------------------------------------------

describe('infra: Bicep and the ARM JSON kept beside it agree', () => {
  it.each(TEMPLATES)('%s: the .bicep file and the .json file have the same parameters, resources and API versions, role assignments, custom roles and outputs', (name) => {
    const bicep = outlineOfBicep(read(`infra/${name}.bicep`));
    const arm = outlineOfArm(armOf(name));
    expect(bicep.parameters).toEqual(arm.parameters);
    expect(bicep.resources).toEqual(arm.resources);
    expect(bicep.roleAssignments).toEqual(arm.roleAssignments);
    expect(bicep.customRoles).toEqual(arm.customRoles);
    expect(bicep.outputs).toEqual(arm.outputs);
    expect(bicep.resources.length).toBeGreaterThan(0);
  });

  it('the outline sees a drift: a changed API version, a dropped parameter, a widened role scope', () => {
    const source = read('infra/main.bicep');
    const arm = outlineOfArm(armOf('main'));
    expect(outlineOfBicep(source.replace("'Microsoft.KeyVault/vaults@2023-07-01'", "'Microsoft.KeyVault/vaults@2022-07-01'")).resources).not.toEqual(arm.resources);
    expect(outlineOfBicep(source.replace(/^param logRetentionDays int = 30$/m, '')).parameters).not.toEqual(arm.parameters);
    const widened = source.replace(/(resource vaultBlobContributor[^\n]*\n) {2}scope: vaultStorage\n/, '$1');
    expect(outlineOfBicep(widened).roleAssignments).not.toEqual(arm.roleAssignments);
    const protect = read('infra/protect.bicep');
    expect(outlineOfBicep(protect.replace("'Microsoft.Compute/disks/delete'\n", "'Microsoft.Compute/disks/delete'\n          'Microsoft.Compute/snapshots/write'\n")).customRoles).not.toEqual(outlineOfArm(armOf('protect')).customRoles);
  });

  it('every JSON file names its deployment template schema and every resource has a type and an API version', () => {
    for (const name of TEMPLATES) {
      const template = armOf(name);
      expect(template.$schema).toBe(
        name === 'rbac-reader' ? 'https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#' : 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
      );
      expect(template.contentVersion).toBe('1.0.0.0');
      for (const resource of template.resources) {
        expect(resource.type).toMatch(/^Microsoft\.[A-Za-z]+\/[A-Za-z/]+$/);
        expect(resource.apiVersion).toMatch(/^\d{4}-\d{2}-\d{2}(-preview)?$/);
        expect(typeof resource.name).toBe('string');
      }
      for (const [parameter, declaration] of Object.entries(template.parameters as Record<string, { type: string }>)) {
        expect([parameter, ['string', 'int', 'bool', 'array', 'object', 'securestring', 'secureObject'].includes(declaration.type)]).toEqual([parameter, true]);
      }
    }
  });

  it.each(['kluis', 'abcdefghijk'])('resource names from appName %s are valid Azure names (storage accounts, Key Vault, Function App)', (appName) => {
    const template = armOf('main');
    const ctx = contextFor(template, { ...MAIN_PARAMETERS, appName });
    const name = (variable: string) => String(evaluate(`[variables('${variable}')]`, ctx));
    expect(name('hostStorageName')).toMatch(/^[a-z0-9]{3,24}$/);
    expect(name('vaultStorageName')).toMatch(/^[a-z0-9]{3,24}$/);
    expect(name('hostStorageName')).not.toBe(name('vaultStorageName'));
    expect(name('keyVaultName')).toMatch(/^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/);
    expect(name('keyVaultName')).not.toMatch(/--/);
    expect(name('functionAppName')).toMatch(/^[a-z0-9][a-z0-9-]{0,58}[a-z0-9]$/);
  });

  it('every expression in every JSON file evaluates (no unknown function, variable or parameter)', () => {
    expect(() => evaluate(armOf('main') as unknown as ArmValue, contextFor(armOf('main'), MAIN_PARAMETERS))).not.toThrow();
    const protect = armOf('protect');
    const ctx = { ...contextFor(protect, { principalId: PRINCIPAL_ID, storageAccountNames: ['vmdisks01'], keyVaultNames: ['ade-kv'] }), copyIndex: 0 };
    expect(() => evaluate(protect as unknown as ArmValue, ctx)).not.toThrow();
    expect(() => evaluate(armOf('rbac-reader') as unknown as ArmValue, contextFor(armOf('rbac-reader'), PARAMETERS_OF['rbac-reader']))).not.toThrow();
  });
});

describe('infra: security rules', () => {
  it('storage accounts: shared key access off, HTTPS only, TLS 1.2, no public blob access; containers private', () => {
    expect(storageViolations(armOf('main'))).toEqual([]);
    expect(armOf('main').resources.filter((resource) => resource.type === 'Microsoft.Storage/storageAccounts')).toHaveLength(2);
    const broken = clone(armOf('main'));
    const account = broken.resources.find((resource) => resource.type === 'Microsoft.Storage/storageAccounts') as Resource;
    (account.properties as Json).allowSharedKeyAccess = true;
    (account.properties as Json).minimumTlsVersion = 'TLS1_0';
    delete (account.properties as Json).supportsHttpsTrafficOnly;
    expect(storageViolations(broken)).toHaveLength(3);
  });

  it('the vault account keeps deleted blobs and versions (soft delete and versioning on)', () => {
    const services = armOf('main').resources.filter((resource) => resource.type === 'Microsoft.Storage/storageAccounts/blobServices' && String(resource.name).includes('vaultStorageName'));
    expect(services).toHaveLength(1);
    const props = services[0].properties as { isVersioningEnabled: boolean; deleteRetentionPolicy: { enabled: boolean }; containerDeleteRetentionPolicy: { enabled: boolean } };
    expect([props.isVersioningEnabled, props.deleteRetentionPolicy.enabled, props.containerDeleteRetentionPolicy.enabled]).toEqual([true, true, true]);
  });

  it('the Function App: HTTPS only, TLS 1.2, no FTP or basic-auth publishing, a user-assigned identity; Key Vault in RBAC mode with purge protection; telemetry by Entra ID only', () => {
    expect(siteAndVaultViolations(armOf('main'))).toEqual([]);
    const broken = clone(armOf('main'));
    const site = siteOf(broken);
    (site.properties as Json).httpsOnly = false;
    ((site.properties as Json).siteConfig as Json).minTlsVersion = '1.0';
    broken.resources = broken.resources.filter((resource) => !(resource.type === 'Microsoft.Web/sites/basicPublishingCredentialsPolicies' && String(resource.name).includes("'scm'")));
    const vault = broken.resources.find((resource) => resource.type === 'Microsoft.KeyVault/vaults') as Resource;
    (vault.properties as Json).enablePurgeProtection = false;
    expect(siteAndVaultViolations(broken)).toHaveLength(4);
  });

  it('Flex Consumption on Node 20, deploying from a blob container with the managed identity', () => {
    const template = armOf('main');
    const plan = template.resources.find((resource) => resource.type === 'Microsoft.Web/serverfarms') as Resource;
    expect(plan.sku).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
    const config = (siteOf(template).properties as Json).functionAppConfig as { runtime: unknown; deployment: { storage: { authentication: { type: string } } } };
    expect(config.runtime).toEqual({ name: 'node', version: '20' });
    expect(config.deployment.storage.authentication.type).toBe('UserAssignedIdentity');
    // Flex Consumption refuses these two settings (it takes the runtime from functionAppConfig).
    expect(Object.keys(appSettingsOf(template))).not.toEqual(expect.arrayContaining(['FUNCTIONS_WORKER_RUNTIME']));
    expect(Object.keys(appSettingsOf(template))).not.toEqual(expect.arrayContaining(['FUNCTIONS_EXTENSION_VERSION']));
  });

  it.each(TEMPLATES)('%s: no key or secret in outputs or app settings, no list*() call', (name) => {
    expect(secretViolations(armOf(name), PARAMETERS_OF[name])).toEqual([]);
  });

  it('the secret rule catches a listKeys() output, a connection string with a key, and a key-named output', () => {
    const broken = clone(armOf('main'));
    (broken.outputs as Json).STORAGE_KEY = { type: 'string', value: "[listKeys(resourceId('Microsoft.Storage/storageAccounts', variables('hostStorageName')), '2023-05-01').keys[0].value]" };
    const settings = ((siteOf(broken).properties as Json).siteConfig as { appSettings: { name: string; value: string }[] }).appSettings;
    settings.push({ name: 'KLUIS_SOURCE_STORAGE', value: 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net' });
    const violations = secretViolations(broken, MAIN_PARAMETERS);
    expect(violations).toEqual(expect.arrayContaining(['calls listkeys()', 'output STORAGE_KEY: its name says it holds a secret', 'app setting KLUIS_SOURCE_STORAGE holds a key or secret']));
  });

  it.each(TEMPLATES)('%s: custom roles are assignable at their deployment scope only, with no wildcard, key listing or authorization write; no Owner/Contributor', (name) => {
    expect(customRoleViolations(armOf(name))).toEqual([]);
  });

  it('the custom role rule catches a wildcard, listKeys and a subscription-wide assignable scope', () => {
    const broken = clone(armOf('protect'));
    const definition = broken.resources.find((resource) => resource.type === 'Microsoft.Authorization/roleDefinitions') as Resource;
    const props = definition.properties as { assignableScopes: string[]; permissions: { actions: string[] }[] };
    props.assignableScopes = ['[subscription().id]'];
    props.permissions[0].actions.push('Microsoft.Compute/*', 'Microsoft.Storage/storageAccounts/listkeys/action');
    expect(customRoleViolations(broken)).toHaveLength(3);
  });
});

describe('infra: role assignments match docs/deploy.md', () => {
  const rows = roleTable(read('docs/deploy.md'));

  it.each(TEMPLATES)('%s: every role assignment is in the table, at the scope the table gives', (name) => {
    expect(roleScopeViolations(name, armOf(name), rows)).toEqual([]);
  });

  it('every row of the table is assigned by its template (the table lists nothing that is not deployed)', () => {
    const assigned = TEMPLATES.flatMap((name) => outlineOfArm(armOf(name)).roleAssignments.map(assignmentOf).map(({ scope, role }) => `${name} ${role} ${scope}`));
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const row of rows) expect(assigned).toContain(`${row.template} ${row.role} ${row.scope}`);
  });

  it('every action of a custom role is in the table of operations, and every listed operation is in a role', () => {
    const listed = new Set([...read('docs/deploy.md').matchAll(/^\| `(Microsoft\.[^`]+)` \|/gm)].map((match) => match[1]));
    const granted = new Set(TEMPLATES.flatMap((name) => Object.values(outlineOfArm(armOf(name)).customRoles).flatMap((role) => [...role.actions, ...role.dataActions])));
    expect([...granted].filter((action) => !listed.has(action))).toEqual([]);
    expect([...listed].filter((action) => !granted.has(action))).toEqual([]);
  });

  it('the scope rule catches an assignment moved from a storage account to the resource group', () => {
    const broken = clone(armOf('main'));
    const assignment = broken.resources.find((resource) => resource.type === 'Microsoft.Authorization/roleAssignments') as Resource;
    delete assignment.scope;
    expect(roleScopeViolations('main', broken, rows)).toHaveLength(1);
  });
});

describe('infra: app settings are what lib/config reads', () => {
  /** Settings the Functions host and its Application Insights integration read, not Kluis. */
  const HOST_SETTINGS = ['APPLICATIONINSIGHTS_CONNECTION_STRING', 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', 'MALLOC_MMAP_THRESHOLD_' /* glibc (bin/malloc-tuning.js) */];
  const isIdentitySetting = (name: string) => IDENTITY_CONNECTION_SETTINGS.some((setting) => name.toLowerCase().startsWith(`${setting.toLowerCase()}__`));

  it('every setting the template sets is one lib/config reads (or the Functions host does)', () => {
    const unknown = Object.keys(appSettingsOf(armOf('main'))).filter((name) => !SETTING_NAMES.includes(name) && !isIdentitySetting(name) && !HOST_SETTINGS.includes(name));
    expect(unknown).toEqual([]);
    expect(SETTING_NAMES).toContain('KLUIS_MODE');
    expect(SETTING_NAMES).not.toContain('KLUIS_NOT_A_SETTING');
  });

  it('lib/config starts in cloud mode with the settings alone: identity-based storage, the managed identity, Entra ID token validation', () => {
    const settings = appSettingsOf(armOf('main'));
    const config = loadConfig(settings);
    expect(config.mode).toBe('cloud');
    const hostAccount = settings.AzureWebJobsStorage__accountName;
    expect(config.webJobsStorage).toMatchObject({ kind: 'identity', accountName: hostAccount, credential: 'managedidentity', clientId: CLIENT_ID, blobServiceUri: `https://${hostAccount}.blob.core.windows.net` });
    expect(config.vaultStorage).toMatchObject({ kind: 'identity', accountName: settings.KLUIS_VAULT_STORAGE__accountName, credential: 'managedidentity', clientId: CLIENT_ID });
    expect(config.sourceStorage).toMatchObject({ kind: 'identity', accountName: settings.KLUIS_VAULT_STORAGE__accountName });
    expect(config.auth.issuers).toEqual([`https://sts.windows.net/${TENANT_ID}/`, `https://login.microsoftonline.com/${TENANT_ID}/v2.0`]);
    expect(config.auth.audiences).toContain('api://kluis-backup');
    expect([config.inventory, config.access.source, config.keyVault.credential, config.compute.credential]).toEqual(['arm', 'azure', 'default', 'default']);
    expect(config.vaultContainer).toBe('kluis-vault');
    expect(hostAccount).toMatch(/^[a-z0-9]{3,24}$/);
    expect(settings.KLUIS_VAULT_STORAGE__accountName).toMatch(/^[a-z0-9]{3,24}$/);
  });

  it('role server: KLUIS_ROLE=server, its data folder, and the passphrase as a Key Vault reference resolved with the identity, never a plain value; role vm sets neither', () => {
    const settings = appSettingsOf(armOf('main'), { ...MAIN_PARAMETERS, role: 'server' });
    const keyVaultName = String(evaluate("[variables('keyVaultName')]", contextFor(armOf('main'), MAIN_PARAMETERS)));
    expect(settings.KLUIS_SERVER_PASSPHRASE).toBe(`@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=kluis-server-passphrase)`);
    const config = loadConfig(settings);
    expect([config.role, config.backupServer.dataDir]).toEqual(['server', '/mounts/kluis-server']);
    expect(String(evaluate((siteOf(armOf('main')).properties as Json).keyVaultReferenceIdentity as ArmValue, contextFor(armOf('main'), MAIN_PARAMETERS)))).toMatch(/userAssignedIdentities\/kluis-id-/);
    const vm = appSettingsOf(armOf('main'));
    expect([vm.KLUIS_ROLE, vm.KLUIS_SERVER_DATA, vm.KLUIS_SERVER_PASSPHRASE]).toEqual(['vm', '', '']);
    expect(loadConfig(vm).role).toBe('vm');
    expect((armOf('main').parameters as Record<string, { allowedValues?: string[] }>).role.allowedValues).toEqual(['vm', 'server']);
  });

  it('a page-blob source account named by parameter becomes KLUIS_SOURCE_STORAGE', () => {
    const config = loadConfig(appSettingsOf(armOf('main'), { ...MAIN_PARAMETERS, sourceStorageAccountName: 'vmdisks01' }));
    expect(config.sourceStorage).toMatchObject({ kind: 'identity', accountName: 'vmdisks01' });
  });

  it('every setting cloud mode requires is set: dropping any one of them is refused by name', () => {
    const settings = appSettingsOf(armOf('main'));
    for (const required of ['AZURE_CLIENT_ID', 'KLUIS_AUTH_TENANT_ID', 'KLUIS_AUTH_AUDIENCES', 'AzureWebJobsStorage__accountName', 'KLUIS_VAULT_STORAGE__credential']) {
      const rest = Object.fromEntries(Object.entries(settings).filter(([name]) => name !== required));
      expect(() => loadConfig(rest)).toThrow(expect.objectContaining({ code: 'KluisInvalidConfiguration' }) as Error);
    }
  });
});
