/**
 * The local VM fabric on Azurite: VMs with real fixed-VHD page blobs, disk writes and clears that
 * the page-range listing sees, power and fault changes the guest agent picks up between steps,
 * delete in the safe order, and the HTTP routes' answers to bad input.
 */
import { createHash } from 'node:crypto';
import { fabricRoutes } from '../../emulator/fabric/router';
import { FabricService } from '../../emulator/fabric/service';
import type { HostRequest } from '../../emulator/http-types';
import { planSnapshotConsistency } from '../../lib/domain/consistency';
import type { ByteRange } from '../../lib/engine/domain/page-ranges';
import { parseVhdFooter, PAGE_SIZE } from '../../lib/engine/domain/vhd';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { TableVmInventory } from '../../lib/stores/azure/table-vm-inventory';
import type { PageBlobStore } from '../../lib/stores/page-blob-store';
import { FabricGuestAgent } from '../../lib/stores/fabric-guest-agent';
import { MemoryVmInventory } from '../../lib/stores/memory/vm-inventory';
import type { VmInventory } from '../../lib/stores/vm-inventory';
import { uniqueName, uniqueTableName, useAzurite } from '../support/azurite';

const azurite = useAzurite();
const MIB = 1024 * 1024;
const SUB = '12345678-1234-4234-8234-123456789abc';
const NOW = new Date('2026-03-01T10:00:00.000Z');

function fabric(overrides: { disks?: PageBlobStore; inventory?: VmInventory } = {}) {
  const disks = overrides.disks ?? BlobPageStore.fromConnectionString(azurite().connectionString, { retryOptions: { maxTries: 1 } });
  const inventory =
    overrides.inventory ?? TableVmInventory.fromConnectionString(azurite().connectionString, uniqueTableName('fabric'), { retryOptions: { maxRetries: 0 } });
  let seeds = 0;
  const service = new FabricService({ inventory, disks, clock: () => NOW, newSeed: () => `seed-${++seeds}` });
  return { service, disks, inventory };
}

/** Each test gets its own resource group, so containers (named from the VM's identity) never collide. */
const newRef = (name: string) => ({ subscriptionId: SUB, resourceGroup: uniqueName('rg'), name });

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const covers = (allocated: ByteRange[], range: ByteRange) => allocated.some((a) => a.start <= range.start && a.end >= range.end);

