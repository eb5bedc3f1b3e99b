/**
 * The Azure CLI (Debian's azure-cli 2.45, unchanged) against Kluis, end to end: the cloud registered as
 * `kluis az-env` registers it (and once with only the resource-manager endpoint, the rest read from
 * `/metadata/endpoints`), `az login --identity` through the local identity endpoint, then the backup
 * journey — vault, backup properties, policies, containers, items, protection, backup now, jobs,
 * recovery points, restore of disks, and stopping protection with and without deleting the data. Every
 * az call's exit code and JSON output are asserted.
 *
 * Debian's python3-azure lacks Compute api-version 2022-11-01, so its `az vm show` and
 * `az backup protection enable-for-vm` fail before sending anything. The suite checks exactly that, then
 * sends what Microsoft's own build of az sends instead: the VM GET with `az rest`, then the calls
 * enable-for-vm makes (vault, policy, protectable items, container refresh, the protected-item PUT) —
 * with `az rest` at the api-version this az's backup client uses — and follows the ConfigureBackup job
 * with `az backup job wait`.
 *
 * The journey runs as a user-assigned managed identity with exactly the roles it needs (issue 11): the
 * local administrator (`az login --identity`, Owner) creates the resource groups and assigns the roles as
 * `az role assignment create` does (Debian's `az role` fails before sending: `az rest` sends the same) — Backup Contributor on the vaults' group, Virtual Machine Contributor on
 * the VM's, Storage Account Contributor on the restore target's — then az signs in as that identity
 * (`az login --identity -u <client id>`), and is refused what its roles do not allow.
 *
 * `npm run test:az` runs it (CI installs az first); `npm test` leaves it out. Without az it fails, naming the fix.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AZ_CLOUD_NAME, azCloudRegisterArgs, type AzEnvInfo } from '../../emulator/az-env';
import { subscriptionEnv } from '../support/arm-tenancy';
import { azCli, azVersion, type AzCli, type AzResult } from '../support/az-cli';
import { blobService, useAzurite } from '../support/azurite';
import { http, REPO_ROOT, startHostProcess, type HostProcess } from '../support/host-process';
import { createManagedIdentity } from '../support/sign-in';
import { isolatedAppSettings } from '../support/vault-api';

const SUB = '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d';
const TENANT = '00000000-0000-0000-0000-00000000c0de';
const RG = 'rg-backup';
const VM_RG = 'rg-vms';
const VAULT = 'vault-az';
const VM = 'web01';
const POLICY = 'Daily10';
const STORAGE_RG = 'kluis-storage';
const MIB = 1024 * 1024;
/** The api-version Debian's az 2.45 backup client (azure-mgmt-recoveryservicesbackup) sends. */
const BACKUP_API = '2022-09-01-preview';
/** The journey's user-assigned managed identity (its object id; the directory gives it a client id). */
const JOURNEY_IDENTITY = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

interface ArmResource<P = Record<string, unknown>> {
  id: string;
  name: string;
  type: string;
  location?: string;
  properties: P;
}

interface JobProperties {
  operation: string;
  status: string;
  entityFriendlyName: string;
  extendedInfo?: { propertyBag?: Record<string, string> };
}

