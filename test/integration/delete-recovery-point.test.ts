/**
 * Deleting a recovery point's snapshot tier and vault data on a real Azurite: order, refusal,
 * idempotence, and a crash between any two steps followed by a re-run.
 */
import type { BlobServiceClient } from '@azure/storage-blob';
import { isKluisErrorLike } from '../../lib/domain/errors';
import {
  deleteRecoveryPointSnapshotTier,
  deleteRecoveryPointVaultData,
  type DeleteRecoveryPointDeps,
} from '../../lib/engine/recovery-points/delete-recovery-point';
import { META, type EngineLogger } from '../../lib/engine/engine-deps';
import { restoreDisks } from '../../lib/engine/restore/restore-disks';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { BlobRestoreTargetStore } from '../../lib/stores/azure/blob-restore-target-store';
import { TableRecoveryPointCatalog } from '../../lib/stores/azure/table-recovery-point-catalog';
import { buildRecoveryPoint, type BuiltRecoveryPoint } from '../support/recovery-point-fixture';
import { blobService, uniqueName, uniqueTableName, useAzurite } from '../support/azurite';
import { pageBlobSources } from '../support/backup-engine';

const MiB = 1024 * 1024;
const azurite = useAzurite();
const NO_RETRIES = { retryOptions: { maxTries: 1 } };

interface World {
  conn: string;
  blobs: BlobServiceClient;
  source: BlobPageStore;
  deps: DeleteRecoveryPointDeps;
  sourceContainer: string;
  vaultContainer: string;
  itemId: string;
}

function world(): World {
  const conn = azurite().connectionString;
  const log: EngineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const source = BlobPageStore.fromConnectionString(conn, NO_RETRIES);
  return {
    conn,
    blobs: blobService(conn),
    source,
    deps: {
      vault: BlobPageStore.fromConnectionString(conn, NO_RETRIES),
      sources: pageBlobSources(source),
      catalog: TableRecoveryPointCatalog.fromConnectionString(conn, uniqueTableName('rps'), { retryOptions: { maxRetries: 0 } }),
      log,
    },
    sourceContainer: uniqueName('source'),
    vaultContainer: uniqueName('vault'),
    itemId: uniqueName('vm'),
  };
}

async function point(w: World, recoveryPointId: string, reuseSourceDisks = false): Promise<BuiltRecoveryPoint> {
  return buildRecoveryPoint({
    source: w.blobs,
    vault: w.blobs,
    catalog: w.deps.catalog,
    sourceContainer: w.sourceContainer,
    vaultContainer: w.vaultContainer,
    itemId: w.itemId,
    recoveryPointId,
    disks: [
      { lun: 0, name: 'os', dataSize: 2 * MiB },
      { lun: 1, name: 'data', dataSize: 1 * MiB },
    ],
    reuseSourceDisks,
  });
}

/** What exists of a point: its row state, instant snapshots, replica snapshots, checksums, manifest. */
async function inventory(w: World, built: BuiltRecoveryPoint) {
  const source = w.blobs.getContainerClient(w.sourceContainer);
  const vault = w.blobs.getContainerClient(w.vaultContainer);
  const row = await w.deps.catalog.get(built.manifest.itemId, built.manifest.recoveryPointId);
  const exists = (p: Promise<boolean>) => p;
  return {
    state: row?.state ?? 'gone',
    instant: await Promise.all(built.disks.map((d) => exists(source.getBlobClient(d.sourceBlob).withSnapshot(d.sourceSnapshot).exists()))),
    replica: await Promise.all(built.disks.map((d) => exists(vault.getBlobClient(d.replicaBlob).withSnapshot(d.replicaSnapshot).exists()))),
    checksums: await Promise.all(built.disks.map((d) => exists(vault.getBlobClient(d.checksumsBlob).exists()))),
    manifest: await vault.getBlobClient(built.row.manifestBlobName).exists(),
    replicaBases: await Promise.all(built.disks.map((d) => exists(vault.getBlobClient(d.replicaBlob).exists()))),
    sourceDisks: await Promise.all(built.disks.map((d) => exists(source.getBlobClient(d.sourceBlob).exists()))),
  };
}

const FULL = {
  state: 'Committed',
  instant: [true, true],
  replica: [true, true],
  checksums: [true, true],
  manifest: true,
  replicaBases: [true, true],
  sourceDisks: [true, true],
};
const SNAPSHOT_TIER_GONE = { ...FULL, state: 'SnapshotTierDeleted', instant: [false, false] };
const POINT_GONE = { ...SNAPSHOT_TIER_GONE, state: 'gone', replica: [false, false], checksums: [false, false], manifest: false };

async function failureOf(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return { code: isKluisErrorLike(err) ? err.code : undefined, message: (err as Error).message };
  }
  throw new Error('expected a failure');
}

