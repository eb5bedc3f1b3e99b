/**
 * Microsoft.Compute behind the fault proxy (issue 13): the engine backs up a managed-disk VM while its Compute
 * calls (restore point collections, restore points, grant and revoke access, their long-running operations)
 * meet 503 ServerBusy with Retry-After, 500s, resets before and during the answer, answers lost after the call
 * took effect, and latency — on the unchanged @azure/arm-compute client with the product's retry policy (only
 * its delays shortened). Every backup completes and restores byte-identical, or fails with an error that says
 * running it again can cure it; either way no SAS access is left open on any disk or disk restore point.
 */
import { randomBytes, createHash } from 'node:crypto';
import { describeFailure, isRetryableCode, isServiceUnavailableError } from '../../lib/domain/errors';
import type { VmDiskRequest } from '../../lib/engine/domain/backup-job';
import type { BackupEngineDeps } from '../../lib/engine/engine-deps';
import { restoreDisks } from '../../lib/engine/restore/restore-disks';
import { ManagedDiskBackend } from '../../lib/engine/sources/managed-disk/managed-disk-backend';
import { sourceDiskRegistry } from '../../lib/engine/sources/registry';
import { ArmManagedDiskCompute, BlobSasPageReader } from '../../lib/stores/azure/arm-managed-disk-compute';
import { BlobRestoreTargetStore } from '../../lib/stores/azure/blob-restore-target-store';
import { blobClientOptions, DEFAULT_STORAGE_RETRY } from '../../lib/stores/azure/storage-retry';
import { blobService, uniqueName } from '../support/azurite';
import { azuriteEngineDeps, backupVm, silentLogger } from '../support/backup-engine';
import { SUBSCRIPTION, useComputeFabric } from '../support/compute-fabric';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy/fault-proxy';
import { noFaults, scriptedFaults, seededFaults, type FaultKindName } from '../support/fault-proxy/faults';
import { fakeCredential } from '../support/recorded-arm';