/** The call succeeded: exit code 0 (stderr shown otherwise). */
function ok<T>(result: AzResult<T>): T {
  if (result.code !== 0) throw new Error(`az ${result.args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  return result.json;
}

describe('the Azure CLI (az 2.45) against Kluis', () => {
  const azurite = useAzurite();
  let host: HostProcess;
  let az: AzCli;
  let info: AzEnvInfo;
  let work: string;
  const vaultArgs = ['-g', RG, '-v', VAULT];
  const itemArgs = [...vaultArgs, '-c', VM, '-i', VM, '--backup-management-type', 'AzureIaasVM'];
  const arm = (armPath: string) => `${info.armUrl}${armPath}`;
  const vaultPath = `subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.RecoveryServices/vaults/${VAULT}`;
  const vmId = `/subscriptions/${SUB}/resourceGroups/${VM_RG}/providers/Microsoft.Compute/virtualMachines/${VM}`;

  beforeAll(async () => {
    await azVersion();
    work = mkdtempSync(path.join(tmpdir(), 'kluis-az-'));
    host = await startHostProcess({
      app: REPO_ROOT,
      storage: azurite().connectionString,
      hubName: `Az${Date.now().toString(36)}`,
      env: { ...isolatedAppSettings(`a${Date.now().toString(36)}`), ...subscriptionEnv(SUB) },
      extraArgs: ['--https-port', '0', '--tls-dir', path.join(work, 'tls'), '--identity-dir', path.join(work, 'identity')],
      startupTimeoutInMs: 60_000,
    });
    const identity = host.identity;
    if (identity === undefined || host.httpsOrigin === undefined) throw new Error('the host started without HTTPS or an identity endpoint');
    const { msiSecret } = JSON.parse(readFileSync(path.join(work, 'identity', 'identity.json'), 'utf8')) as { msiSecret: string };
    info = { armUrl: `${host.httpsOrigin}/`, caFile: identity.caFile, msiEndpoint: identity.msiEndpoint, msiSecret, loginEndpoint: identity.authority, configDir: path.join(work, 'az') };
    az = azCli(info);
    const vm = await http(`${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/${VM_RG}/virtualMachines/${VM}`, {
      method: 'PUT',
      body: { osType: 'Linux', osDisk: { sizeBytes: 4 * MIB }, dataDisks: [{ lun: 0, sizeBytes: 2 * MIB }], initialData: { percent: 10, seed: VM } },
    });
    if (vm.status !== 201) throw new Error(`fabric VM: ${vm.status} ${vm.text}`);
  }, 180_000);

  afterAll(async () => {
    await host?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('registers the Kluis cloud and signs in with the local managed identity', async () => {
    expect((await az.run(azCloudRegisterArgs(info), { output: false })).code).toBe(0);
    expect((await az.run(['cloud', 'set', '-n', AZ_CLOUD_NAME], { output: false })).code).toBe(0);
    const accounts = ok(await az.run<Array<Record<string, unknown>>>(['login', '--identity']));
    expect(accounts).toEqual([
      expect.objectContaining({ id: SUB, tenantId: TENANT, environmentName: AZ_CLOUD_NAME, isDefault: true, state: 'Enabled', user: { assignedIdentityInfo: 'MSI', name: 'systemAssignedIdentity', type: 'servicePrincipal' } }),
    ]);
    expect(ok(await az.run<{ id: string }>(['account', 'show'])).id).toBe(SUB);

    // With only the resource-manager endpoint, az reads the rest from Kluis's /metadata/endpoints.
    expect((await az.run(['cloud', 'register', '-n', 'KluisFromMetadata', '--endpoint-resource-manager', info.armUrl], { output: false })).code).toBe(0);
    const endpoints = ok(await az.run<{ endpoints: Record<string, string> }>(['cloud', 'show', '-n', 'KluisFromMetadata'])).endpoints;
    expect(endpoints).toMatchObject({ resourceManager: info.armUrl, activeDirectory: info.loginEndpoint, activeDirectoryResourceId: 'https://management.core.windows.net/' });
  }, 120_000);

  it('as the administrator: creates the resource groups and gives the journey identity exactly its roles', async () => {
    const group = ok(await az.run<ArmResource<{ provisioningState: string }>>(['group', 'create', '-n', RG, '-l', 'westeurope']));
    expect(group).toMatchObject({ name: RG, location: 'westeurope', properties: { provisioningState: 'Succeeded' } });
    for (const name of [VM_RG, STORAGE_RG]) ok(await az.run(['group', 'create', '-n', name, '-l', 'westeurope']));
    const journey = await createManagedIdentity(host.identity!, 'az-journey', JOURNEY_IDENTITY, await host.accessToken());
    const grants: Array<[string, string]> = [
      ['Backup Contributor', RG],
      ['Virtual Machine Contributor', VM_RG],
      ['Storage Account Contributor', STORAGE_RG],
    ];
    // Debian's az 2.45 `az role …` fails inside the CLI before sending anything (its SDK lacks `.config`);
    // send what Microsoft's az sends for `az role assignment create --assignee-object-id … --role … --scope …`.
    const debian = await az.run(['role', 'assignment', 'create', '--assignee-object-id', JOURNEY_IDENTITY, '--assignee-principal-type', 'ServicePrincipal', '--role', 'Reader', '--scope', `/subscriptions/${SUB}`]);
    expect([debian.code, debian.stderr]).toEqual([1, expect.stringContaining("object has no attribute 'config'")]);
    for (const [role, group] of grants) {
      const scope = `subscriptions/${SUB}/resourceGroups/${group}`;
      const definitions = ok(
        await az.run<{ value: Array<{ id: string }> }>(['rest', '--method', 'get', '--url', arm(`${scope}/providers/Microsoft.Authorization/roleDefinitions?$filter=${encodeURIComponent(`roleName eq '${role}'`)}&api-version=2022-04-01`)]),
      );
      expect(definitions.value).toHaveLength(1);
      const body = { properties: { roleDefinitionId: definitions.value[0].id, principalId: JOURNEY_IDENTITY, principalType: 'ServicePrincipal' } };
      const assigned = ok(
        await az.run<{ properties: { principalId: string; scope: string } }>([
          'rest', '--method', 'put', '--url', arm(`${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`), '--body', JSON.stringify(body),
        ]),
      );
      expect(assigned.properties).toMatchObject({ principalId: JOURNEY_IDENTITY, scope: `/${scope}` });
    }
    const listed = ok(
      await az.run<{ value: Array<{ properties: { roleDefinitionId: string } }> }>(['rest', '--method', 'get', '--url', arm(`subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments?$filter=${encodeURIComponent(`principalId eq '${JOURNEY_IDENTITY}'`)}&api-version=2022-04-01`)]),
    );
    expect(listed.value).toHaveLength(grants.length);

    const accounts = ok(await az.run<Array<{ user: Record<string, string> }>>(['login', '--identity', '-u', journey.appId]));
    expect(accounts[0].user).toMatchObject({ type: 'servicePrincipal', assignedIdentityInfo: `MSIClient-${journey.appId}` });
    // What its roles do not allow: making a resource group.
    const refused = await az.run(['group', 'create', '-n', 'rg-not-mine', '-l', 'westeurope']);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('AuthorizationFailed')]);
  }, 180_000);

  it('creates the vault, shows and lists it', async () => {
    const created = ok(await az.run<ArmResource<{ provisioningState: string; monitoringSettings: unknown }>>(['backup', 'vault', 'create', '-g', RG, '-n', VAULT, '-l', 'westeurope']));
    expect(created).toMatchObject({ name: VAULT, type: 'Microsoft.RecoveryServices/vaults', location: 'westeurope', properties: { provisioningState: 'Succeeded' } });
    expect(ok(await az.run<ArmResource>(['backup', 'vault', 'show', '-g', RG, '-n', VAULT])).id).toBe(`/${vaultPath}`);
    expect(ok(await az.run<ArmResource[]>(['backup', 'vault', 'list', '-g', RG])).map((vault) => vault.name)).toEqual([VAULT]);
  }, 120_000);

  it('shows and sets the backup properties (storage redundancy, soft delete)', async () => {
    const [storage, config] = ok(await az.run<Array<ArmResource<Record<string, unknown>>>>(['backup', 'vault', 'backup-properties', 'show', '-g', RG, '-n', VAULT]));
    expect(storage.properties).toMatchObject({ storageModelType: 'GeoRedundant', storageTypeState: 'Unlocked' });
    expect(config.properties).toMatchObject({ softDeleteFeatureState: 'Enabled' });
    const redundancy = ok(await az.run<ArmResource<Record<string, unknown>>>(['backup', 'vault', 'backup-properties', 'set', '-g', RG, '-n', VAULT, '--backup-storage-redundancy', 'LocallyRedundant']));
    expect(redundancy.properties).toMatchObject({ storageModelType: 'LocallyRedundant' });
    // Sets soft delete through the vault config, after checking the vault's Resource Guard proxies.
    const softDelete = ok(await az.run<ArmResource<Record<string, unknown>>>(['backup', 'vault', 'backup-properties', 'set', '-g', RG, '-n', VAULT, '--soft-delete-feature-state', 'Enable']));
    expect(softDelete.properties).toMatchObject({ softDeleteFeatureState: 'Enabled' });
  }, 120_000);

  it('lists, shows, creates and changes policies', async () => {
    expect(ok(await az.run<ArmResource[]>(['backup', 'policy', 'list', ...vaultArgs])).map((policy) => policy.name)).toEqual(['DefaultPolicy']);
    const defaults = ok(await az.run<ArmResource<{ backupManagementType: string; retentionPolicy: { dailySchedule: { retentionDuration: { count: number } } } }>>(['backup', 'policy', 'show', ...vaultArgs, '-n', 'DefaultPolicy']));
    expect(defaults.properties.backupManagementType).toBe('AzureIaasVM');
    const template = ok(await az.run<ArmResource<{ retentionPolicy: { dailySchedule: { retentionDuration: { count: number } } } }>>(['backup', 'policy', 'get-default-for-vm', ...vaultArgs]));
    const write = (count: number) => {
      const file = path.join(work, `policy-${count}.json`);
      const policy = structuredClone(template);
      policy.name = POLICY;
      policy.properties.retentionPolicy.dailySchedule.retentionDuration.count = count;
      writeFileSync(file, JSON.stringify(policy));
      return `@${file}`;
    };
    const created = ok(await az.run<typeof template>(['backup', 'policy', 'create', ...vaultArgs, '-n', POLICY, '--policy', write(7), '--backup-management-type', 'AzureIaasVM']));
    expect([created.name, created.properties.retentionPolicy.dailySchedule.retentionDuration.count]).toEqual([POLICY, 7]);
    const changed = ok(await az.run<typeof template>(['backup', 'policy', 'set', ...vaultArgs, '-n', POLICY, '--policy', write(10)]));
    expect(changed.properties.retentionPolicy.dailySchedule.retentionDuration.count).toBe(10);
    expect(ok(await az.run<typeof template>(['backup', 'policy', 'show', ...vaultArgs, '-n', POLICY])).properties.retentionPolicy.dailySchedule.retentionDuration.count).toBe(10);
  }, 120_000);

  it("protects the VM as Microsoft's az does (Debian's enable-for-vm fails before sending anything)", async () => {
    const debian = await az.run(['backup', 'protection', 'enable-for-vm', ...vaultArgs, '--vm', vmId, '--policy-name', POLICY]);
    expect(debian.code).not.toBe(0);
    expect(debian.stderr).toContain("API version 2022-11-01 does not have operation group 'virtual_machines'");
    expect(ok(await az.run<ArmResource[]>(['backup', 'container', 'list', ...vaultArgs, '--backup-management-type', 'AzureIaasVM']))).toEqual([]);

    // What enable-for-vm sends: the VM (Compute 2022-11-01), the vault, the policy …
    const vm = ok(await az.run<ArmResource & { location: string }>(['rest', '--method', 'get', '--url', arm(`${vmId.slice(1)}?api-version=2022-11-01`)]));
    expect(vm).toMatchObject({ id: vmId, type: 'Microsoft.Compute/virtualMachines', location: 'westeurope' });
    const vault = ok(await az.run<ArmResource & { location: string }>(['backup', 'vault', 'show', '-g', RG, '-n', VAULT]));
    expect(vault.location).toBe(vm.location);
    const policy = ok(await az.run<ArmResource<{ backupManagementType: string; protectedItemsCount: number }>>(['backup', 'policy', 'show', ...vaultArgs, '-n', POLICY]));
    expect(policy.properties).toMatchObject({ backupManagementType: 'AzureIaasVM', protectedItemsCount: 0 });
    // … container refresh, then the protectable items …
    const protectableUrl = arm(`${vaultPath}/backupProtectableItems?api-version=${BACKUP_API}&$filter=backupManagementType eq 'AzureIaasVM'`);
    expect((await az.run(['rest', '--method', 'post', '--url', arm(`${vaultPath}/backupFabrics/Azure/refreshContainers?api-version=${BACKUP_API}`)], { output: false })).code).toBe(0);
    const protectable = ok(await az.run<{ value: Array<ArmResource<{ virtualMachineId: string; friendlyName: string }>> }>(['rest', '--method', 'get', '--url', protectableUrl]));
    const candidate = protectable.value.find((entry) => entry.properties.virtualMachineId.toLowerCase() === vmId.toLowerCase());
    expect(candidate?.properties.friendlyName).toBe(VM);
    // … and the protected item PUT (202), whose ConfigureBackup job az then follows.
    const container = `IaasVMContainer;iaasvmcontainerv2;${VM_RG};${VM}`;
    const itemPath = `${vaultPath}/backupFabrics/Azure/protectionContainers/${container}/protectedItems/VM;iaasvmcontainerv2;${VM_RG};${VM}`;
    const body = { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', policyId: policy.id, sourceResourceId: candidate?.properties.virtualMachineId } };
    expect((await az.run(['rest', '--method', 'put', '--url', arm(`${itemPath}?api-version=${BACKUP_API}`), '--body', JSON.stringify(body)], { output: false })).code).toBe(0);
    const configure = ok(await az.run<Array<ArmResource<JobProperties>>>(['backup', 'job', 'list', ...vaultArgs, '--operation', 'ConfigureBackup']));
    expect(configure).toHaveLength(1);
    const done = ok(await az.run<ArmResource<JobProperties>>(['backup', 'job', 'wait', ...vaultArgs, '-n', configure[0].name, '--timeout', '120']));
    expect(done.properties).toMatchObject({ operation: 'ConfigureBackup', status: 'Completed', entityFriendlyName: VM });
  }, 240_000);

  it('lists the container and the item, and shows the item by friendly names', async () => {
    const containers = ok(await az.run<Array<ArmResource<Record<string, unknown>>>>(['backup', 'container', 'list', ...vaultArgs, '--backup-management-type', 'AzureIaasVM']));
    expect(containers.map((container) => [container.name, container.properties.friendlyName, container.properties.registrationStatus])).toEqual([
      [`IaasVMContainer;iaasvmcontainerv2;${VM_RG};${VM}`, VM, 'Registered'],
    ]);
    const items = ok(await az.run<Array<ArmResource<Record<string, unknown>>>>(['backup', 'item', 'list', ...vaultArgs]));
    expect(items.map((item) => [item.name, item.properties.protectionState, item.properties.policyName])).toEqual([[`VM;iaasvmcontainerv2;${VM_RG};${VM}`, 'IRPending', POLICY]]);
    const shown = ok(await az.run<ArmResource<Record<string, unknown>>>(['backup', 'item', 'show', ...vaultArgs, '-c', VM, '-n', VM, '--backup-management-type', 'AzureIaasVM']));
    expect(shown.properties).toMatchObject({ friendlyName: VM, virtualMachineId: vmId, protectionState: 'IRPending' });
  }, 120_000);

  let recoveryPoint: string;

  it('backs up now, shows, waits for and lists the job, then lists and shows the recovery point', async () => {
    const job = ok(await az.run<ArmResource<JobProperties>>(['backup', 'protection', 'backup-now', ...itemArgs, '--retain-until', '31-12-2030']));
    expect(job.properties).toMatchObject({ operation: 'Backup', entityFriendlyName: VM });
    expect(ok(await az.run<ArmResource<JobProperties>>(['backup', 'job', 'show', ...vaultArgs, '-n', job.name])).properties.operation).toBe('Backup');
    const done = ok(await az.run<ArmResource<JobProperties>>(['backup', 'job', 'wait', ...vaultArgs, '-n', job.name, '--timeout', '240'], { timeoutInMs: 300_000 }));
    expect(done.properties.status).toBe('Completed');
    const completed = ok(await az.run<Array<ArmResource<JobProperties>>>(['backup', 'job', 'list', ...vaultArgs, '--status', 'Completed', '--operation', 'Backup']));
    expect(completed.map((listed) => listed.name)).toEqual([job.name]);

    const points = ok(await az.run<Array<ArmResource<{ recoveryPointType: string }>>>(['backup', 'recoverypoint', 'list', ...itemArgs]));
    expect(points).toHaveLength(1);
    expect(points[0].properties.recoveryPointType).toBe('FileSystemConsistent');
    recoveryPoint = points[0].name;
    const point = ok(await az.run<ArmResource<{ recoveryPointTierDetails: Array<{ type: string; status: string }> }>>(['backup', 'recoverypoint', 'show', ...itemArgs, '-n', recoveryPoint]));
    expect(point.properties.recoveryPointTierDetails).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'InstantRP', status: 'Valid' }), expect.objectContaining({ type: 'HardenedRP', status: 'Valid' })]),
    );
    expect(ok(await az.run<ArmResource<Record<string, unknown>>>(['backup', 'item', 'show', ...vaultArgs, '-c', VM, '-n', VM, '--backup-management-type', 'AzureIaasVM'])).properties.protectionState).toBe('Protected');
  }, 360_000);

  it('restores the disks into the storage account of the storage resource group', async () => {
    const job = ok(await az.run<ArmResource<JobProperties>>([
      'backup', 'restore', 'restore-disks', ...vaultArgs, '-c', VM, '-i', VM, '-r', recoveryPoint,
      '--storage-account', 'devstoreaccount1', '--storage-account-resource-group', STORAGE_RG,
    ]));
    expect(job.properties).toMatchObject({ operation: 'Restore', entityFriendlyName: VM });
    const done = ok(await az.run<ArmResource<JobProperties>>(['backup', 'job', 'wait', ...vaultArgs, '-n', job.name, '--timeout', '240'], { timeoutInMs: 300_000 }));
    expect(done.properties.status).toBe('Completed');
    const bag = done.properties.extendedInfo?.propertyBag ?? {};
    expect(bag['Target Storage Account Name']).toBe('devstoreaccount1');
    const config = await blobService(azurite().connectionString).getContainerClient(bag['Config Blob Container Name']).getBlobClient(bag['Config Blob Name']).downloadToBuffer();
    expect(JSON.parse(config.toString())).toMatchObject({ recoveryPointId: recoveryPoint });
  }, 360_000);

  it('stops protection keeping the data, then deleting it (soft delete)', async () => {
    const retain = ok(await az.run<ArmResource<JobProperties>>(['backup', 'protection', 'disable', ...itemArgs, '--yes']));
    expect(retain.properties).toMatchObject({ operation: 'DisableBackup', status: 'Completed' });
    const stopped = ok(await az.run<ArmResource<Record<string, unknown>>>(['backup', 'item', 'show', ...vaultArgs, '-c', VM, '-n', VM, '--backup-management-type', 'AzureIaasVM']));
    expect(stopped.properties).toMatchObject({ protectionState: 'ProtectionStopped' });
    expect(ok(await az.run<unknown[]>(['backup', 'recoverypoint', 'list', ...itemArgs]))).toHaveLength(1);

    const remove = ok(await az.run<ArmResource<JobProperties>>(['backup', 'protection', 'disable', ...itemArgs, '--delete-backup-data', 'true', '--yes']));
    expect(remove.properties).toMatchObject({ operation: 'DeleteBackupData', status: 'Completed' });
    const softDeleted = ok(await az.run<ArmResource<Record<string, unknown>>>(['backup', 'item', 'show', ...vaultArgs, '-c', VM, '-n', VM, '--backup-management-type', 'AzureIaasVM']));
    expect(softDeleted.properties).toMatchObject({ isScheduledForDeferredDelete: true });
  }, 240_000);
});
