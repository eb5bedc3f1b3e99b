/**
 * Retention cleanup of protected items on a real Azurite: points built in the shared formats, the
 * item and policy in the vault catalog, then applyRetention at a later time.
 */
import type { BlobServiceClient } from '@azure/storage-blob';
import { vaultKey, type PolicyRecord, type ProtectedItemRecord } from '../../lib/domain/catalog';
import { defaultPolicy } from '../../lib/domain/policy-rules';
import { applyRetention, listRetentionItems, type ApplyRetentionDeps } from '../../lib/services/apply-retention';
import { expireSnapshotTier } from '../../lib/engine/recovery-points/expire-snapshot-tier';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { TableRecoveryPointCatalog } from '../../lib/stores/azure/table-recovery-point-catalog';
import { collect } from '../../lib/stores/document-store';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';
import { pageBlobSources, silentLogger } from '../support/backup-engine';
import { buildRecoveryPoint } from '../support/recovery-point-fixture';
import { blobService, uniqueName, uniqueTableName, useAzurite } from '../support/azurite';

const azurite = useAzurite();
const DAY = 24 * 3600 * 1000;
const KEY = vaultKey('00000000-0000-0000-0000-000000000001', 'rg', 'vault1');
const ITEM = 'VM;iaasvmcontainerv2;rg;web01';
const VAULT = {
  id: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/vault1',
  subscriptionId: '00000000-0000-0000-0000-000000000001',
  resourceGroup: 'rg',
  name: 'vault1',
};
/** Daily 19:00 UTC backups from 2026-03-01. */
const day = (n: number) => Date.parse('2026-03-01T19:00:00Z') + n * DAY;

interface World {
  blobs: BlobServiceClient;
  deps: ApplyRetentionDeps;
  now: { value: Date };
  engineItemId: string;
  sourceContainer: string;
  vaultContainer: string;
}

async function world(item: Partial<ProtectedItemRecord> = {}, retentionDays = 7): Promise<World> {
  const conn = azurite().connectionString;
  const source = BlobPageStore.fromConnectionString(conn);
  const vaultCatalog = memoryVaultCatalog();
  const recoveryPoints = TableRecoveryPointCatalog.fromConnectionString(conn, uniqueTableName('rps'));
  vaultCatalog.recoveryPoints = recoveryPoints;
  const now = { value: new Date(day(0)) };
  const engineItemId = uniqueName('item');
  const policy = defaultPolicy();
  policy.retentionPolicy.dailySchedule!.retentionDuration.count = retentionDays;
  await vaultCatalog.vaults.insert('00000000-0000-0000-0000-000000000001', 'rg~vault1', {
    id: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/vault1',
    subscriptionId: '00000000-0000-0000-0000-000000000001',
    resourceGroup: 'rg',
    name: 'vault1',
    location: 'westeurope',
    storageModelType: 'GeoRedundant',
    softDelete: { state: 'Enabled', retentionDays: 14 },
    createdAt: new Date(day(-1)).toISOString(),
  });
  await vaultCatalog.policies.insert(KEY, 'defaultpolicy', {
    vaultId: 'v',
    name: 'DefaultPolicy',
    properties: policy,
    createdAt: new Date(day(-1)).toISOString(),
    updatedAt: new Date(day(-1)).toISOString(),
  } satisfies PolicyRecord);
  await vaultCatalog.items.insert(KEY, ITEM.toLowerCase(), {
    vaultId: 'v',
    containerName: 'IaasVMContainer;iaasvmcontainerv2;rg;web01',
    itemName: ITEM,
    engineItemId,
    vm: { id: 'vm', name: 'web01', resourceGroup: 'rg', location: 'westeurope', osType: 'Linux', vmSize: 'Standard_B1s' },
    policyName: 'DefaultPolicy',
    protectionState: 'Protected',
    healthStatus: 'Passed',
    onDemandBackups: [],
    createdAt: new Date(day(-1)).toISOString(),
    ...item,
  });
  const vault = BlobPageStore.fromConnectionString(conn);
  const vaultContainer = uniqueName('vault');
  return {
    blobs: blobService(conn),
    deps: {
      vault,
      sources: pageBlobSources(source),
      catalog: recoveryPoints,
      vaultCatalog,
      clock: () => now.value,
      newId: () => uniqueName('id'),
      log: silentLogger,
      itemBlobs: { store: vault, container: vaultContainer },
    },
    now,
    engineItemId,
    sourceContainer: uniqueName('src'),
    vaultContainer,
  };
}

