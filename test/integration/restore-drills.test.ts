/**
 * Restore drills (lib/services/restore-drills.ts) on real Azurite with the engine's verified restore: the
 * vault default and a policy's own setting decide who is due; a drill that passes records a Completed
 * RestoreDrill job (point, bytes verified, duration) and leaves no scratch and the item healthy; a drill of a
 * point with a flipped byte in its vault copy fails with KluisRestoreVerificationFailed, leaves no scratch,
 * and turns the item's health to ActionRequired with the drill's job linked, until the next passing drill;
 * scratch a dead drill left is reported by `kluis check` and swept by the item's next drill.
 */
import { randomUUID } from 'node:crypto';
import { vaultKey, type ProtectedItemRecord } from '../../lib/domain/catalog';
import { HEALTH_DETAIL_CODES, protectedItemResource } from '../../lib/domain/arm/item-resource';
import { defaultPolicy } from '../../lib/domain/policy-rules';
import { drillsScratchPrefix, replicaBlobName } from '../../lib/engine/domain/vault-layout';
import { checkVaultItems } from '../../lib/engine/recovery-points/check-vault';
import { endRestoreDrill, findDueRestoreDrills, listActiveRestoreDrills, restoreDrillJobId, runRestoreDrill, startRestoreDrill, type RestoreDrillDeps, type RestoreDrillScheduleDeps } from '../../lib/services/restore-drills';
import { getJob } from '../../lib/services/jobs';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { BlobRestoreTargetStore } from '../../lib/stores/azure/blob-restore-target-store';
import { TableRecoveryPointCatalog } from '../../lib/stores/azure/table-recovery-point-catalog';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';
import { pageBlobSources, silentLogger } from '../support/backup-engine';
import { buildRecoveryPoint } from '../support/recovery-point-fixture';
import { blobService, uniqueName, uniqueTableName, useAzurite } from '../support/azurite';
import { vaultRecord } from '../support/vault-fixtures';

const azurite = useAzurite();
const SUB = '00000000-0000-0000-0000-0000000000dd';
const DAY = 86_400_000;
/** Points are named by their time (ms); the first on 2026-03-01. */
const FIRST_POINT = Date.parse('2026-03-01T19:00:00Z');

async function world() {
  const conn = azurite().connectionString;
  const store = BlobPageStore.fromConnectionString(conn);
  const points = TableRecoveryPointCatalog.fromConnectionString(conn, uniqueTableName('drills'));
  const vaultContainer = uniqueName('vault');
  const sourceContainer = uniqueName('src');
  const itemId = uniqueName('item');
  const clock = { value: new Date('2026-03-04T10:00:00Z') };
  const catalog = memoryVaultCatalog();
  const vault = vaultRecord(SUB, 'rg', 'v1', { createdAt: '2026-03-01T00:00:00.000Z' });
  const key = vaultKey(SUB, 'rg', 'v1');
  await catalog.vaults.insert(SUB.toLowerCase(), 'rg~v1', vault);
  await catalog.policies.insert(key, 'defaultpolicy', { vaultId: vault.id, name: 'DefaultPolicy', properties: defaultPolicy(), createdAt: vault.createdAt, updatedAt: vault.createdAt });
  const item: ProtectedItemRecord = {
    vaultId: vault.id,
    containerName: 'IaasVMContainer;iaasvmcontainerv2;rg;web01',
    itemName: 'VM;iaasvmcontainerv2;rg;web01',
    engineItemId: itemId,
    vm: { id: 'vm-web01', name: 'web01', resourceGroup: 'rg', location: 'westeurope', osType: 'Linux', vmSize: 'B1s' },
    policyName: 'DefaultPolicy',
    protectionState: 'Protected',
    healthStatus: 'Passed',
    onDemandBackups: [],
    createdAt: '2026-03-01T10:00:00.000Z',
  };
  await catalog.items.insert(key, item.itemName.toLowerCase(), item);

  let built = 0;
  const addPoint = async (corrupt = false) => {
    const recoveryPointId = String(FIRST_POINT + built * DAY);
    await buildRecoveryPoint({
      source: blobService(conn),
      vault: blobService(conn),
      catalog: points,
      sourceContainer,
      vaultContainer,
      itemId,
      recoveryPointId,
      disks: [
        { lun: 0, name: 'os', dataSize: 512 * 1024 },
        { lun: 1, name: 'data', dataSize: 256 * 1024 },
      ],
      reuseSourceDisks: built > 0,
      ...(corrupt ? { corruptReplica: { lun: 1, offset: 66_048, bytes: Buffer.alloc(512, 0x5a) } } : {}),
    });
    built += 1;
    return recoveryPointId;
  };

  const scheduleDeps: RestoreDrillScheduleDeps = { catalog, points, clock: () => clock.value, newId: randomUUID };
  const drillDeps: RestoreDrillDeps = {
    catalog,
    restore: { vault: store, sources: pageBlobSources(store), target: BlobRestoreTargetStore.fromConnectionString(conn), catalog: points, clock: () => clock.value, log: silentLogger },
    vault: store,
    vaultContainer,
    clock: () => clock.value,
    log: silentLogger,
  };
  const scope = { id: vault.id, subscriptionId: SUB, resourceGroup: 'rg', name: 'v1' };
  const storedItem = async () => (await catalog.items.get(key, item.itemName.toLowerCase()))!.value;
  const armItem = async () => protectedItemResource(await storedItem(), { itemId: `${vault.id}/items/web01` }, { count: built }, clock.value);
  const scratch = async () => {
    const names: string[] = [];
    for await (const blob of store.listBlobs(vaultContainer, { prefix: drillsScratchPrefix(itemId) })) names.push(blob.name);
    return names;
  };
  /** Finds the due drills, starts and runs each (as the timer and the orchestration do). */
  const drillNow = async () => {
    const due = await findDueRestoreDrills(scheduleDeps);
    const results = [];
    for (const drill of due) {
      const start = await startRestoreDrill(scheduleDeps, drill);
      expect(start.run).toBe(true);
      results.push(await runRestoreDrill(drillDeps, start.input));
    }
    return { due, results };
  };
  const setVaultDrill = async (restoreDrill: NonNullable<typeof vault.restoreDrill>) => {
    const stored = (await catalog.vaults.get(SUB.toLowerCase(), 'rg~v1'))!;
    await catalog.vaults.replace(SUB.toLowerCase(), 'rg~v1', { ...stored.value, restoreDrill }, stored.etag);
  };
  const CORRUPT = { offset: 66_048, length: 512 };
  const repairReplica = async () => {
    const source = blobService(conn).getContainerClient(sourceContainer).getPageBlobClient(`vms/${itemId}/data.vhd`);
    const original = await source.downloadToBuffer(CORRUPT.offset, CORRUPT.length);
    const replica = blobService(conn).getContainerClient(vaultContainer).getPageBlobClient(replicaBlobName(itemId, 1));
    await replica.uploadPages(original, CORRUPT.offset, CORRUPT.length);
  };
  return { repairReplica, catalog, key, clock, itemId, store, vaultContainer, points, scope, addPoint, drillNow, setVaultDrill, storedItem, armItem, scratch, drillDeps, scheduleDeps };
}

