/**
 * The local VM fabric through the host binary: the embedded host serves /fabric/… next to the app's
 * functions (any app), keeps VMs in the inventory table and their disks as page blobs in the app's
 * storage; `kluis-fabric` drives it; `--no-fabric` turns it off.
 */
import { main as fabricCli } from '../../emulator/fabric/cli';
import { FABRIC_DEFAULTS } from '../../emulator/fabric/service';
import { parseVhdFooter, PAGE_SIZE } from '../../lib/engine/domain/vhd';
import { blobService, uniqueTableName, useAzurite } from '../support/azurite';
import { fixtureApp, http, startHostProcess, type HostProcess } from '../support/host-process';

const azurite = useAzurite();
const MIB = 1024 * 1024;
const SUB = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

interface VmBody {
  id: string;
  name: string;
  powerState: string;
  provisioningState: string;
  agent: { status: string; vss?: string };
  disks: Array<{ kind: string; lun?: number; vhdUri: string; sizeBytes: number }>;
  etag: string;
}

describe('local VM fabric over HTTP (host binary)', () => {
  let host: HostProcess;
  const table = uniqueTableName('FabricVms');

  beforeAll(async () => {
    host = await startHostProcess({ app: fixtureApp('chaining'), storage: azurite().connectionString, env: { KLUIS_INVENTORY_TABLE: table } });
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
  });

  const vmUrl = (rg: string, name: string) => `${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/${rg}/virtualMachines/${name}`;
  /** The fabric takes the host key (or an Owner's token, which a Kluis app's tests send). */
  const hostKey = () => ({ 'x-functions-key': host.secrets.masterKey });

  it('refuses callers without the host key or an Owner token', async () => {
    const anonymous = await http<{ error: { code: string } }>(vmUrl('rg-e2e', 'intruder'), { method: 'PUT', body: { osType: 'Linux' } });
    expect([anonymous.status, anonymous.body.error.code]).toEqual([401, 'AuthenticationFailed']);
    const wrongKey = await http(`${host.origin}/fabric/subscriptions/${SUB}/virtualMachines`, { headers: { 'x-functions-key': 'not-the-key' } });
    expect(wrongKey.status).toBe(401);
    const listed = await http<{ value: unknown[] }>(`${host.origin}/fabric/subscriptions/${SUB}/virtualMachines`, { headers: hostKey() });
    expect(listed.body.value).toEqual([]);
  });

  it('creates a VM with real VHD page blobs and lists it', async () => {
    const created = await http<VmBody>(vmUrl('rg-e2e', 'web01'), {
      method: 'PUT',
      headers: hostKey(),
      body: { osType: 'Windows', osDisk: { sizeBytes: 2 * MIB, storageType: 'Premium' }, dataDisks: [{ lun: 0, sizeBytes: MIB }], initialData: { percent: 5 } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'web01', powerState: 'running', provisioningState: 'Succeeded', agent: { status: 'Ready' } });
    expect(created.headers.get('etag')).toBe(created.body.etag);

    // The disks are page blobs in the host's storage account, addressed by the URL the record carries.
    const service = blobService(azurite().connectionString);
    for (const disk of created.body.disks) {
      const url = new URL(disk.vhdUri);
      expect(`${url.origin}${url.pathname}`.startsWith(service.url.replace(/\/$/, ''))).toBe(true);
      const [container, ...blob] = url.pathname.split('/').slice(2);
      const pageBlob = service.getContainerClient(container).getPageBlobClient(decodeURIComponent(blob.join('/')));
      const props = await pageBlob.getProperties();
      expect(props.blobType).toBe('PageBlob');
      expect(props.contentLength).toBe(disk.sizeBytes + PAGE_SIZE);
      expect(parseVhdFooter(await pageBlob.downloadToBuffer(disk.sizeBytes, PAGE_SIZE)).currentSize).toBe(disk.sizeBytes);
    }

    const listed = await http<{ value: VmBody[] }>(`${host.origin}/fabric/subscriptions/${SUB}/virtualMachines?location=westeurope`, { headers: hostKey() });
    expect(listed.status).toBe(200);
    expect(listed.body.value.map((vm) => vm.id)).toEqual([created.body.id]);

    const again = await http<{ error: { code: string } }>(vmUrl('rg-e2e', 'WEB01'), { method: 'PUT', headers: hostKey(), body: { osType: 'Linux' } });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'KluisVmAlreadyExists' } } });
    const bad = await http<{ error: { code: string; target: string } }>(vmUrl('rg-e2e', 'web02'), { method: 'PUT', headers: hostKey(), body: '{"osType": "Windows",' });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'KluisInvalidRequest', target: 'body' } } });
  });

  it('is driven by kluis-fabric: create, list, break VSS, write, stop, delete', async () => {
    const lines: string[] = [];
    // kluis-fabric reads the key from the environment (never from its command line).
    process.env.KLUIS_HOST_KEY = host.secrets.masterKey;
    const run = (...args: string[]) => fabricCli(['node', 'kluis-fabric', 'vm', ...args, '--host', host.origin], { out: (line) => lines.push(line), fetch });

    await run('create', '--name', 'app01', '--os', 'Linux', '--disks', '2', '--size-mib', '2', '--premium', '--stopped');
    const created = JSON.parse(lines.join('\n')) as VmBody;
    expect(created).toMatchObject({ name: 'app01', powerState: 'stopped', disks: [{ kind: 'os', sizeBytes: 2 * MIB }, { kind: 'data', lun: 0, sizeBytes: 2 * MIB }] });
    expect(created.id).toContain(`/subscriptions/${FABRIC_DEFAULTS.subscriptionId}/resourceGroups/${FABRIC_DEFAULTS.resourceGroup}/`);

    lines.length = 0;
    await run('list');
    expect(lines[0].split('\t')).toEqual(['NAME', 'GROUP', 'LOCATION', 'OS', 'POWER', 'PROVISIONING', 'AGENT', 'DISKS']);
    expect(lines.find((l) => l.startsWith('app01\t'))?.split('\t')).toEqual(['app01', FABRIC_DEFAULTS.resourceGroup, 'westeurope', 'Linux', 'stopped', 'Succeeded', 'Ready', 'os:2MiB:P,lun0:2MiB:P']);

    await expect(run('break-vss', '--name', 'app01')).rejects.toThrow(/answered 400\. KluisInvalidRequest \(vss\): VSS exists only on Windows/);

    lines.length = 0;
    await run('break-agent', '--name', 'app01', '--not-ready');
    expect(JSON.parse(lines.join('\n'))).toMatchObject({ agent: { status: 'NotReady' } });

    lines.length = 0;
    await run('write', '--name', 'app01', '--percent', '50', '--disk', '0', '--seed', 'e2e');
    expect(JSON.parse(lines.join('\n'))).toEqual({ vm: created.id, seed: 'e2e', disks: [{ name: 'app01-datadisk-0', bytes: MIB, ranges: expect.any(Number) }] });

    lines.length = 0;
    await run('start', '--name', 'app01');
    expect(JSON.parse(lines.join('\n'))).toMatchObject({ powerState: 'running' });

    lines.length = 0;
    await run('delete', '--name', 'app01');
    expect(lines).toEqual(['Deleted app01.']);
    await expect(run('show', '--name', 'app01')).rejects.toThrow(/404.*UserErrorVmNotFoundV2/s);
    delete process.env.KLUIS_HOST_KEY;
  });

  it('serves nothing under /fabric/ when started with --no-fabric', async () => {
    const plain = await startHostProcess({ app: fixtureApp('chaining'), storage: azurite().connectionString, extraArgs: ['--no-fabric'] });
    try {
      expect((await http(`${plain.origin}/fabric/subscriptions/${SUB}/virtualMachines`)).status).toBe(404);
      expect((await http(`${plain.origin}/admin/host/ping`)).status).toBe(200);
    } finally {
      await plain.stop();
    }
  });
});