/** A store whose `method` throws "crash" on its `nth` call, as if the process died there. */
function crashingOn<T extends object>(store: T, method: keyof T & string, nth = 1, when: (...args: unknown[]) => boolean = () => true): T {
  let calls = 0;
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== method || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return (...args: unknown[]) => {
        if (when(...args)) {
          calls += 1;
          if (calls === nth) return Promise.reject(new Error(`crash in ${method}`));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const ids = (built: BuiltRecoveryPoint) => ({ itemId: built.manifest.itemId, recoveryPointId: built.manifest.recoveryPointId });

describe('deleteRecoveryPointSnapshotTier / deleteRecoveryPointVaultData', () => {
  test('two overlapping deletes of one point (e.g. two retention runs) both succeed and leave nothing behind', async () => {
    const w = world();
    const built = await point(w, '1000');

    const results = await Promise.all([
      deleteRecoveryPointVaultData(w.deps, { ...ids(built), force: true }),
      deleteRecoveryPointVaultData(w.deps, { ...ids(built), force: true }),
      deleteRecoveryPointSnapshotTier(w.deps, ids(built)),
    ]);

    expect(results.slice(0, 2).every((r) => r.pointRemoved)).toBe(true);
    expect(await inventory(w, built)).toEqual(POINT_GONE);
  });

  test('the vault tier cannot go while the snapshot tier exists; nothing changes', async () => {
    const w = world();
    const built = await point(w, '1000');

    const failure = await failureOf(deleteRecoveryPointVaultData(w.deps, ids(built)));

    expect(failure.code).toBe('KluisVaultTierDeletionBlocked');
    expect(await inventory(w, built)).toEqual(FULL);
  });

  test('snapshot tier, then vault tier: each removes only its own blobs; shared replicas and source disks stay', async () => {
    const w = world();
    const built = await point(w, '1000');

    const snapshotTier = await deleteRecoveryPointSnapshotTier(w.deps, ids(built));
    expect(snapshotTier).toMatchObject({ tier: 'InstantRP', alreadyDeleted: false, pointRemoved: false });
    expect(snapshotTier.deleted.map((d) => d.account)).toEqual(['source', 'source']);
    expect(await inventory(w, built)).toEqual(SNAPSHOT_TIER_GONE);

    // The vault tier still restores, verified.
    const restored = await restoreDisks(
      {
        ...w.deps,
        target: BlobRestoreTargetStore.fromConnectionString(w.conn, NO_RETRIES),
        clock: () => new Date(),
      },
      { ...ids(built), jobId: 'job-1', targetContainer: uniqueName('target') },
    );
    expect(restored.disks.map((d) => d.tier)).toEqual(['HardenedRP', 'HardenedRP']);

    const vaultTier = await deleteRecoveryPointVaultData(w.deps, ids(built));
    expect(vaultTier).toMatchObject({ tier: 'HardenedRP', alreadyDeleted: false, pointRemoved: true });
    expect(vaultTier.deleted.at(-1)).toMatchObject({ account: 'vault', blob: built.row.manifestBlobName });
    expect(await inventory(w, built)).toEqual(POINT_GONE);
  });

  test('deleting twice succeeds and reports that nothing was left', async () => {
    const w = world();
    const built = await point(w, '1000');
    await deleteRecoveryPointSnapshotTier(w.deps, ids(built));
    expect(await deleteRecoveryPointSnapshotTier(w.deps, ids(built))).toMatchObject({ alreadyDeleted: true, deleted: [] });
    await deleteRecoveryPointVaultData(w.deps, ids(built));
    expect(await deleteRecoveryPointVaultData(w.deps, ids(built))).toMatchObject({ alreadyDeleted: true, pointRemoved: true, deleted: [] });
    expect(await deleteRecoveryPointSnapshotTier(w.deps, ids(built))).toMatchObject({ alreadyDeleted: true, pointRemoved: true });
    expect(await inventory(w, built)).toEqual(POINT_GONE);
  });

  test('retention forces the whole point out: snapshot tier first, then the vault data', async () => {
    const w = world();
    const built = await point(w, '1000');

    const result = await deleteRecoveryPointVaultData(w.deps, { ...ids(built), force: true });

    expect(result.deleted.map((d) => d.account)).toEqual(['source', 'source', 'vault', 'vault', 'vault', 'vault', 'vault']);
    expect(await inventory(w, built)).toEqual(POINT_GONE);
  });

  test('a snapshot tier that expired on its own does not block the vault delete', async () => {
    const w = world();
    const built = await point(w, '1000');
    for (const d of built.disks) {
      await w.blobs.getContainerClient(w.sourceContainer).getBlobClient(d.sourceBlob).withSnapshot(d.sourceSnapshot).delete();
    }

    await deleteRecoveryPointVaultData(w.deps, ids(built));

    expect(await inventory(w, built)).toEqual(POINT_GONE);
  });

  test('a second replica snapshot of the point (a snapshot request retried after its answer was lost) goes with it; another point\'s stays', async () => {
    const w = world();
    const built = await point(w, '1000');
    const replica = w.blobs.getContainerClient(w.vaultContainer).getPageBlobClient(built.disks[1].replicaBlob);
    const twin = (await replica.createSnapshot({ metadata: { [META.recoveryPointId]: '1000', [META.kind]: 'replica' } })).snapshot as string;
    const other = (await replica.createSnapshot({ metadata: { [META.recoveryPointId]: '2000', [META.kind]: 'replica' } })).snapshot as string;
    await deleteRecoveryPointSnapshotTier(w.deps, ids(built));

    const result = await deleteRecoveryPointVaultData(w.deps, ids(built));

    expect(result.deleted).toContainEqual({ account: 'vault', container: w.vaultContainer, blob: built.disks[1].replicaBlob, snapshot: twin });
    expect([await replica.withSnapshot(twin).exists(), await replica.withSnapshot(other).exists()]).toEqual([false, true]);
    expect(await inventory(w, built)).toEqual(POINT_GONE);
  });

  test("deleting one point leaves the other points' snapshots, checksums and manifests alone", async () => {
    const w = world();
    const first = await point(w, '1000');
    const second = await point(w, '2000', true);

    await deleteRecoveryPointVaultData(w.deps, { ...ids(first), force: true });

    expect(await inventory(w, first)).toEqual(POINT_GONE);
    expect(await inventory(w, second)).toEqual(FULL);
  });

  test.each([
    ['the first instant snapshot delete', 'source', 1, 'SnapshotTierDeleting'],
    ['the second instant snapshot delete', 'source', 2, 'SnapshotTierDeleting'],
    ['recording the tier as deleted', 'catalog', 2, 'SnapshotTierDeleting'],
  ] as const)('a crash at %s of the snapshot-tier delete, then a re-run: consistent', async (_name, part, nth, stateAfterCrash) => {
    const w = world();
    const built = await point(w, '1000');
    const deps: DeleteRecoveryPointDeps =
      part === 'source'
        ? { ...w.deps, sources: pageBlobSources(crashingOn(w.source, 'deleteSnapshot', nth)) }
        : { ...w.deps, catalog: crashingOn(w.deps.catalog, 'put', nth) };

    expect((await failureOf(deleteRecoveryPointSnapshotTier(deps, ids(built)))).message).toMatch(/^crash/);
    expect((await inventory(w, built)).state).toBe(stateAfterCrash);
    // Half-deleted: the vault tier stays protected until the snapshot tier is really gone.
    expect((await failureOf(deleteRecoveryPointVaultData(w.deps, ids(built)))).code).toBe('KluisVaultTierDeletionBlocked');

    await deleteRecoveryPointSnapshotTier(w.deps, ids(built));
    expect(await inventory(w, built)).toEqual(SNAPSHOT_TIER_GONE);
  });

  test.each([
    ['marking the row', 'catalog', 'put', 1, 'SnapshotTierDeleted'],
    ['the first replica snapshot delete', 'vault', 'deleteSnapshot', 1, 'Deleting'],
    ['a checksums delete', 'vault', 'deleteBlob', 1, 'Deleting'],
    ['the manifest delete', 'vault', 'deleteBlob', 3, 'Deleting'],
    ['removing the row', 'catalog', 'delete', 1, 'Deleting'],
  ] as const)('a crash at %s of the vault delete, then a re-run: consistent', async (_name, part, method, nth, stateAfterCrash) => {
    const w = world();
    const built = await point(w, '1000');
    await deleteRecoveryPointSnapshotTier(w.deps, ids(built));
    const deps: DeleteRecoveryPointDeps =
      part === 'vault'
        ? { ...w.deps, vault: crashingOn(w.deps.vault, method as 'deleteSnapshot' | 'deleteBlob', nth) }
        : { ...w.deps, catalog: crashingOn(w.deps.catalog, method as 'put' | 'delete', nth) };

    expect((await failureOf(deleteRecoveryPointVaultData(deps, ids(built)))).message).toMatch(/^crash/);
    const after = await inventory(w, built);
    expect(after.state).toBe(stateAfterCrash);
    // Never orphaned: while the manifest exists the row does, and while the row is 'Deleting' nobody restores it.
    if (!after.manifest) expect(after.checksums.concat(after.replica)).not.toContain(true);
    if (after.state === 'gone') expect(after.manifest).toBe(false);

    await deleteRecoveryPointVaultData(w.deps, ids(built));
    expect(await inventory(w, built)).toEqual(POINT_GONE);
  });

  test('bad ids are refused before anything is touched', async () => {
    const w = world();
    expect((await failureOf(deleteRecoveryPointVaultData(w.deps, { itemId: 'vm', recoveryPointId: 'abc' }))).code).toBe(
      'KluisInvalidIdentifier',
    );
    expect((await failureOf(deleteRecoveryPointSnapshotTier(w.deps, { itemId: '../x', recoveryPointId: '1' }))).code).toBe(
      'KluisInvalidIdentifier',
    );
  });
});