describe('FabricService on Azurite', () => {
  it('creates a VM whose disks are valid fixed-VHD page blobs of the requested sizes', async () => {
    const { service, disks, inventory } = fabric();
    const ref = newRef('web01');
    const vm = await service.createVm(ref, {
      osType: 'Windows',
      location: 'West Europe',
      osDisk: { sizeBytes: 4 * MIB, storageType: 'Premium' },
      dataDisks: [{ lun: 0, sizeBytes: 2 * MIB }, { lun: 3, sizeBytes: 3 * MIB, storageType: 'Premium' }],
      tags: { app: 'web' },
      initialData: { percent: 10, seed: 'initial' },
    });
    expect(vm).toMatchObject({
      id: `/subscriptions/${SUB}/resourceGroups/${ref.resourceGroup}/providers/Microsoft.Compute/virtualMachines/web01`,
      location: 'westeurope',
      powerState: 'running',
      provisioningState: 'Succeeded',
      agent: { status: 'Ready' },
      tags: { app: 'web' },
      createdAt: NOW.toISOString(),
    });
    expect(vm.disks.map((d) => [d.kind, d.lun, d.storageType, d.sizeBytes, d.name])).toEqual([
      ['os', undefined, 'Premium', 4 * MIB, 'web01-osdisk'],
      ['data', 0, 'Standard', 2 * MIB, 'web01-datadisk-0'],
      ['data', 3, 'Premium', 3 * MIB, 'web01-datadisk-3'],
    ]);
    expect(await inventory.get(ref)).toEqual(vm);

    for (const disk of vm.disks) {
      const blob = service.blobOf(vm, disk);
      expect(disk.vhdUri).toBe(disks.blobUrl(blob));
      expect(disk.vhdUri!.startsWith(`${disks.endpoint}/`)).toBe(true);
      const props = await disks.getBlobProperties(blob);
      expect(props).toMatchObject({ blobType: 'PageBlob', size: disk.sizeBytes + PAGE_SIZE });
      const footer = parseVhdFooter(await disks.readFooter(blob, props!.size));
      expect(footer).toMatchObject({ currentSize: disk.sizeBytes, originalSize: disk.sizeBytes, diskType: 2, timestamp: new Date('2026-03-01T10:00:00.000Z') });
      const allocated = await disks.listAllocatedRanges(blob, { start: 0, end: disk.sizeBytes });
      const dataBytes = allocated.reduce((sum, r) => sum + r.end - r.start, 0);
      expect(dataBytes).toBeGreaterThanOrEqual(0.1 * disk.sizeBytes - 64 * 1024);
      expect(dataBytes).toBeLessThan(disk.sizeBytes);
    }
    const os = service.blobOf(vm, vm.disks[0]);
    expect(covers(await disks.listAllocatedRanges(os), { start: 0, end: 64 * 1024 })).toBe(true);
  });

  it('writes random blocks (reproducible with a seed) that the page-range listing and the bytes show', async () => {
    const { service, disks } = fabric();
    // Same initial seed: both OS disks start with the same boot area.
    const a = await service.createVm(newRef('a'), { osType: 'Linux', osDisk: { sizeBytes: 2 * MIB }, dataDisks: [{ lun: 1, sizeBytes: 2 * MIB }], initialData: { percent: 0, seed: 'i' } });
    const b = await service.createVm(newRef('b'), { osType: 'Linux', osDisk: { sizeBytes: 2 * MIB }, initialData: { percent: 0, seed: 'i' } });
    const osA = service.blobOf(a, { kind: 'os' });
    const footerBefore = await disks.readFooter(osA, 2 * MIB + PAGE_SIZE);

    const written = await service.writeData(a, { disk: 'os', percent: 25, seed: 'same' });
    expect(written.seed).toBe('same');
    expect(written.disks).toHaveLength(1);
    expect(written.disks[0]).toMatchObject({ kind: 'os', slot: 0, bytes: 0.25 * 2 * MIB });
    const allocated = await disks.listAllocatedRanges(osA);
    for (const range of written.disks[0].ranges) {
      expect(covers(allocated, range)).toBe(true);
      expect((await disks.readRange(osA, range.start, range.end - range.start)).equals(Buffer.alloc(range.end - range.start))).toBe(false);
    }
    expect((await disks.readFooter(osA, 2 * MIB + PAGE_SIZE)).equals(footerBefore)).toBe(true);
    // Only its footer: the data disk was not selected.
    expect(await disks.listAllocatedRanges(service.blobOf(a, { kind: 'data', lun: 1 }))).toEqual([{ start: 2 * MIB, end: 2 * MIB + PAGE_SIZE }]);

    await service.writeData(b, { disk: 'os', percent: 25, seed: 'same' });
    const content = async (vm: typeof a) => sha256(await disks.readRange(service.blobOf(vm, { kind: 'os' }), 0, 2 * MIB));
    expect(await content(b)).toBe(await content(a));

    const fresh = await service.writeData(a, { percent: 5 });
    expect(fresh.seed).toBe('seed-1');
    expect(fresh.disks.map((d) => d.slot)).toEqual([0, 2]);
    expect(await content(a)).not.toBe(await content(b));
  });

  it('clears a range or random blocks, never the footer', async () => {
    const { service, disks } = fabric();
    const vm = await service.createVm(newRef('clr'), { osType: 'Linux', osDisk: { sizeBytes: 2 * MIB }, dataDisks: [{ lun: 0, sizeBytes: MIB }], initialData: { percent: 100 } });
    const os = service.blobOf(vm, { kind: 'os' });
    const data = service.blobOf(vm, { kind: 'data', lun: 0 });

    const cleared = await service.clearData(vm, { disk: 'os', offset: MIB, length: 512 * 1024 });
    expect(cleared.disks[0]).toMatchObject({ bytes: 512 * 1024, ranges: [{ start: MIB, end: MIB + 512 * 1024 }] });
    expect(cleared.seed).toBeUndefined();
    expect(await disks.listAllocatedRanges(os)).toEqual([
      { start: 0, end: MIB },
      { start: MIB + 512 * 1024, end: 2 * MIB + PAGE_SIZE },
    ]);
    expect((await disks.readRange(os, MIB, 512 * 1024)).equals(Buffer.alloc(512 * 1024))).toBe(true);

    await expect(service.clearData(vm, { disk: 'os', offset: MIB, length: 2 * MIB })).rejects.toMatchObject({ code: 'KluisInvalidRequest', target: 'length' });
    await expect(service.clearData(vm, { disk: 'os', offset: 100 })).rejects.toMatchObject({ code: 'KluisInvalidRequest', target: 'offset' });
    await expect(service.clearData(vm, { disk: 7 })).rejects.toMatchObject({ code: 'KluisInvalidRequest', target: 'disk' });
    await expect(service.clearData(vm, { percent: 5, offset: 0 })).rejects.toMatchObject({ target: 'percent' });

    const wholeData = await service.clearData(vm, { disk: 0 });
    expect(wholeData.disks[0].ranges).toEqual([{ start: 0, end: MIB }]);
    expect(await disks.listAllocatedRanges(data)).toEqual([{ start: MIB, end: MIB + PAGE_SIZE }]);
    expect(parseVhdFooter(await disks.readFooter(data, MIB + PAGE_SIZE)).currentSize).toBe(MIB);

    const random = await service.clearData(vm, { disk: 'os', percent: 10, seed: 'c' });
    expect(random.seed).toBe('c');
    const after = await disks.listAllocatedRanges(os);
    for (const range of random.disks[0].ranges) expect(after.some((a) => a.start < range.end && a.end > range.start)).toBe(false);
  });

  it('refuses a second VM of the same name without touching the first one', async () => {
    const { service, disks } = fabric();
    const ref = newRef('dup');
    const vm = await service.createVm(ref, { osType: 'Windows', osDisk: { sizeBytes: MIB } });
    const blob = service.blobOf(vm, { kind: 'os' });
    const before = sha256(await disks.readRange(blob, 0, MIB + PAGE_SIZE));
    await expect(service.createVm({ ...ref, name: 'DUP' }, { osType: 'Linux', osDisk: { sizeBytes: 2 * MIB } })).rejects.toMatchObject({
      code: 'KluisVmAlreadyExists',
      status: 409,
    });
    expect(sha256(await disks.readRange(blob, 0, MIB + PAGE_SIZE))).toBe(before);
    expect((await service.getVm(ref)).osType).toBe('Windows');
  });

  it('refuses bad input before creating anything', async () => {
    const { service, disks, inventory } = fabric();
    const ref = newRef('bad');
    await expect(service.createVm(ref, { osType: 'Windows', agent: { fsFreeze: 'Fails' } })).rejects.toMatchObject({ code: 'KluisInvalidRequest', target: 'agent.fsFreeze' });
    await expect(service.createVm({ ...ref, name: 'bad name' }, { osType: 'Windows' })).rejects.toMatchObject({ target: 'name' });
    await expect(service.createVm({ ...ref, subscriptionId: 'sub' }, { osType: 'Windows' })).rejects.toMatchObject({ target: 'subscriptionId' });
    expect(await inventory.get(ref)).toBeUndefined();
    const containers: string[] = [];
    for await (const c of disks.listContainers()) containers.push(c);
    expect(containers.some((c) => c.startsWith('vhds-bad-'))).toBe(false);
  });

  it('starts, stops and deallocates, and the guest agent sees faults injected between backup steps', async () => {
    const { service, inventory } = fabric();
    const ref = newRef('app01');
    await service.createVm(ref, { osType: 'Windows', osDisk: { sizeBytes: MIB }, initialData: { percent: 0 } });
    const agent = new FabricGuestAgent(inventory);

    const plan = planSnapshotConsistency(await service.getVm(ref));
    expect(plan.consistency).toBe('ApplicationConsistent');
    await service.setFaults(ref, { vss: 'WriterInBadState' });
    expect(await agent.freeze(ref, plan)).toMatchObject({ consistency: 'FileSystemConsistent', warnings: [{ code: 'ExtensionFailedVssWriterInBadState' }] });
    await service.setFaults(ref, { snapshotStatus: 'Silent' });
    await expect(agent.checkSnapshotReported(ref)).rejects.toMatchObject({ code: 'GuestAgentSnapshotTaskStatusError' });
    await service.setFaults(ref, { agentStatus: 'Unavailable', provisioningState: 'Failed' });
    await expect(agent.freeze(ref, plan)).rejects.toMatchObject({ code: 'UserErrorVmProvisioningStateFailed' });

    const repaired = await service.repair(ref);
    expect(repaired).toMatchObject({ provisioningState: 'Succeeded', agent: { status: 'Ready', version: '2.7.41491.1102' } });
    expect(repaired.agent.vss).toBeUndefined();
    expect(repaired.agent.snapshotStatus).toBeUndefined();
    await agent.checkSnapshotReported(ref);

    expect((await service.stop(ref)).powerState).toBe('stopped');
    expect(planSnapshotConsistency(await service.getVm(ref)).consistency).toBe('CrashConsistent');
    expect((await service.deallocate(ref)).powerState).toBe('deallocated');
    expect((await service.start(ref)).powerState).toBe('running');

    await expect(service.setFaults(ref, { fsFreeze: 'Fails' })).rejects.toMatchObject({ code: 'KluisInvalidRequest', target: 'fsFreeze' });
    await expect(service.setFaults(ref, { vss: 'Broken' })).rejects.toMatchObject({ code: 'KluisInvalidRequest', target: 'vss' });
    await expect(service.start({ ...ref, name: 'nobody' })).rejects.toMatchObject({ code: 'UserErrorVmNotFoundV2', status: 404 });
  });

  it('keeps Linux pre/post scripts paired and lets faults remove them', async () => {
    const { service } = fabric();
    const ref = newRef('db01');
    await service.createVm(ref, { osType: 'Linux', osDisk: { sizeBytes: MIB }, agent: { preScript: '/pre.sh', postScript: '/post.sh' }, initialData: { percent: 0 } });
    expect(planSnapshotConsistency(await service.getVm(ref)).consistency).toBe('ApplicationConsistent');
    await expect(service.setFaults(ref, { preScript: null })).rejects.toMatchObject({ target: 'preScript' });
    await service.setFaults(ref, { preScript: null, postScript: null, fsFreeze: 'Fails' });
    const vm = await service.getVm(ref);
    expect(vm.agent).toEqual({ status: 'Ready', version: '2.7.41491.1102', fsFreeze: 'Fails' });
    await expect(service.setFaults(ref, { vss: 'WriterInBadState' })).rejects.toMatchObject({ target: 'vss' });
  });

  it('deletes the disk blobs, then the record; deleting again succeeds', async () => {
    const { service, disks, inventory } = fabric();
    const ref = newRef('old01');
    const vm = await service.createVm(ref, { osType: 'Linux', osDisk: { sizeBytes: MIB }, dataDisks: [{ lun: 0, sizeBytes: MIB }] });
    const blobs = vm.disks.map((d) => service.blobOf(vm, d));
    await disks.createSnapshot(blobs[0]);
    await service.deleteVm(ref);
    for (const blob of blobs) expect(await disks.getBlobProperties(blob)).toBeUndefined();
    expect(await inventory.get(ref)).toBeUndefined();
    await service.deleteVm(ref);
  });

  it('marks the VM Failed when its disks cannot be written, and keeps the name taken', async () => {
    const real = BlobPageStore.fromConnectionString(azurite().connectionString, { retryOptions: { maxTries: 1 } });
    const failing = new Proxy(real, {
      get(target, property, receiver) {
        if (property === 'createPageBlob') return async () => Promise.reject(new Error('simulated storage outage'));
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const inventory = new MemoryVmInventory();
    const { service } = fabric({ disks: failing, inventory });
    const ref = newRef('broken');
    await expect(service.createVm(ref, { osType: 'Linux', osDisk: { sizeBytes: MIB } })).rejects.toThrow('simulated storage outage');
    expect((await inventory.get(ref))?.provisioningState).toBe('Failed');
    await expect(service.createVm(ref, { osType: 'Linux' })).rejects.toMatchObject({ code: 'KluisVmAlreadyExists' });
    await service.deleteVm(ref);
    expect(await inventory.get(ref)).toBeUndefined();
  });
});

describe('fabric HTTP routes', () => {
  const request = (method: string, path: string, body?: unknown): HostRequest => ({
    method,
    url: new URL(`http://127.0.0.1${path}`),
    headers: new Headers(),
    body: Buffer.from(body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)),
  });

  async function call(handler: ReturnType<typeof fabricRoutes>, method: string, path: string, body?: unknown) {
    const response = await handler(request(method, path, body));
    if (response === undefined) return undefined;
    const text = response.body === undefined ? '' : response.body.toString();
    return { status: response.status, headers: response.headers ?? {}, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
  }

  it('creates, reads, lists, changes and deletes a VM, and leaves other paths to the host', async () => {
    const { service, inventory } = fabric();
    const handler = fabricRoutes(service);
    const rg = uniqueName('rg');
    const base = `/fabric/subscriptions/${SUB}/resourceGroups/${rg}/virtualMachines`;

    expect(await handler(request('GET', '/api/backups'))).toBeUndefined();

    const created = await call(handler, 'PUT', `${base}/web01`, { osType: 'Windows', osDisk: { sizeBytes: MIB }, initialData: { percent: 0 } });
    expect(created?.status).toBe(201);
    expect(created?.headers.etag).toBe(created?.body?.etag);
    expect(await call(handler, 'GET', `/FABRIC/Subscriptions/${SUB}/resourcegroups/${rg}/VIRTUALMACHINES/WEB01`)).toMatchObject({ status: 200, body: { name: 'web01' } });
    expect(await call(handler, 'GET', `/fabric/subscriptions/${SUB}/virtualMachines?location=West%20Europe`)).toMatchObject({
      status: 200,
      body: { value: expect.arrayContaining([expect.objectContaining({ name: 'web01', resourceGroup: rg })]) },
    });
    expect(await call(handler, 'GET', base)).toMatchObject({ status: 200, body: { value: [expect.objectContaining({ name: 'web01' })] } });
    expect(await call(handler, 'POST', `${base}/web01/stop`)).toMatchObject({ status: 200, body: { powerState: 'stopped' } });
    expect(await call(handler, 'POST', `${base}/web01/faults`, { agentStatus: 'NotReady' })).toMatchObject({ status: 200, body: { agent: { status: 'NotReady' } } });
    expect(await call(handler, 'POST', `${base}/web01/repair`)).toMatchObject({ body: { agent: { status: 'Ready' } } });
    expect(await call(handler, 'POST', `${base}/web01/writeData`, { percent: 10, seed: 'x' })).toMatchObject({ status: 200, body: { seed: 'x', disks: [expect.objectContaining({ slot: 0 })] } });
    expect(await call(handler, 'POST', `${base}/web01/clearData`, { disk: 'os' })).toMatchObject({ status: 200 });
    expect(await call(handler, 'DELETE', `${base}/web01`)).toEqual({ status: 204, headers: {}, body: undefined });
    expect(await call(handler, 'DELETE', `${base}/web01`)).toMatchObject({ status: 204 });
    expect(await inventory.get({ subscriptionId: SUB, resourceGroup: rg, name: 'web01' })).toBeUndefined();
  });

  it.each([
    ['malformed JSON', 400, 'KluisInvalidRequest', 'body', 'PUT', '/web02', '{"osType":'],
    ['a wrong type', 400, 'KluisInvalidRequest', 'osDisk.sizeBytes', 'PUT', '/web02', { osType: 'Windows', osDisk: { sizeBytes: '1' } }],
    ['an unknown field', 400, 'KluisInvalidRequest', 'disks', 'PUT', '/web02', { osType: 'Windows', disks: 2 }],
    ['a bad VM name', 400, 'KluisInvalidRequest', 'name', 'PUT', '/web..', { osType: 'Windows' }],
    ['an unknown VM', 404, 'UserErrorVmNotFoundV2', 'vm', 'GET', '/nobody', undefined],
    ['a write to an unknown VM', 404, 'UserErrorVmNotFoundV2', 'vm', 'POST', '/nobody/writeData', { percent: 1 }],
    ['a write without percent', 400, 'KluisInvalidRequest', 'percent', 'POST', '/nobody/writeData', {}],
    ['a percentage over 100', 400, 'KluisInvalidRequest', 'percent', 'POST', '/nobody/writeData', { percent: 101 }],
  ] as const)('answers %s with %i %s naming %s', async (_case, status, code, target, method, suffix, body) => {
    const { service } = fabric();
    const handler = fabricRoutes(service);
    const response = await call(handler, method, `/fabric/subscriptions/${SUB}/resourceGroups/rg-x/virtualMachines${suffix}`, body);
    expect(response).toMatchObject({ status, body: { error: { code, target, message: expect.any(String), recommendation: expect.any(String) } } });
  });

  it('answers unknown endpoints, wrong methods and bad subscriptions without reaching the service', async () => {
    const handler = fabricRoutes(() => {
      throw new Error('must not be called');
    });
    // The factory is only called for /fabric/ paths: the failure shows up as a generic 500, its text hidden.
    const internal: unknown[] = [];
    const failing = fabricRoutes(() => {
      throw new Error('connection string with AccountKey=secret');
    }, { onInternalError: (err) => internal.push(err) });
    const hidden = await call(failing, 'GET', `/fabric/subscriptions/${SUB}/virtualMachines`);
    expect(hidden?.status).toBe(500);
    expect(JSON.stringify(hidden?.body)).not.toContain('secret');
    expect(internal).toHaveLength(1);
    expect(await handler(request('GET', '/admin/host/status'))).toBeUndefined();

    const { service } = fabric();
    const routes = fabricRoutes(service);
    expect(await call(routes, 'GET', '/fabric/nothing/here')).toMatchObject({ status: 404, body: { error: { code: 'NotFound' } } });
    expect(await call(routes, 'POST', `/fabric/subscriptions/${SUB}/virtualMachines`)).toMatchObject({ status: 405 });
    expect(await call(routes, 'GET', `/fabric/subscriptions/${SUB}/resourceGroups/rg/virtualMachines/vm1/start`)).toMatchObject({ status: 405 });
    expect(await call(routes, 'POST', `/fabric/subscriptions/${SUB}/resourceGroups/rg/virtualMachines/vm1/reboot`)).toMatchObject({ status: 404 });
    expect(await call(routes, 'GET', '/fabric/subscriptions/not-a-guid/virtualMachines')).toMatchObject({
      status: 400,
      body: { error: { code: 'KluisInvalidRequest', target: 'subscriptionId' } },
    });
  });
});
