/**
 * Managed-disk VMs through the host binary: kluis-host serves the fabric's Microsoft.Compute endpoint on
 * its own HTTPS port (logged, and exported to the app as KLUIS_COMPUTE_ENDPOINT), `/fabric/…` and
 * kluis-fabric create VMs with managed disks, and the unchanged @azure/arm-compute client reads them,
 * their disks and their data there — signed in: the endpoint refuses callers without a token the host's
 * identity endpoint signed, and writes need an Owner (the local administrator) or the host key.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { ComputeManagementClient } from '@azure/arm-compute';
import { main as fabricCli } from '../../emulator/fabric/cli';
import { VHD_FOOTER_SIZE } from '../../lib/engine/domain/vhd';
import { useAzurite } from '../support/azurite';
import { sasClient } from '../support/compute-fabric';
import { fixtureApp, http, startHostProcess, type HostProcess } from '../support/host-process';
import { fakeCredential } from '../support/recorded-arm';

const azurite = useAzurite();
const MIB = 1024 * 1024;
const SUB = '7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f';
const RG = 'rg-managed';

interface VmBody {
  id: string;
  name: string;
  disks: Array<{ kind: string; lun?: number; name: string; vhdUri?: string; managedDisk?: { id: string; storageAccountType?: string }; storageType: string; sizeBytes: number }>;
}

describe('managed-disk VMs and the Compute endpoint through kluis-host', () => {
  let host: HostProcess;
  let client: ComputeManagementClient;
  let computeEndpoint: string;

  beforeAll(async () => {
    host = await startHostProcess({ app: fixtureApp('chaining'), storage: azurite().connectionString });
    const announced = await host.waitForLog((record) => typeof record.computeEndpoint === 'string');
    computeEndpoint = String(announced.computeEndpoint);
    const ca = readFileSync(String(announced.caFile), 'utf8');
    const administrator = { getToken: async () => ({ token: await host.accessToken(), expiresOnTimestamp: Date.now() + 600_000 }) };
    client = new ComputeManagementClient(administrator, SUB, { endpoint: computeEndpoint, tlsOptions: { ca: [...rootCertificates, ca] }, retryOptions: { maxRetries: 0 } });
    forged = new ComputeManagementClient(fakeCredential, SUB, { endpoint: computeEndpoint, tlsOptions: { ca: [...rootCertificates, ca] }, retryOptions: { maxRetries: 0 } });
    // The fixture app is not Kluis: its requests carry no token; /fabric/ takes the host key, kluis-fabric reads it from the environment.
    process.env.KLUIS_HOST_KEY = host.secrets.masterKey;
  }, 60_000);

  afterAll(async () => {
    delete process.env.KLUIS_HOST_KEY;
    await host?.stop();
  });

  let forged: ComputeManagementClient;
  const hostKey = () => ({ 'x-functions-key': host.secrets.masterKey });

  it('refuses a token the identity endpoint did not sign', async () => {
    await expect(forged.disks.get(RG, 'any')).rejects.toMatchObject({ statusCode: 401 });
    await expect(forged.disks.beginGrantAccessAndWait(RG, 'any', { access: 'Read', durationInSeconds: 60 })).rejects.toMatchObject({ statusCode: 401 });
  });

  it('announces an HTTPS endpoint of its own', () => {
    expect(computeEndpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(computeEndpoint).not.toBe(host.origin);
  });

  it('creates a VM with managed disks over /fabric/, writes its data, and serves it through Microsoft.Compute', async () => {
    const created = await http<VmBody>(`${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/${RG}/virtualMachines/app01`, {
      method: 'PUT',
      headers: hostKey(),
      body: { osType: 'Linux', managedDisks: true, osDisk: { sizeBytes: 4 * MIB, sku: 'StandardSSD_LRS' }, dataDisks: [{ lun: 0, sizeBytes: 2 * MIB, storageType: 'Premium' }] },
    });
    expect(created.status).toBe(201);
    const diskIds = created.body.disks.map((disk) => disk.managedDisk?.id);
    expect(diskIds).toEqual([
      `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/app01-osdisk`,
      `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/app01-datadisk-0`,
    ]);
    expect(created.body.disks.every((disk) => disk.vhdUri === undefined)).toBe(true);

    const vm = await client.virtualMachines.get(RG, 'app01', { expand: 'instanceView' });
    expect(vm.storageProfile?.osDisk).toMatchObject({ createOption: 'FromImage', managedDisk: { id: diskIds[0], storageAccountType: 'StandardSSD_LRS' }, deleteOption: 'Delete' });
    expect(vm.storageProfile?.dataDisks?.[0]).toMatchObject({ lun: 0, managedDisk: { id: diskIds[1], storageAccountType: 'Premium_LRS' } });
    expect(vm.instanceView?.statuses?.find((status) => status.code?.startsWith('PowerState/'))?.code).toBe('PowerState/running');
    expect((await client.disks.get(RG, 'app01-datadisk-0')).diskState).toBe('Attached');

    const write = await http<{ disks: Array<{ ranges: Array<{ start: number; end: number }> }> }>(
      `${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/${RG}/virtualMachines/app01/writeData`,
      { method: 'POST', headers: hostKey(), body: { disk: 0, percent: 10, seed: 'managed' } },
    );
    expect(write.status).toBe(200);
    const [range] = write.body.disks[0].ranges;

    const deallocate = await http(`${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/${RG}/virtualMachines/app01/deallocate`, { method: 'POST', headers: hostKey() });
    expect(deallocate.status).toBe(200);
    expect((await client.disks.get(RG, 'app01-datadisk-0')).diskState).toBe('Reserved');
    const { accessSAS } = await client.disks.beginGrantAccessAndWait(RG, 'app01-datadisk-0', { access: 'Read', durationInSeconds: 300 });
    const bytes = await sasClient(accessSAS!).downloadToBuffer(range.start, range.end - range.start);
    expect(bytes.some((byte) => byte !== 0)).toBe(true);
    expect((await sasClient(accessSAS!).getProperties()).contentLength).toBe(2 * MIB + VHD_FOOTER_SIZE);

    // The fabric's VM rules see the SAS: no start, no delete, until EndGetAccess.
    const start = await http<{ error: { code: string } }>(`${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/${RG}/virtualMachines/app01/start`, { method: 'POST', headers: hostKey() });
    expect(start).toMatchObject({ status: 409, body: { error: { code: 'OperationNotAllowed' } } });
    await client.disks.beginRevokeAccessAndWait(RG, 'app01-datadisk-0');
    await expect(sasClient(accessSAS!).downloadToBuffer(0, 512)).rejects.toMatchObject({ statusCode: 403 });

    const removed = await http(`${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/${RG}/virtualMachines/app01`, { method: 'DELETE', headers: hostKey() });
    expect(removed.status).toBe(204);
    await expect(client.disks.get(RG, 'app01-osdisk')).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
  });

  it('kluis-fabric vm create --managed makes managed disks of the SKU asked for', async () => {
    const lines: string[] = [];
    const run = (...args: string[]) =>
      fabricCli(['node', 'kluis-fabric', 'vm', ...args, '--host', host.origin, '--subscription', SUB, '-g', RG], { out: (line) => lines.push(line), fetch });
    await run('create', '--name', 'cli01', '--os', 'Windows', '--disks', '2', '--size-mib', '2', '--managed', '--sku', 'Premium_LRS');
    const created = JSON.parse(lines.join('\n')) as VmBody;
    expect(created.disks.map((disk) => [disk.kind, disk.managedDisk?.storageAccountType, disk.storageType])).toEqual([
      ['os', 'Premium_LRS', 'Premium'],
      ['data', 'Premium_LRS', 'Premium'],
    ]);
    lines.length = 0;
    await run('list', '--output', 'table');
    expect(lines.find((line) => line.startsWith('cli01\t'))).toContain('os:2MiB:P:managed');
    const disks = [];
    for await (const disk of client.disks.listByResourceGroup(RG)) disks.push(disk.name);
    expect(disks).toEqual(['cli01-datadisk-0', 'cli01-osdisk']);
    await expect(run('create', '--name', 'cli02', '--os', 'Linux', '--sku', 'Premium_LRS')).rejects.toThrow(/--managed/);
  });
});