const MIB = 1024 * 1024;
const SEEDS = (process.env.KLUIS_FAULT_SEEDS ?? 'compute-a,compute-b,compute-c').split(',');
const KINDS: FaultKindName[] = ['server-busy', 'internal-error', 'internal-error-after-apply', 'reset-before-body', 'reset-during-response-body', 'latency'];
const fabric = useComputeFabric();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('a managed-disk backup with Microsoft.Compute behind the fault proxy', () => {
  let proxy: FaultProxy;
  let engine: BackupEngineDeps;
  let disks: VmDiskRequest[];
  let writeDisk: (lun: number, data: Buffer) => Promise<void>;
  const itemId = uniqueName('vm');

  beforeAll(async () => {
    const { tls, endpoint, service, compute } = fabric();
    proxy = await startFaultProxy({ target: endpoint.url, tls: { key: tls.serverKeyPem, cert: tls.serverCertPem }, upstreamCa: tls.caCertPem });
    const armCompute = new ArmManagedDiskCompute({
      credential: fakeCredential,
      endpoint: proxy.origin,
      caCertificatePem: tls.caCertPem,
      ensureResourceGroup: async () => undefined,
      // The SDK's own retry policy, as the product has it; only its delays shortened for the test.
      clientOptions: { retryOptions: { retryDelayInMs: 20, maxRetryDelayInMs: 200 } },
      updateIntervalInMs: 10,
    });
    const fastStorage = { ...DEFAULT_STORAGE_RETRY, retryDelayInMs: 20, maxRetryDelayInMs: 100 };
    const backend = new ManagedDiskBackend({ compute: armCompute, sas: new BlobSasPageReader(() => blobClientOptions(fastStorage)), log: silentLogger });
    engine = { ...azuriteEngineDeps(fabric().connectionString), sources: sourceDiskRegistry(backend) };
    const vm = await service.createVm(
      { subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-compute-faults', name: 'flaky-compute' },
      { osType: 'Linux', managedDisks: true, osDisk: { sizeBytes: MIB }, dataDisks: [{ lun: 0, sizeBytes: MIB }], initialData: { percent: 0 } },
    );
    disks = vm.disks.map((disk, lun) => ({ lun, kind: 'managedDisk', id: disk.managedDisk!.id, storageType: 'Standard' }));
    writeDisk = async (lun, data) => {
      const blob = compute.pageBlobOf(await compute.diskBlobOf(vm.disks[lun]));
      await compute.guestWrite(vm.id, () => blob.uploadPages(data, 0, data.length));
    };
  });
  afterEach(() => proxy.setSchedule(noFaults));
  afterAll(async () => {
    await proxy?.close();
  });

  /** No disk is Active (a SAS outstanding on it), and every disk restore point can be granted access anew. */
  async function expectNoAccessLeft(): Promise<void> {
    const client = fabric().client();
    for await (const disk of client.disks.list()) expect({ disk: disk.name, state: disk.diskState }).not.toMatchObject({ state: expect.stringMatching(/^Active/) });
    for await (const collection of client.restorePointCollections.listAll()) {
      const group = collection.id!.split('/')[4];
      const expanded = await client.restorePointCollections.get(group, collection.name!, { expand: 'restorePoints' });
      for (const point of expanded.restorePoints ?? []) {
        for await (const drp of client.diskRestorePointOperations.listByRestorePoint(group, collection.name!, point.name!)) {
          await client.diskRestorePointOperations.beginGrantAccessAndWait(group, collection.name!, point.name!, drp.name!, { access: 'Read', durationInSeconds: 60 });
          await client.diskRestorePointOperations.beginRevokeAccessAndWait(group, collection.name!, point.name!, drp.name!);
        }
      }
    }
  }

  it.each(SEEDS)('at 10 %% faults on every Compute call (seed %s): completed and byte-identical, or failed retryably; no access left open', async (seed) => {
    const images = disks.map(() => Buffer.concat([randomBytes(MIB / 2), Buffer.alloc(MIB / 2)]));
    for (const disk of disks) await writeDisk(disk.lun, images[disk.lun]);
    const recoveryPointId = String(Date.now());
    const before = proxy.injected().length;
    proxy.setSchedule(seededFaults({ seed, rate: 0.1, kinds: KINDS, retryAfterSeconds: 1, latencyMs: 100 }));
    const outcome = await backupVm(engine, { itemId, jobId: `job-${seed}`, recoveryPointId, disks, capabilities: await engine.sources.backendFor('managedDisk').capabilities() }).then(
      () => undefined,
      (err: unknown) => err,
    );
    proxy.setSchedule(noFaults);
    const injected = proxy.injected().length - before;
    if (outcome === undefined) {
      const targetContainer = uniqueName('restored');
      const restore = { ...engine, target: BlobRestoreTargetStore.fromConnectionString(fabric().connectionString), clock: () => new Date() };
      const restored = await restoreDisks(restore, { itemId, recoveryPointId, jobId: `r-${seed}`, targetContainer, tier: 'HardenedRP' });
      for (const disk of restored.disks) {
        const bytes = await blobService(fabric().connectionString).getContainerClient(targetContainer).getPageBlobClient(disk.blobName).downloadToBuffer();
        expect({ lun: disk.lun, sha: sha256(bytes.subarray(0, MIB)) }).toEqual({ lun: disk.lun, sha: sha256(images[disk.lun]) });
      }
    } else {
      const failure = describeFailure(outcome);
      expect({ injected, failure }).toEqual({ injected, failure: expect.objectContaining({ code: expect.any(String) }) });
      expect({ failure, retryable: isServiceUnavailableError(outcome) || isRetryableCode(failure.code) }).toEqual({ failure, retryable: true });
    }
    await expectNoAccessLeft();
  }, 120_000);

  it('abandons a Compute try that never answers and tries again (before, a backup step waited forever)', async () => {
    const { tls } = fabric();
    const compute = new ArmManagedDiskCompute({
      credential: fakeCredential,
      endpoint: proxy.origin,
      caCertificatePem: tls.caCertPem,
      ensureResourceGroup: async () => undefined,
      clientOptions: { retryOptions: { retryDelayInMs: 20, maxRetryDelayInMs: 200 } },
      tryTimeoutInMs: 400,
    });
    const diskId = (disks[0] as { id: string }).id;
    proxy.setSchedule(scriptedFaults([{ match: (r) => r.method === 'GET' && r.path.includes('/disks/'), fault: { kind: 'hang' } }]));
    const started = Date.now();
    expect((await compute.getDisk(diskId))?.id.toLowerCase()).toBe(diskId.toLowerCase());
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(proxy.injected().at(-1)?.fault).toEqual({ kind: 'hang' });
  });
});
