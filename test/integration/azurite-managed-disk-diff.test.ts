/**
 * Get Page Ranges diff against a snapshot named by its URL (`x-ms-previous-snapshot-url`, what
 * `PageBlobClient.getPageRangesDiffForManagedDisks` sends), on real Azurite with the kluis extension:
 * the target and the previous snapshot are read through SAS URLs, as a managed disk's incremental
 * snapshots are. Mind the SDK's quirk: its `count` is one byte short (fromSdkRangeResponse adds it back).
 */
import path from 'node:path';
import {
  AnonymousCredential,
  BlobSASPermissions,
  generateBlobSASQueryParameters,
  PageBlobClient,
  StorageSharedKeyCredential,
  type ContainerClient,
} from '@azure/storage-blob';
import { AZURE_PAGE_SIZE as PAGE, fromSdkRangeResponse, type ByteRange } from '../../lib/engine/domain/page-ranges';
import { parseConnectionString } from '../../emulator/connection-string';
import { blobService, uniqueName, useAzurite } from '../support/azurite';

const EXTENSION = path.resolve(__dirname, '../../emulator/azurite-page-diff.js');
const HEADER = 'x-ms-previous-snapshot-url';
const pages = (first: number, end: number): ByteRange => ({ start: first * PAGE, end: end * PAGE });