describe('restore drills', () => {
  it('drills the latest point weekly by the vault default: the job is Completed with what was verified, no scratch stays, the item stays healthy', async () => {
    const w = await world();
    await w.addPoint();
    const latest = await w.addPoint();
    expect((await w.drillNow()).due).toEqual([]); // drills are off by default

    await w.setVaultDrill({ frequency: 'Weekly', pointSelection: 'Latest', seed: 0 });
    const { due, results } = await w.drillNow();
    expect(due).toHaveLength(1);
    expect(due[0]).toMatchObject({ recoveryPointId: latest, slot: expect.stringMatching(/^Weekly-\d+$/) });
    expect(results).toEqual([expect.objectContaining({ status: 'Passed', recoveryPointId: latest, bytesVerified: 512 * 1024 + 512 + 256 * 1024 + 512 })]);

    const job = await getJob(w.drillDeps, w.scope, results[0].jobId);
    expect(job).toMatchObject({ operation: 'RestoreDrill', status: 'Completed', entityFriendlyName: 'web01', isUserTriggered: false });
    expect(job.propertyBag).toMatchObject({ 'Recovery point': latest, 'Bytes verified': String(results[0].bytesVerified), Disks: '2', Tier: 'HardenedRP' });
    expect(Number(job.propertyBag['Blocks verified'])).toBeGreaterThan(0);
    expect(job.propertyBag['Duration (ms)']).toMatch(/^\d+$/);
    expect(await w.scratch()).toEqual([]);
    expect((await w.armItem()).properties).toMatchObject({ healthStatus: 'Passed', healthDetails: [] });

    // Once per period: a later tick in the same week finds nothing; the next week drills again.
    w.clock.value = new Date(w.clock.value.getTime() + DAY);
    expect((await w.drillNow()).due).toEqual([]);
    w.clock.value = new Date(w.clock.value.getTime() + 7 * DAY);
    expect((await w.drillNow()).results).toEqual([expect.objectContaining({ status: 'Passed' })]);

    // Retention deletes the point while it is drilled: the job fails with that code, the item's health stays.
    w.clock.value = new Date(w.clock.value.getTime() + 7 * DAY);
    const [expiring] = await findDueRestoreDrills(w.scheduleDeps);
    const start = await startRestoreDrill(w.scheduleDeps, expiring);
    await w.points.delete(w.itemId, expiring.recoveryPointId);
    expect(await runRestoreDrill(w.drillDeps, start.input)).toMatchObject({ status: 'Failed', errorCode: 'KluisRecoveryPointNotFound' });
    expect((await getJob(w.drillDeps, w.scope, expiring.jobId)).status).toBe('Failed');
    expect((await w.armItem()).properties).toMatchObject({ healthStatus: 'Passed', healthDetails: [] });
    expect(await listActiveRestoreDrills(w.scheduleDeps)).toEqual([]);

    // A drill whose orchestration was terminated before it recorded anything: the timer ends it — job Failed
    // (retryable KluisRestoreDrillEnded), its scratch deleted, the item's health unchanged.
    w.clock.value = new Date(w.clock.value.getTime() + 7 * DAY);
    const [terminated] = await findDueRestoreDrills(w.scheduleDeps);
    await startRestoreDrill(w.scheduleDeps, terminated);
    const active = await listActiveRestoreDrills(w.scheduleDeps);
    expect(active).toEqual([expect.objectContaining({ jobId: terminated.jobId, recoveryPointId: terminated.recoveryPointId, engineItemId: w.itemId })]);
    const partial = `${drillsScratchPrefix(w.itemId)}${terminated.jobId}/lun0-os.vhd`;
    await w.store.createPageBlob({ container: w.vaultContainer, blob: partial }, 512);
    await endRestoreDrill(w.drillDeps, active[0], 'its orchestration is Terminated');
    const ended = await getJob(w.drillDeps, w.scope, terminated.jobId);
    expect(ended).toMatchObject({ status: 'Failed', errorDetails: [expect.objectContaining({ errorCode: 'KluisRestoreDrillEnded', errorString: expect.stringContaining('Terminated') })] });
    expect(await w.scratch()).toEqual([]);
    expect(await listActiveRestoreDrills(w.scheduleDeps)).toEqual([]);
    expect((await w.armItem()).properties).toMatchObject({ healthStatus: 'Passed', healthDetails: [] });
  });

  it('fails a drill of a point with a flipped byte in its vault copy: job Failed with the code, no scratch, health ActionRequired linking the job; the next passing drill clears it', async () => {
    const w = await world();
    await w.addPoint();
    const corrupted = await w.addPoint(true);
    // The policy's own setting wins over the vault's (off here).
    await w.setVaultDrill({ frequency: 'Off', pointSelection: 'Latest', seed: 0 });
    const policy = (await w.catalog.policies.get(w.key, 'defaultpolicy'))!;
    await w.catalog.policies.replace(w.key, 'defaultpolicy', { ...policy.value, properties: { ...policy.value.properties, kluisRestoreDrill: { frequency: 'Daily' } } }, policy.etag);

    const { results } = await w.drillNow();
    expect(results).toEqual([expect.objectContaining({ status: 'Failed', recoveryPointId: corrupted, errorCode: 'KluisRestoreVerificationFailed' })]);
    const jobId = results[0].jobId;
    expect(jobId).toBe(restoreDrillJobId(w.itemId, `Daily-${Math.floor(w.clock.value.getTime() / DAY)}`));
    const job = await getJob(w.drillDeps, w.scope, jobId);
    expect(job).toMatchObject({ operation: 'RestoreDrill', status: 'Failed', propertyBag: expect.objectContaining({ 'Recovery point': corrupted }) });
    expect(job.errorDetails).toEqual([expect.objectContaining({ errorCode: 'KluisRestoreVerificationFailed', errorString: expect.stringContaining('lun 1') })]);
    expect(await w.scratch()).toEqual([]);

    const unhealthy = (await w.armItem()).properties;
    expect(unhealthy).toMatchObject({ healthStatus: 'ActionRequired', protectionStatus: 'Unhealthy' });
    expect(unhealthy.healthDetails).toEqual([
      expect.objectContaining({ code: HEALTH_DETAIL_CODES.RestoreDrillFailed, message: expect.stringContaining(jobId), recommendations: [expect.stringContaining(jobId)] }),
    ]);
    expect((await w.storedItem()).healthStatus).toBe('Passed'); // the backups' own health is untouched

    // A dead drill's scratch: `kluis check` reports it; the next drill (a new, sound point) sweeps it and clears the health.
    const leftover = `${drillsScratchPrefix(w.itemId)}${randomUUID()}/lun0-os.vhd`;
    await w.store.createPageBlob({ container: w.vaultContainer, blob: leftover }, 512);
    const report = await checkVaultItems({ vault: w.store, vaultContainer: w.vaultContainer, catalog: w.points, sources: pageBlobSources(w.store) }, { itemIds: [w.itemId] });
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'OrphanDrillScratch', blob: leftover })]);
    // The flipped bytes stay in the replica until written again (an incremental backup does not rewrite an unchanged
    // block): put the source's bytes back, as a full backup would, before the next point.
    await w.repairReplica();
    const sound = await w.addPoint();
    w.clock.value = new Date(w.clock.value.getTime() + DAY);
    expect((await w.drillNow()).results).toEqual([expect.objectContaining({ status: 'Passed', recoveryPointId: sound })]);
    expect(await w.scratch()).toEqual([]);
    expect((await w.armItem()).properties).toMatchObject({ healthStatus: 'Passed', protectionStatus: 'Healthy', healthDetails: [] });
  });
});
