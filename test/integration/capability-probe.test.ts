/**
 * The capability probe against real Azurite, with and without the page-range diff extension.
 */
import path from 'node:path';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { clearCapabilityCache, probeStoreCapabilities } from '../../lib/stores/azure/capability-probe';
import { blobService, uniqueName, useAzurite } from '../support/azurite';

const EXTENSION = path.resolve(__dirname, '../../emulator/azurite-page-diff.js');

describe('capability probe', () => {
  const extended = useAzurite({ extensions: [EXTENSION] });
  const plain = useAzurite();
  afterEach(() => clearCapabilityCache());

  it('finds a true diff on extended Azurite and none on plain Azurite', async () => {
    const withDiff = new BlobPageStore(blobService(extended().connectionString));
    const withoutDiff = new BlobPageStore(blobService(plain().connectionString));
    const [a, b] = await Promise.all([
      probeStoreCapabilities(withDiff, { scratchContainer: uniqueName('probe') }),
      probeStoreCapabilities(withoutDiff, { scratchContainer: uniqueName('probe') }),
    ]);
    expect(a.trueDiff).toBe(true);
    expect(b.trueDiff).toBe(false);
    expect(a.endpoint).toBe(extended().blobEndpoint.replace(/\/+$/, ''));
    // Recorded as observed on Azurite 3.35.0 (see the report): copies of page blobs.
    expect({ pointInTime: a.copyPointInTime, isolated: a.copyWriteIsolated }).toEqual(OBSERVED_AZURITE_COPY);
    expect(b.serverSideCopySafe).toBe(a.serverSideCopySafe);
    console.log([...a.observations, ...b.observations].join('\n'));
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

const OBSERVED_AZURITE_COPY = { pointInTime: false, isolated: false };
