/**
 * The local fabric in the test process, as kluis-host runs it: a FabricService (VMs, guest writes) and
 * its Compute service behind the real HTTPS endpoint, on a per-suite in-memory Azurite with the kluis
 * extensions, on a fake clock. `compute()` is the unchanged @azure/arm-compute client pointed at it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { ComputeManagementClient } from '@azure/arm-compute';
import { AnonymousCredential, PageBlobClient } from '@azure/storage-blob';
import { FakeClock } from '../../emulator/clock';
import { ComputeFabric } from '../../emulator/fabric/compute/compute-fabric';
import { startComputeEndpoint, type RunningComputeEndpoint } from '../../emulator/fabric/compute';
import { FabricService } from '../../emulator/fabric/service';
import { ensureTlsMaterial, type TlsMaterial } from '../../emulator/local-ca';
import { ArmManagedDiskCompute } from '../../lib/stores/azure/arm-managed-disk-compute';
import { BlobPageStore } from '../../lib/stores/azure/blob-page-store';
import { TableVmInventory } from '../../lib/stores/azure/table-vm-inventory';
import { uniqueTableName, useAzurite } from './azurite';
import { fakeCredential } from './recorded-arm';

export const SUBSCRIPTION = '6b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9';
export const AZURITE_EXTENSIONS = ['azurite-page-diff.js', 'azurite-copy-isolation.js'].map((file) => path.resolve(__dirname, '../../emulator', file));

export interface LocalComputeFabric {
  clock: FakeClock;
  inventory: TableVmInventory;
  compute: ComputeFabric;
  service: FabricService;
  endpoint: RunningComputeEndpoint;
  tls: TlsMaterial;
  connectionString: string;
  /** The Compute service's table (a second ComputeFabric on it plays a restarted host). */
  computeTable: string;
  /** The unchanged SDK client, retries off, pointed at the fabric's endpoint and trusting its CA. */
  client(subscriptionId?: string): ComputeManagementClient;
}

export const sasClient = (url: string) => new PageBlobClient(url, new AnonymousCredential(), { retryOptions: { maxTries: 1 } });

/** Every byte of a managed disk of the fabric, read through a SAS Compute grants (and revokes after). */
export async function managedDiskBytes(fabric: LocalComputeFabric, resourceGroup: string, diskName: string): Promise<Buffer> {
  const client = fabric.client();
  const { accessSAS } = await client.disks.beginGrantAccessAndWait(resourceGroup, diskName, { access: 'Read', durationInSeconds: 300 });
  try {
    return await sasClient(accessSAS!).downloadToBuffer();
  } finally {
    await client.disks.beginRevokeAccessAndWait(resourceGroup, diskName);
  }
}

/** Kluis's managed-disk Compute store against the fabric's endpoint, as the product wires it, retries off. */
export function fabricManagedDiskCompute(fabric: LocalComputeFabric): ArmManagedDiskCompute {
  return new ArmManagedDiskCompute({
    credential: fakeCredential,
    endpoint: fabric.endpoint.url,
    caCertificatePem: fabric.tls.caCertPem,
    ensureResourceGroup: async () => undefined,
    clientOptions: { retryOptions: { maxRetries: 0 } },
    updateIntervalInMs: 10,
  });
}

/** Starts everything in beforeAll, stops it in afterAll; use the getter inside tests. */
export function useComputeFabric(startAt = new Date()): () => LocalComputeFabric {
  const azurite = useAzurite({ extensions: AZURITE_EXTENSIONS });
  let fabric: LocalComputeFabric | undefined;
  let tlsDir: string | undefined;
  beforeAll(async () => {
    const connectionString = azurite().connectionString;
    tlsDir = mkdtempSync(path.join(tmpdir(), 'kluis-compute-tls-'));
    const tls = await ensureTlsMaterial(tlsDir);
    const clock = new FakeClock(startAt);
    const inventory = TableVmInventory.fromConnectionString(connectionString, uniqueTableName('vms'));
    const computeTable = uniqueTableName('compute');
    const compute = ComputeFabric.fromConnectionString(connectionString, { inventory, clock, table: computeTable });
    const service = new FabricService({ inventory, disks: BlobPageStore.fromConnectionString(connectionString), compute, clock: () => clock.now() });
    const endpoint = await startComputeEndpoint({ fabric: compute, tls: { key: tls.serverKeyPem, cert: tls.serverCertPem } });
    fabric = {
      clock,
      inventory,
      compute,
      service,
      endpoint,
      tls,
      connectionString,
      computeTable,
      client: (subscriptionId = SUBSCRIPTION) =>
        new ComputeManagementClient(fakeCredential, subscriptionId, {
          endpoint: endpoint.url,
          tlsOptions: { ca: [...rootCertificates, tls.caCertPem] },
          retryOptions: { maxRetries: 0 },
        }),
    };
  }, 60_000);
  afterAll(async () => {
    fabric?.compute.stop();
    await fabric?.endpoint.stop();
    if (tlsDir !== undefined) rmSync(tlsDir, { recursive: true, force: true });
  });
  return () => {
    if (fabric === undefined) throw new Error('The fabric is not running: use the getter inside a test');
    return fabric;
  };
}