describe('Get Page Ranges diff against x-ms-previous-snapshot-url (Azurite with the kluis extension)', () => {
  const azurite = useAzurite({ extensions: [EXTENSION] });
  let container: ContainerClient;
  let credential: StorageSharedKeyCredential;

  beforeAll(async () => {
    const parts = parseConnectionString(azurite().connectionString);
    credential = new StorageSharedKeyCredential(parts.AccountName, parts.AccountKey);
    container = blobService(azurite().connectionString).getContainerClient(uniqueName('md-diff'));
    await container.create();
  });

  /** A read-only SAS URL of the blob, or of one of its snapshots (`sr=bs`, `?snapshot=` in the URL). */
  function sasUrl(blob: PageBlobClient, snapshot?: string): string {
    const sas = generateBlobSASQueryParameters(
      {
        containerName: blob.containerName,
        blobName: blob.name,
        ...(snapshot === undefined ? {} : { snapshotTime: snapshot }),
        permissions: BlobSASPermissions.parse('r'),
        expiresOn: new Date(Date.now() + 3_600_000),
      },
      credential,
    ).toString();
    const base = container.getPageBlobClient(blob.name).url;
    return snapshot === undefined ? `${base}?${sas}` : `${base}?snapshot=${encodeURIComponent(snapshot)}&${sas}`;
  }

  /** A client reading through a SAS only, as the backup engine reads a managed disk. */
  const sasClient = (blob: PageBlobClient, snapshot?: string) => new PageBlobClient(sasUrl(blob, snapshot), new AnonymousCredential(), { retryOptions: { maxTries: 1 } });

  async function disk(sizeInPages = 32): Promise<PageBlobClient> {
    const blob = container.getPageBlobClient(uniqueName('disk'));
    await blob.create(sizeInPages * PAGE);
    return blob;
  }

  const write = (blob: PageBlobClient, first: number, end: number, byte: number) =>
    blob.uploadPages(Buffer.alloc((end - first) * PAGE, byte), first * PAGE, (end - first) * PAGE);
  const clear = (blob: PageBlobClient, first: number, end: number) => blob.clearPages(first * PAGE, (end - first) * PAGE);
  const snapshot = async (blob: PageBlobClient) => (await blob.createSnapshot()).snapshot as string;

  /** Before A: [0,8) [12,16) [20,24); between A and B: overwrite [4,6), add [8,10), clear [13,14) and [20,24). */
  async function scenario() {
    const blob = await disk();
    await write(blob, 0, 8, 1);
    await write(blob, 12, 16, 2);
    await write(blob, 20, 24, 3);
    const a = await snapshot(blob);
    await write(blob, 4, 6, 4);
    await write(blob, 8, 10, 5);
    await clear(blob, 13, 14);
    await clear(blob, 20, 24);
    const b = await snapshot(blob);
    await write(blob, 30, 31, 6);
    return { blob, a, b };
  }

  const EXPECTED_B_VS_A = { changed: [pages(4, 6), pages(8, 10)], cleared: [pages(13, 14), pages(20, 24)] };

  test('diffs a snapshot against an older snapshot named by its SAS URL: changed and cleared pages', async () => {
    const { blob, a, b } = await scenario();
    const response = await sasClient(blob, b).getPageRangesDiffForManagedDisks(0, 32 * PAGE, sasUrl(blob, a));
    expect(fromSdkRangeResponse(response)).toEqual(EXPECTED_B_VS_A);
    // The SDK's one-byte-short count, as for the prevsnapshot variant.
    expect(response.clearRange?.[0]).toEqual({ offset: 13 * PAGE, count: PAGE - 1 });
  });

  test('agrees with the prevsnapshot variant, for the base blob and within a window', async () => {
    const { blob, a, b } = await scenario();
    const viaTime = fromSdkRangeResponse(await blob.getPageRangesDiff(0, 32 * PAGE, a));
    const viaUrl = fromSdkRangeResponse(await sasClient(blob).getPageRangesDiffForManagedDisks(0, 32 * PAGE, sasUrl(blob, a)));
    expect(viaUrl).toEqual(viaTime);
    expect(viaUrl).toEqual({ changed: [pages(4, 6), pages(8, 10), pages(30, 31)], cleared: [pages(13, 14), pages(20, 24)] });
    const windowed = await sasClient(blob, b).getPageRangesDiffForManagedDisks(5 * PAGE, 16 * PAGE, sasUrl(blob, a));
    expect(fromSdkRangeResponse(windowed)).toEqual({ changed: [pages(5, 6), pages(8, 10)], cleared: [pages(13, 14), pages(20, 21)] });
  });

  test('accepts the previous snapshot URL without a SAS, and under another host name of the same Azurite', async () => {
    const { blob, a, b } = await scenario();
    const plain = `${blob.url}?snapshot=${encodeURIComponent(a)}`;
    expect(fromSdkRangeResponse(await sasClient(blob, b).getPageRangesDiffForManagedDisks(0, 32 * PAGE, plain))).toEqual(EXPECTED_B_VS_A);
    // kluis starts Azurite with --disableProductStyleUrl: the account is the first path segment, whatever the host.
    const byName = plain.replace('://127.0.0.1:', '://localhost:');
    expect(fromSdkRangeResponse(await sasClient(blob, b).getPageRangesDiffForManagedDisks(0, 32 * PAGE, byName))).toEqual(EXPECTED_B_VS_A);
  });

  test('an unchanged disk has an empty diff', async () => {
    const blob = await disk(8);
    await write(blob, 0, 4, 1);
    const a = await snapshot(blob);
    const b = await snapshot(blob);
    expect(fromSdkRangeResponse(await sasClient(blob, b).getPageRangesDiffForManagedDisks(0, 8 * PAGE, sasUrl(blob, a)))).toEqual({ changed: [], cleared: [] });
  });

  test('a previous snapshot that is gone (or never was) fails with 409 PreviousSnapshotNotFound', async () => {
    const { blob, a } = await scenario();
    const target = sasClient(blob);
    await expect(target.getPageRangesDiffForManagedDisks(0, 32 * PAGE, sasUrl(blob, '2001-01-01T00:00:00.0000000Z'))).rejects.toMatchObject({
      statusCode: 409,
      code: 'PreviousSnapshotNotFound',
    });
    await blob.withSnapshot(a).delete();
    await expect(target.getPageRangesDiffForManagedDisks(0, 32 * PAGE, sasUrl(blob, a))).rejects.toMatchObject({
      statusCode: 409,
      code: 'PreviousSnapshotNotFound',
    });
  });

  test("another disk's snapshot, another account, or the base blob fails with 409 PreviousSnapshotOperationNotSupported", async () => {
    const { blob, b } = await scenario();
    const other = await disk(32);
    await write(other, 0, 2, 1);
    const otherSnapshot = await snapshot(other);
    const target = sasClient(blob, b);
    const notSupported = { statusCode: 409, code: 'PreviousSnapshotOperationNotSupported' };
    await expect(target.getPageRangesDiffForManagedDisks(0, 32 * PAGE, sasUrl(other, otherSnapshot))).rejects.toMatchObject(notSupported);
    const otherAccount = blob.url.replace(`/${parseConnectionString(azurite().connectionString).AccountName}/`, '/otheraccount/');
    await expect(target.getPageRangesDiffForManagedDisks(0, 32 * PAGE, `${otherAccount}?snapshot=${encodeURIComponent(b)}`)).rejects.toMatchObject(notSupported);
    await expect(target.getPageRangesDiffForManagedDisks(0, 32 * PAGE, sasUrl(blob))).rejects.toMatchObject(notSupported);
  });

  test('a previous snapshot newer than the target snapshot fails with 400 PreviousSnapshotCannotBeNewer', async () => {
    const { blob, a, b } = await scenario();
    await expect(sasClient(blob, a).getPageRangesDiffForManagedDisks(0, 32 * PAGE, sasUrl(blob, b))).rejects.toMatchObject({
      statusCode: 400,
      code: 'PreviousSnapshotCannotBeNewer',
    });
  });

  test('a malformed URL, or one naming no blob, fails with 400 InvalidHeaderValue', async () => {
    const { blob, b } = await scenario();
    const target = sasClient(blob, b);
    const invalid = { statusCode: 400, code: 'InvalidHeaderValue' };
    await expect(target.getPageRangesDiffForManagedDisks(0, 32 * PAGE, 'not a url')).rejects.toMatchObject(invalid);
    await expect(target.getPageRangesDiffForManagedDisks(0, 32 * PAGE, `ftp://127.0.0.1/${blob.containerName}/${blob.name}`)).rejects.toMatchObject(invalid);
    const containerOnly = blob.url.slice(0, blob.url.lastIndexOf('/'));
    await expect(target.getPageRangesDiffForManagedDisks(0, 32 * PAGE, containerOnly)).rejects.toMatchObject(invalid);
  });

  test('prevsnapshot and the header together fail with 400 InvalidHeaderValue; nothing else is changed by the header', async () => {
    const { blob, a } = await scenario();
    const url = new URL(sasUrl(blob));
    url.searchParams.set('comp', 'pagelist');
    url.searchParams.set('prevsnapshot', a);
    const both = await fetch(url, { headers: { [HEADER]: sasUrl(blob, a), 'x-ms-version': '2025-11-05' } });
    expect(both.status).toBe(400);
    expect(both.headers.get('x-ms-error-code')).toBe('InvalidHeaderValue');
    expect(await both.text()).toContain(HEADER);
    // An empty header is no header: Azurite's own Get Page Ranges answers with every allocated range.
    url.searchParams.delete('prevsnapshot');
    const plain = await fetch(url, { headers: { [HEADER]: '', 'x-ms-version': '2025-11-05' } });
    expect(plain.status).toBe(200);
    expect(await plain.text()).not.toContain('<ClearRange>');
  });

  test('a revoked SAS on the target stops the diff (authorization is the target request’s)', async () => {
    const { blob, a, b } = await scenario();
    const expired = generateBlobSASQueryParameters(
      { containerName: blob.containerName, blobName: blob.name, snapshotTime: b, permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() - 60_000) },
      credential,
    ).toString();
    const target = new PageBlobClient(`${container.getPageBlobClient(blob.name).url}?snapshot=${encodeURIComponent(b)}&${expired}`, new AnonymousCredential(), {
      retryOptions: { maxTries: 1 },
    });
    await expect(target.getPageRangesDiffForManagedDisks(0, 32 * PAGE, sasUrl(blob, a))).rejects.toMatchObject({ statusCode: 403 });
  });
});
