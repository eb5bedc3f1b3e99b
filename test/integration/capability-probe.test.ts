/**
 * The capability probe against real Azurite, with and without the page-range diff extension.
 */
import path from 'node:path';
import { azuriteExtensions } from '../../emulator/cli';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { clearCapabilityCache, probeStoreCapabilities } from '../../lib/engine/sources/page-blob/capability-probe';
import { blobService, uniqueName, useAzurite } from '../support/azurite';

const PAGE_DIFF_ONLY = path.resolve(__dirname, '../../emulator/azurite-page-diff.js');

describe('capability probe', () => {
  const extended = useAzurite({ extensions: [...azuriteExtensions] });
  const diffOnly = useAzurite({ extensions: [PAGE_DIFF_ONLY] });
  const plain = useAzurite();
  afterEach(() => clearCapabilityCache());

  it('finds a true diff and safe copies on extended Azurite and neither on plain Azurite', async () => {
    const withDiff = new BlobPageStore(blobService(extended().connectionString));
    const withoutDiff = new BlobPageStore(blobService(plain().connectionString));
    const [a, b] = await Promise.all([
      probeStoreCapabilities(withDiff, { scratchContainer: uniqueName('probe') }),
      probeStoreCapabilities(withoutDiff, { scratchContainer: uniqueName('probe') }),
    ]);
    expect(a.trueDiff).toBe(true);
    expect(b.trueDiff).toBe(false);
    expect(a.endpoint).toBe(extended().blobEndpoint.replace(/\/+$/, ''));
    expect({ pointInTime: a.copyPointInTime, isolated: a.copyWriteIsolated, safe: a.serverSideCopySafe }).toEqual({ pointInTime: true, isolated: true, safe: true });
    // As observed on plain Azurite 3.35.0: a copy shares its source's page list (emulator/azurite-copy-isolation.js).
    expect({ pointInTime: b.copyPointInTime, isolated: b.copyWriteIsolated, safe: b.serverSideCopySafe }).toEqual({ pointInTime: false, isolated: false, safe: false });
  });

  it('tells the two extensions apart: a true diff without the copy fix still streams copies', async () => {
    const store = new BlobPageStore(blobService(diffOnly().connectionString));
    const found = await probeStoreCapabilities(store, { scratchContainer: uniqueName('probe') });
    expect({ trueDiff: found.trueDiff, serverSideCopySafe: found.serverSideCopySafe }).toEqual({ trueDiff: true, serverSideCopySafe: false });
  });

  it('caches per endpoint and probes again on request, leaving no scratch blobs', async () => {
    const store = new BlobPageStore(blobService(plain().connectionString));
    const scratchContainer = uniqueName('probe');
    const first = await probeStoreCapabilities(store, { scratchContainer });
    expect(await probeStoreCapabilities(store, { scratchContainer })).toBe(first);
    const again = await probeStoreCapabilities(store, { scratchContainer, forceRefresh: true });
    expect(again).not.toBe(first);
    const left: string[] = [];
    for await (const blob of store.listBlobs(scratchContainer, { includeSnapshots: true })) left.push(blob.name);
    expect(left).toEqual([]);
  });
});

