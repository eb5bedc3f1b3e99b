/**
 * The pure shapes of the generic ARM resources: storage accounts read from connection strings (never
 * their keys), a VM as Microsoft.Compute shows it, subscriptions and tenants by api-version, providers.
 */
import { DEVELOPMENT_STORAGE_CONNECTION_STRING } from '../../lib/config';
import { findProvider, providerResource } from '../../lib/domain/arm/provider-resource';
import { apiVersionAtLeast, subscriptionResource, tenantResource } from '../../lib/domain/arm/tenancy-resource';
import { virtualMachineResource, vmUniqueId } from '../../lib/domain/arm/virtual-machine-resource';
import { knownStorageAccounts, storageAccountOfConnectionString } from '../../lib/domain/storage-account';
import type { VirtualMachine } from '../../lib/domain/virtual-machine';

const SUB = '11111111-1111-4111-8111-111111111111';

describe('storage accounts from connection strings', () => {
  it('reads Azurite, Azure and SAS connection strings without keeping a key', () => {
    expect(storageAccountOfConnectionString(DEVELOPMENT_STORAGE_CONNECTION_STRING)).toEqual({
      name: 'devstoreaccount1',
      primaryEndpoints: {
        blob: 'http://127.0.0.1:10000/devstoreaccount1/',
        queue: 'http://127.0.0.1:10001/devstoreaccount1/',
        table: 'http://127.0.0.1:10002/devstoreaccount1/',
      },
    });
    const azure = storageAccountOfConnectionString('DefaultEndpointsProtocol=https;AccountName=kluisprod;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net');
    expect(azure).toEqual({
      name: 'kluisprod',
      primaryEndpoints: {
        blob: 'https://kluisprod.blob.core.windows.net/',
        queue: 'https://kluisprod.queue.core.windows.net/',
        table: 'https://kluisprod.table.core.windows.net/',
        file: 'https://kluisprod.file.core.windows.net/',
      },
    });
    expect(JSON.stringify(azure)).not.toContain('c2VjcmV0');
    const sas = storageAccountOfConnectionString('BlobEndpoint=https://restored.blob.core.windows.net;SharedAccessSignature=sv=2024&sig=abc');
    expect(sas).toEqual({ name: 'restored', primaryEndpoints: { blob: 'https://restored.blob.core.windows.net/' } });
    expect(storageAccountOfConnectionString('SharedAccessSignature=sv=1')).toBeUndefined();
  });

  it('lists each account once with every role it plays', () => {
    const other = 'DefaultEndpointsProtocol=https;AccountName=restoretarget;AccountKey=a2V5';
    expect(knownStorageAccounts({ functions: DEVELOPMENT_STORAGE_CONNECTION_STRING, source: DEVELOPMENT_STORAGE_CONNECTION_STRING, vault: DEVELOPMENT_STORAGE_CONNECTION_STRING, restore: other }).map((a) => [a.name, a.roles])).toEqual([
      ['devstoreaccount1', ['functions', 'source', 'vault']],
      ['restoretarget', ['restore']],
    ]);
  });
});

