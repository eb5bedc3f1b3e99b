/**
 * What the fabric's disk SAS rests on, proven against real Azurite: a SAS naming a stored access policy
 * (`si`) reads a blob or one of its snapshots while the policy exists and is refused (403) once it is
 * deleted; the policy's expiry is enforced; read-only SAS cannot write; at most 5 grants per lineage.
 */
import path from 'node:path';
import { AnonymousCredential, PageBlobClient } from '@azure/storage-blob';
import { DiskBlobs, MAX_GRANTS_PER_LINEAGE, type BlobLocation } from '../../emulator/fabric/compute/disk-blobs';
import { AZURE_PAGE_SIZE as PAGE, fromSdkRangeResponse } from '../../lib/engine/domain/page-ranges';
import { blobService, useAzurite } from '../support/azurite';

const EXTENSIONS = ['azurite-page-diff.js', 'azurite-copy-isolation.js'].map((file) => path.resolve(__dirname, '../../emulator', file));
const sasClient = (url: string) => new PageBlobClient(url, new AnonymousCredential(), { retryOptions: { maxTries: 1 } });

describe('DiskBlobs: lineages, snapshots and revocable SAS grants on Azurite', () => {
  const azurite = useAzurite({ extensions: EXTENSIONS });
  let blobs: DiskBlobs;
  let counter = 0;

  beforeAll(() => {
    blobs = DiskBlobs.fromConnectionString(azurite().connectionString);
  });

  async function lineage(pages = 16): Promise<BlobLocation> {
    counter += 1;
    const location = DiskBlobs.lineageOf(`00000000-0000-4000-8000-${String(Date.now() % 1e6).padStart(6, '0')}${String(counter).padStart(6, '0')}`);
    await blobs.create(location, pages * PAGE);
    await blobs.pageBlob(location).uploadPages(Buffer.alloc(4 * PAGE, 7), 0, 4 * PAGE);
    return location;
  }

  test('a read grant reads the blob until it is revoked, then Azurite refuses the same URL with 403', async () => {
    const disk = await lineage();
    const { id, url } = await blobs.grant(disk, 'r', 3600);
    expect(new URL(url).searchParams.get('si')).toBe(id);
    expect((await sasClient(url).downloadToBuffer(0, PAGE)).equals(Buffer.alloc(PAGE, 7))).toBe(true);
    await expect(sasClient(url).uploadPages(Buffer.alloc(PAGE, 1), 0, PAGE)).rejects.toMatchObject({ statusCode: 403 });
    await blobs.revoke(disk.container, id);
    await expect(sasClient(url).downloadToBuffer(0, PAGE)).rejects.toMatchObject({ statusCode: 403, code: 'AuthorizationFailure' });
    await blobs.revoke(disk.container, id); // idempotent
  });

  test('a write grant writes pages; revoking one grant leaves the others working', async () => {
    const disk = await lineage();
    const writer = await blobs.grant(disk, 'rw', 3600);
    const reader = await blobs.grant(disk, 'r', 3600);
    await sasClient(writer.url).uploadPages(Buffer.alloc(PAGE, 9), 8 * PAGE, PAGE);
    await blobs.revoke(disk.container, writer.id);
    await expect(sasClient(writer.url).uploadPages(Buffer.alloc(PAGE, 1), 0, PAGE)).rejects.toMatchObject({ statusCode: 403 });
    expect((await sasClient(reader.url).downloadToBuffer(8 * PAGE, PAGE)).equals(Buffer.alloc(PAGE, 9))).toBe(true);
  });

  test('a snapshot grant reads the snapshot (point in time) and diffs against an older snapshot by URL', async () => {
    const disk = await lineage();
    const a = await blobs.snapshot(disk);
    await blobs.pageBlob(disk).uploadPages(Buffer.alloc(PAGE, 3), 10 * PAGE, PAGE);
    const b = await blobs.snapshot(disk);
    await blobs.pageBlob(disk).uploadPages(Buffer.alloc(PAGE, 4), 10 * PAGE, PAGE);
    const atA = await blobs.grant({ ...disk, snapshot: a }, 'r', 3600);
    const atB = await blobs.grant({ ...disk, snapshot: b }, 'r', 3600);
    expect((await sasClient(atB.url).downloadToBuffer(10 * PAGE, PAGE)).equals(Buffer.alloc(PAGE, 3))).toBe(true);
    const diff = await sasClient(atB.url).getPageRangesDiffForManagedDisks(0, 16 * PAGE, atA.url);
    expect(fromSdkRangeResponse(diff)).toEqual({ changed: [{ start: 10 * PAGE, end: 11 * PAGE }], cleared: [] });
    await blobs.revoke(disk.container, atB.id);
    await expect(sasClient(atB.url).downloadToBuffer(0, PAGE)).rejects.toMatchObject({ statusCode: 403 });
  });

  test('an expired policy is refused by Azurite', async () => {
    const disk = await lineage();
    const { url } = await blobs.grant(disk, 'r', 1);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await expect(sasClient(url).downloadToBuffer(0, PAGE)).rejects.toMatchObject({ statusCode: 403 });
  });

  test(`at most ${MAX_GRANTS_PER_LINEAGE} grants per lineage at once (OperationNotAllowed), concurrent grants all land`, async () => {
    const disk = await lineage();
    const granted = await Promise.all(Array.from({ length: MAX_GRANTS_PER_LINEAGE }, () => blobs.grant(disk, 'r', 3600)));
    const { signedIdentifiers } = await blobService(azurite().connectionString).getContainerClient(disk.container).getAccessPolicy();
    expect(signedIdentifiers.map((s) => s.id).sort()).toEqual(granted.map((g) => g.id).sort());
    await expect(blobs.grant(disk, 'r', 3600)).rejects.toMatchObject({ status: 409, code: 'OperationNotAllowed' });
    await blobs.revoke(disk.container, granted[0].id);
    await expect(blobs.grant(disk, 'r', 3600)).resolves.toMatchObject({ id: expect.any(String) });
  });

  test('a copy of a snapshot is a new lineage: writes to it leave the snapshot alone', async () => {
    const disk = await lineage();
    const a = await blobs.snapshot(disk);
    const copy = DiskBlobs.lineageOf('11111111-2222-4333-8444-555555555555');
    await blobs.copy({ ...disk, snapshot: a }, copy);
    await blobs.pageBlob(copy).uploadPages(Buffer.alloc(PAGE, 5), 0, PAGE);
    expect((await blobs.pageBlob({ ...disk, snapshot: a }).downloadToBuffer(0, PAGE)).equals(Buffer.alloc(PAGE, 7))).toBe(true);
    expect(await blobs.hasSnapshots(disk.container)).toBe(true);
    expect(await blobs.hasSnapshots(copy.container)).toBe(false);
  });
});