async function points(w: World, days: number[], firstOfItem = true): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, n] of days.entries()) {
    const built = await buildRecoveryPoint({
      source: w.blobs,
      vault: w.blobs,
      catalog: w.deps.catalog,
      sourceContainer: w.sourceContainer,
      vaultContainer: w.vaultContainer,
      itemId: w.engineItemId,
      recoveryPointId: String(day(n)),
      disks: [{ lun: 0, name: 'os', dataSize: 256 * 1024 }],
      reuseSourceDisks: i > 0 || !firstOfItem,
    });
    ids.push(built.row.recoveryPointId);
  }
  return ids;
}

const rows = async (w: World) => collect(w.deps.catalog.list(w.engineItemId));

describe('applyRetention', () => {
  it('expires points past the daily retention, records the rule on kept points and drops old snapshot tiers', async () => {
    const w = await world();
    const ids = await points(w, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    w.now.value = new Date(day(9) + 3600 * 1000);

    const result = await applyRetention(w.deps, { vault: VAULT, itemName: ITEM });
    // 7 daily points: days 3..9 are younger than 7 days at day 9 20:00; days 0..2 expired.
    expect(result.outcome).toBe('Pruned');
    expect(result.expired).toEqual(ids.slice(0, 2 + 1));
    const left = await rows(w);
    expect(left.map((r) => r.recoveryPointId)).toEqual(ids.slice(3));
    expect(left.every((r) => r.retention?.ruleName === 'Daily')).toBe(true);
    expect(left[0].retention?.expiryTime).toBe(new Date(day(3) + 7 * DAY).toISOString());
    // DefaultPolicy keeps instant snapshots 2 days: days 3..7 lose their snapshot tier.
    expect(result.snapshotTierExpired).toEqual(ids.slice(3, 8));
    expect(left.filter((r) => r.state === 'SnapshotTierDeleted').map((r) => r.recoveryPointId)).toEqual(ids.slice(3, 8));
    const vaultBlobs = [];
    for await (const b of w.blobs.getContainerClient(w.vaultContainer).listBlobsFlat({ includeSnapshots: true })) vaultBlobs.push(b.name);
    expect(vaultBlobs.filter((n) => n.endsWith('manifest.json'))).toHaveLength(7);

    // A second run has nothing left to do.
    const again = await applyRetention(w.deps, { vault: VAULT, itemName: ITEM });
    expect(again).toMatchObject({ expired: [], snapshotTierExpired: [], kept: 7 });
  });

  it('keeps an on-demand point until its retain-until, and always the latest point', async () => {
    const w = await world({}, 7);
    const [scheduled, onDemand] = await points(w, [0, 1]);
    const row = (await w.deps.catalog.get(w.engineItemId, onDemand))!;
    const { etag, ...record } = row;
    await w.deps.catalog.put({ ...record, retention: { isOnDemand: true, retainUntil: new Date(day(40)).toISOString() } }, { ifMatch: etag });
    w.now.value = new Date(day(30));
    const result = await applyRetention(w.deps, { vault: VAULT, itemName: ITEM });
    expect(result.expired).toEqual([scheduled]);
    expect((await rows(w)).map((r) => [r.recoveryPointId, r.retention?.ruleName])).toEqual([[onDemand, 'OnDemand']]);

    w.now.value = new Date(day(60));
    await applyRetention(w.deps, { vault: VAULT, itemName: ITEM });
    expect((await rows(w)).map((r) => [r.recoveryPointId, r.retention?.ruleName])).toEqual([[onDemand, 'Latest']]);
  });

  it('applies a policy change retroactively: a longer retention keeps older points', async () => {
    const w = await world({}, 7);
    await points(w, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const policy = (await w.deps.vaultCatalog.policies.get(KEY, 'defaultpolicy'))!;
    policy.value.properties.retentionPolicy.dailySchedule!.retentionDuration.count = 30;
    await w.deps.vaultCatalog.policies.replace(KEY, 'defaultpolicy', policy.value, policy.etag);
    w.now.value = new Date(day(9) + 3600 * 1000);
    const result = await applyRetention(w.deps, { vault: VAULT, itemName: ITEM });
    expect(result.expired).toEqual([]);
    expect(result.kept).toBe(10);
  });

  it('leaves a stopped item (retain data) alone', async () => {
    const w = await world({ protectionState: 'ProtectionStopped', policyName: undefined });
    await points(w, [0, 1]);
    w.now.value = new Date(day(400));
    const result = await applyRetention(w.deps, { vault: VAULT, itemName: ITEM });
    expect(result).toMatchObject({ outcome: 'Skipped', expired: [] });
    expect(await rows(w)).toHaveLength(2);
  });

  it('purges a soft-deleted item after its 14 days, not before', async () => {
    const deletedAt = new Date(day(2)).toISOString();
    const purgeAt = new Date(day(16)).toISOString();
    const w = await world({ protectionState: 'ProtectionStopped', policyName: undefined, softDelete: { deletedAt, purgeAt } });
    await points(w, [0, 1]);
    w.now.value = new Date(day(15));
    expect(await applyRetention(w.deps, { vault: VAULT, itemName: ITEM })).toMatchObject({ outcome: 'Skipped' });
    expect(await rows(w)).toHaveLength(2);

    w.now.value = new Date(day(16) + 1);
    const purged = await applyRetention(w.deps, { vault: VAULT, itemName: ITEM });
    expect(purged.outcome).toBe('Purged');
    expect(await rows(w)).toHaveLength(0);
    expect(await w.deps.vaultCatalog.items.get(KEY, ITEM.toLowerCase())).toBeUndefined();
    // Nothing of the item is left in the vault: no snapshot, and no base blob either (its 1 TiB replica would leak).
    const left = [];
    for await (const b of w.blobs.getContainerClient(w.vaultContainer).listBlobsFlat({ includeSnapshots: true, prefix: `items/${w.engineItemId}/` })) left.push(b.snapshot ? `${b.name}@${b.snapshot}` : b.name);
    expect(left).toEqual([]);
    expect(await listRetentionItems(w.deps)).toEqual([]);
  });

  it("keeps the latest point's snapshot through 8 failing days, says why, and drops it after the next successful backup", async () => {
    const w = await world({}, 30);
    const [first, latest] = await points(w, [0, 1]);
    // Backups fail for 8 days: no new point; the latest keeps its snapshot past its 2 instant-restore days.
    for (let d = 2; d <= 9; d++) {
      w.now.value = new Date(day(d) + 3600 * 1000);
      await applyRetention(w.deps, { vault: VAULT, itemName: ITEM, runId: `run-${d}` });
    }
    let left = await rows(w);
    expect(left.map((r) => [r.recoveryPointId, r.state])).toEqual([
      [first, 'SnapshotTierDeleted'],
      [latest, 'Committed'],
    ]);
    expect(left[1].retention?.snapshotTier).toEqual({
      expiryTime: new Date(day(1) + 2 * DAY).toISOString(),
      reason: expect.stringContaining('the latest recovery point keeps its snapshot until the next successful backup'),
    });
    // The next backup succeeds: the old latest loses its snapshot at the next cleanup; the point stays (30 days).
    const [next] = await points(w, [10], false);
    w.now.value = new Date(day(10) + 3600 * 1000);
    const result = await applyRetention(w.deps, { vault: VAULT, itemName: ITEM, runId: 'run-10' });
    expect(result.snapshotTierExpired).toEqual([latest]);
    left = await rows(w);
    expect(left.map((r) => [r.recoveryPointId, r.state])).toEqual([
      [first, 'SnapshotTierDeleted'],
      [latest, 'SnapshotTierDeleted'],
      [next, 'Committed'],
    ]);
  });

  it('records what it deletes, and why, on one system-triggered DeleteBackupData job per run and item', async () => {
    const w = await world({}, 7);
    const ids = await points(w, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    w.now.value = new Date(day(9) + 3600 * 1000);
    const result = await applyRetention(w.deps, { vault: VAULT, itemName: ITEM, runId: 'retention-2026031020' });
    expect(result.jobId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    const job = (await w.deps.vaultCatalog.jobs.get(KEY, result.jobId!))!.value;
    expect(job).toMatchObject({ operation: 'DeleteBackupData', status: 'Completed', isUserTriggered: false, entityFriendlyName: 'web01', itemName: ITEM });
    expect(job.propertyBag[`Recovery point ${ids[0]}`]).toMatch(/^Expired at 2026-03-08 19:00 UTC: the Daily rule \(every scheduled backup, 7 days\) kept it until then/);
    expect(job.propertyBag[`Snapshot of recovery point ${ids[3]}`]).toMatch(/^Snapshot expired at 2026-03-06 19:00 UTC, the end of the policy's 2 instant-restore day/);
    expect(job.propertyBag.Summary).toBe('3 recovery point(s) and 5 snapshot(s) deleted by the policy DefaultPolicy; 7 point(s) kept.');
    // A retry of the same run (nothing left to delete) makes no second job; a run that deletes nothing makes none.
    const again = await applyRetention(w.deps, { vault: VAULT, itemName: ITEM, runId: 'retention-2026031020' });
    expect(again.jobId).toBeUndefined();
    const jobs = await collect(w.deps.vaultCatalog.jobs.list(KEY));
    expect(jobs.map((j) => j.value.jobId)).toEqual([result.jobId]);
    // Kept points carry the rule, the expiry and the reason.
    const kept = (await rows(w))[0];
    expect(kept.retention).toMatchObject({ ruleName: 'Daily', expiryTime: new Date(day(3) + 7 * DAY).toISOString(), reason: expect.stringMatching(/^Kept until 2026-03-11 19:00 UTC by the Daily rule/), longTermTags: [] });
  });

  it('keeps the long-term tags a point was taken with when the policy changes', async () => {
    const w = await world({}, 7);
    // 2026-03-01 is a Sunday: under a weekly (Sunday) rule the point is tagged Weekly.
    const policy = (await w.deps.vaultCatalog.policies.get(KEY, 'defaultpolicy'))!;
    policy.value.properties.retentionPolicy.weeklySchedule = { daysOfTheWeek: ['Sunday'], retentionDuration: { count: 4, durationType: 'Weeks' } };
    await w.deps.vaultCatalog.policies.replace(KEY, 'defaultpolicy', policy.value, policy.etag);
    const [sunday] = await points(w, [0, 1]);
    w.now.value = new Date(day(1) + 3600 * 1000);
    await applyRetention(w.deps, { vault: VAULT, itemName: ITEM });
    expect((await w.deps.catalog.get(w.engineItemId, sunday))?.retention).toMatchObject({ ruleName: 'Weekly', longTermTags: ['Weekly'] });
    // The weekly rule moves to Monday: the Sunday point stays weekly (tags stay), kept its 4 weeks.
    const edited = (await w.deps.vaultCatalog.policies.get(KEY, 'defaultpolicy'))!;
    edited.value.properties.retentionPolicy.weeklySchedule = { daysOfTheWeek: ['Monday'], retentionDuration: { count: 4, durationType: 'Weeks' } };
    await w.deps.vaultCatalog.policies.replace(KEY, 'defaultpolicy', edited.value, edited.etag);
    w.now.value = new Date(day(20));
    const result = await applyRetention(w.deps, { vault: VAULT, itemName: ITEM });
    expect(result.expired).toEqual([]);
    expect((await w.deps.catalog.get(w.engineItemId, sunday))?.retention).toMatchObject({ ruleName: 'Weekly', expiryTime: new Date(day(28)).toISOString() });
  });

  it('expireSnapshotTier: the oldest beyond a count cap and those past a cutoff lose their snapshot; the newest never does', async () => {
    const w = await world({}, 30);
    const ids = await points(w, [0, 1, 2, 3]);
    expect(await expireSnapshotTier(w.deps, { itemId: w.engineItemId, keepNewest: 2 })).toEqual({ expired: ids.slice(0, 2) });
    expect((await rows(w)).map((r) => r.state)).toEqual(['SnapshotTierDeleted', 'SnapshotTierDeleted', 'Committed', 'Committed']);
    // A cutoff after every point: all but the newest go.
    expect(await expireSnapshotTier(w.deps, { itemId: w.engineItemId, olderThan: new Date(day(10)).toISOString() })).toEqual({ expired: [ids[2]] });
    expect((await rows(w)).map((r) => r.state)).toEqual(['SnapshotTierDeleted', 'SnapshotTierDeleted', 'SnapshotTierDeleted', 'Committed']);
    await expect(expireSnapshotTier(w.deps, { itemId: w.engineItemId, olderThan: 'soon' })).rejects.toThrow(RangeError);
  });
});