describe('a VM as Microsoft.Compute shows it', () => {
  const vm: VirtualMachine = {
    id: `/subscriptions/${SUB}/resourceGroups/rg-vms/providers/Microsoft.Compute/virtualMachines/winserver-long-name`,
    subscriptionId: SUB,
    resourceGroup: 'rg-vms',
    name: 'winserver-long-name',
    location: 'westeurope',
    vmSize: 'Standard_D2s_v3',
    osType: 'Windows',
    powerState: 'deallocated',
    provisioningState: 'Succeeded',
    agent: { status: 'NotReady', version: '2.7' },
    disks: [
      { kind: 'data', lun: 2, name: 'd2', vhdUri: 'http://x/c/d2.vhd', storageType: 'Premium', sizeBytes: 3 * 1024 ** 3 },
      { kind: 'os', name: 'os', vhdUri: 'http://x/c/os.vhd', storageType: 'Premium', sizeBytes: 128 * 1024 ** 2 },
      { kind: 'data', lun: 0, name: 'd0', vhdUri: 'http://x/c/d0.vhd', storageType: 'Premium', sizeBytes: 0 },
    ],
    encryption: {
      enabled: true,
      bek: { secretUrl: 'https://kv.vault.azure.net/secrets/bek/1', vaultId: '/subscriptions/s/resourceGroups/k/providers/Microsoft.KeyVault/vaults/kv' },
      kek: { keyUrl: 'https://kv.vault.azure.net/keys/kek/1', vaultId: '/subscriptions/s/resourceGroups/k/providers/Microsoft.KeyVault/vaults/kv' },
    },
    createdAt: '2026-01-01T00:00:00.000Z',
  };

  it('shows unmanaged disks by LUN with their VHD URIs, ADE settings and a stable vmId', () => {
    const resource = virtualMachineResource(vm) as { properties: { storageProfile: unknown; osProfile: { computerName: string }; vmId: string } };
    expect(resource.properties.storageProfile).toEqual({
      osDisk: {
        osType: 'Windows',
        name: 'os',
        vhd: { uri: 'http://x/c/os.vhd' },
        caching: 'ReadWrite',
        createOption: 'FromImage',
        diskSizeGB: 1,
        encryptionSettings: {
          enabled: true,
          diskEncryptionKey: { secretUrl: 'https://kv.vault.azure.net/secrets/bek/1', sourceVault: { id: vm.encryption?.bek?.vaultId } },
          keyEncryptionKey: { keyUrl: 'https://kv.vault.azure.net/keys/kek/1', sourceVault: { id: vm.encryption?.kek?.vaultId } },
        },
      },
      dataDisks: [
        { lun: 0, name: 'd0', vhd: { uri: 'http://x/c/d0.vhd' }, caching: 'None', createOption: 'Empty', toBeDetached: false },
        { lun: 2, name: 'd2', vhd: { uri: 'http://x/c/d2.vhd' }, caching: 'None', createOption: 'Empty', diskSizeGB: 3, toBeDetached: false },
      ],
    });
    expect(resource.properties.osProfile.computerName).toBe('winserver-long-');
    expect(resource.properties.vmId).toBe(vmUniqueId(vm));
    expect(vmUniqueId({ ...vm, createdAt: '2026-01-02T00:00:00.000Z' })).not.toBe(vmUniqueId(vm));
    expect(resource.properties).not.toHaveProperty('instanceView');
  });

  it('shows managed disks by their resource id and SKU', () => {
    const disk = (name: string) => `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/${name}`;
    const managed: VirtualMachine = {
      ...vm,
      disks: [
        { kind: 'os', name: 'os', managedDisk: { id: disk('os'), storageAccountType: 'StandardSSD_LRS' }, storageType: 'Standard', sizeBytes: 1024 ** 3 },
        { kind: 'data', lun: 0, name: 'd0', managedDisk: { id: disk('d0') }, storageType: 'Standard', sizeBytes: 1024 ** 3 },
      ],
    };
    const { storageProfile } = (virtualMachineResource(managed) as { properties: { storageProfile: { osDisk: object; dataDisks: object[] } } }).properties;
    expect(storageProfile.osDisk).toMatchObject({ managedDisk: { id: disk('os'), storageAccountType: 'StandardSSD_LRS' } });
    expect(storageProfile.osDisk).not.toHaveProperty('vhd');
    expect(storageProfile.dataDisks[0]).toEqual(expect.objectContaining({ lun: 0, managedDisk: { id: disk('d0') } }));
  });

  it('shows power state and an agent that is not ready in the instance view', () => {
    const resource = virtualMachineResource(vm, { instanceView: true }) as { properties: { instanceView: { statuses: Array<{ code: string }>; vmAgent: unknown } } };
    expect(resource.properties.instanceView.statuses.map((s) => s.code)).toEqual(['ProvisioningState/succeeded', 'PowerState/deallocated']);
    expect(resource.properties.instanceView.vmAgent).toMatchObject({ vmAgentVersion: '2.7', statuses: [{ displayStatus: 'Not Ready', level: 'Warning' }] });
  });
});

describe('subscriptions, tenants and providers by api-version', () => {
  const record = { subscriptionId: SUB, displayName: 'Local', tenantId: 't', state: 'Enabled' as const, createdAt: '1970-01-01T00:00:00.000Z' };

  it('leaves out what an older api-version does not declare', () => {
    expect(apiVersionAtLeast('2019-11-01', '2020-01-01')).toBe(false);
    expect(apiVersionAtLeast('2022-12-01-preview', '2020-01-01')).toBe(true);
    expect(apiVersionAtLeast(null, '2020-01-01')).toBe(true);
    expect(subscriptionResource(record, '2019-11-01')).not.toHaveProperty('tags');
    expect(subscriptionResource(record, '2022-12-01')).toHaveProperty('tags', {});
    expect(tenantResource({ tenantId: 't' }, '2019-11-01')).not.toHaveProperty('defaultDomain');
  });

  it('finds providers case-insensitively; registration state only at subscription scope', () => {
    const compute = findProvider('microsoft.compute');
    expect(compute?.namespace).toBe('Microsoft.Compute');
    expect(providerResource(compute!, SUB)).toMatchObject({ id: `/subscriptions/${SUB}/providers/Microsoft.Compute`, registrationState: 'Registered' });
    expect(providerResource(compute!)).not.toHaveProperty('registrationState');
    expect(findProvider('Microsoft.Web')).toBeUndefined();
  });
});
