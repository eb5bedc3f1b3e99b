/**
 * `kluis check`'s engine part (lib/engine/recovery-points/check-vault.ts) on real Azurite: points built in the
 * shared formats, then each corruption planted on purpose is found — a flipped byte in a replica (with
 * readData only), a deleted replica snapshot and instant snapshot, a manifest that disagrees with the catalog,
 * a tampered checksums blob, an orphan blob, a catalog row without blobs — and `repair` removes the
 * orphans only, changing nothing else.
 */
import { checkVaultItems, type CheckVaultDeps } from '../../lib/engine/recovery-points/check-vault';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { TableRecoveryPointCatalog } from '../../lib/stores/azure/table-recovery-point-catalog';
import { manifestBlobName } from '../../lib/engine/domain/vault-layout';
import { pageBlobSources } from '../support/backup-engine';
import { buildRecoveryPoint, type BuiltRecoveryPoint } from '../support/recovery-point-fixture';
import { blobService, uniqueName, uniqueTableName, useAzurite } from '../support/azurite';

const azurite = useAzurite();

describe('checking a vault', () => {
  async function world(points = 2, corruptReplica?: { lun: number; offset: number; bytes: Buffer }) {
    const conn = azurite().connectionString;
    const store = BlobPageStore.fromConnectionString(conn);
    const catalog = TableRecoveryPointCatalog.fromConnectionString(conn, uniqueTableName('check'));
    const vaultContainer = uniqueName('vault');
    const sourceContainer = uniqueName('src');
    const itemId = uniqueName('item');
    const built: BuiltRecoveryPoint[] = [];
    for (let i = 0; i < points; i++) {
      built.push(
        await buildRecoveryPoint({
          source: blobService(conn),
          vault: blobService(conn),
          catalog,
          sourceContainer,
          vaultContainer,
          itemId,
          recoveryPointId: String(1_772_400_000_000 + i * 86_400_000),
          disks: [
            { lun: 0, name: 'os', dataSize: 512 * 1024 },
            { lun: 1, name: 'data', dataSize: 256 * 1024 },
          ],
          reuseSourceDisks: i > 0,
          ...(i === points - 1 && corruptReplica !== undefined ? { corruptReplica } : {}),
        }),
      );
    }
    const deps: CheckVaultDeps = { vault: store, vaultContainer, catalog, sources: pageBlobSources(store) };
    const vault = blobService(conn).getContainerClient(vaultContainer);
    const source = blobService(conn).getContainerClient(sourceContainer);
    const check = (options: { readData?: boolean; repair?: boolean } = {}) => checkVaultItems(deps, { itemIds: [itemId], ...options });
    return { deps, built, itemId, vault, source, catalog, check };
  }

  it('finds nothing wrong in a sound vault, and reads every block back with --read-data', async () => {
    const w = await world();
    expect(await w.check()).toMatchObject({ items: 1, recoveryPoints: 2, problems: [] });
    const full = await w.check({ readData: true });
    expect(full.problems).toEqual([]);
    expect(full.bytesVerified).toBeGreaterThan(0);
  });

  it('finds a flipped byte in a replica only when it reads the data', async () => {
    const w = await world(2, { lun: 1, offset: 66_048, bytes: Buffer.alloc(512, 0x5a) });
    expect((await w.check()).problems).toEqual([]);
    const { problems } = await w.check({ readData: true });
    expect(problems).toEqual([expect.objectContaining({ kind: 'DataChecksumMismatch', recoveryPointId: w.built[1].row.recoveryPointId, lun: 1 })]);
  });

  it('finds a deleted replica snapshot and a deleted instant snapshot', async () => {
    const w = await world();
    const [older] = w.built;
    await w.vault.getPageBlobClient(older.disks[0].replicaBlob).withSnapshot(older.disks[0].replicaSnapshot).delete();
    await w.source.getPageBlobClient(older.disks[1].sourceBlob).withSnapshot(older.disks[1].sourceSnapshot).delete();
    const kinds = (await w.check()).problems.map((p) => `${p.kind} ${p.recoveryPointId} lun${p.lun}`).sort();
    expect(kinds).toEqual([`InstantSnapshotMissing ${older.row.recoveryPointId} lun1`, `ReplicaSnapshotMissing ${older.row.recoveryPointId} lun0`].sort());
  });

  it('finds a manifest that disagrees with the catalog, and a tampered checksums blob', async () => {
    const w = await world();
    const [older, newer] = w.built;
    const manifest = { ...older.manifest, disks: older.manifest.disks.slice(0, 1) };
    await w.vault.getBlockBlobClient(manifestBlobName(w.itemId, older.row.recoveryPointId)).upload(JSON.stringify(manifest), JSON.stringify(manifest).length);
    const sumsClient = w.vault.getBlockBlobClient(newer.disks[0].checksumsBlob);
    const sums = await sumsClient.downloadToBuffer();
    sums[sums.length - 1] ^= 0xff; // the last block's checksum
    await sumsClient.upload(sums, sums.length);
    const { problems } = await w.check({ readData: true });
    // The checksums blob guards itself: a changed checksum makes it invalid.
    expect(problems.map((p) => `${p.kind} ${p.recoveryPointId}`).sort()).toEqual([`ChecksumsInvalid ${newer.row.recoveryPointId}`, `ManifestMismatch ${older.row.recoveryPointId}`].sort());
  });

  it('finds a catalog row without blobs', async () => {
    const w = await world(1);
    await w.catalog.put({ ...w.built[0].row, recoveryPointId: '1772999999999', manifestBlobName: manifestBlobName(w.itemId, '1772999999999') });
    expect((await w.check()).problems).toEqual([expect.objectContaining({ kind: 'CatalogRowWithoutBlobs', recoveryPointId: '1772999999999' })]);
  });

  it('finds an orphan blob, changes nothing without --repair, and removes only the orphan with it', async () => {
    const w = await world(1);
    const orphan = `items/${w.itemId}/recoveryPoints/1772888888888/manifest.json`;
    await w.vault.getBlockBlobClient(orphan).upload('{}', 2);
    const names = async () => {
      const all: string[] = [];
      for await (const b of w.vault.listBlobsFlat({ includeSnapshots: true })) all.push(`${b.name}@${b.snapshot ?? ''}`);
      return all.sort();
    };
    const before = await names();
    const found = await w.check();
    expect(found.problems).toEqual([expect.objectContaining({ kind: 'OrphanBlob', blob: orphan, recoveryPointId: '1772888888888' })]);
    expect(await names()).toEqual(before);
    const repaired = await w.check({ repair: true });
    expect(repaired.problems).toEqual([expect.objectContaining({ kind: 'OrphanBlob', repaired: true })]);
    expect(await names()).toEqual(before.filter((n) => !n.startsWith(orphan)));
    expect((await w.check({ readData: true })).problems).toEqual([]);
  });
});
