/**
 * ManagedDiskCompute over the unchanged @azure/arm-compute client (and its pollers), and SasPageReader over
 * @azure/storage-blob with an anonymous credential (the SAS authorizes). In Azure the client talks to ARM
 * (https://management.azure.com, DefaultAzureCredential); locally to the fabric's Compute endpoint with the
 * local CA trusted for that loopback endpoint only. Resource groups are not Compute's: they are created
 * through the `ensureResourceGroup` the app wires (ARM's Microsoft.Resources, or the local tenancy).
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { ComputeManagementClient, type ComputeManagementClientOptionalParams, type EncryptionSettingsCollection, type RestorePoint } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/identity';
import { AnonymousCredential, PageBlobClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { errors } from '../../domain/errors';
import { fromAzureRangeInfos, fromSdkRangeResponse, intersectRanges, type AzurePageRangeInfo, type ByteRange, type PageRangesDiff } from '../../engine/domain/page-ranges';
import type { AbortOptions } from '../disk-store';
import type {
  CollectionRef,
  CreatedRestorePoint,
  DiskRef,
  ListedRestorePoint,
  ManagedDiskEncryption,
  ManagedDiskCompute,
  ManagedDiskInfo,
  NewManagedDisk,
  NewVmFromDisks,
  SasAccess,
  SasPageReader,
  SasPageWriter,
  VmOfDisks,
} from '../managed-disk-compute';
import { isStatus } from './rest-status';
import { droppedReadRetryOf, readRetryingDrops, serviceTryTimeoutPolicies, type DroppedReadRetry } from './storage-retry';

/** ARM's audience: what tokens for Compute are asked for, whatever endpoint the client talks to. */
export const ARM_SCOPE = 'https://management.azure.com/.default';

export interface ArmManagedDiskComputeOptions {
  credential: TokenCredential;
  /** Compute's endpoint: https://management.azure.com in Azure, the fabric's locally. */
  endpoint: string;
  /** PEM of a local CA, trusted for a loopback endpoint only. */
  caCertificatePem?: string;
  /** Creates a resource group when missing (Compute does not). */
  ensureResourceGroup: (subscriptionId: string, name: string, location: string) => Promise<void>;
  /** Extra client options (retries, an HttpClient for tests). */
  clientOptions?: ComputeManagementClientOptionalParams;
  /** Poll interval of long-running operations; default the server's Retry-After. */
  updateIntervalInMs?: number;
  /** A try that has not answered within this is abandoned and retried; default SERVICE_TRY_TIMEOUT_MS. */
  tryTimeoutInMs?: number;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Client options for `endpoint`: the local CA trusted for a loopback endpoint only, ARM's scope always, and a
 * bound on each try (the SDK's retry policy retries a try abandoned at its timeout).
 */
export function computeClientOptions(
  endpoint: string,
  caCertificatePem?: string,
  base: ComputeManagementClientOptionalParams = {},
  tryTimeoutInMs?: number,
): ComputeManagementClientOptionalParams {
  const loopback = LOOPBACK_HOSTS.has(new URL(endpoint).hostname.toLowerCase());
  return {
    ...base,
    additionalPolicies: [...(base.additionalPolicies ?? []), ...serviceTryTimeoutPolicies(tryTimeoutInMs)],
    endpoint,
    credentialScopes: [ARM_SCOPE],
    ...(loopback && caCertificatePem !== undefined ? { tlsOptions: { ...base.tlsOptions, ca: [...rootCertificates, caCertificatePem] } } : {}),
  };
}

/** Reads the CA file named by `setting`; KluisInvalidConfiguration when it is not a PEM certificate. */
export function readCaCertificate(setting: string, file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw errors.invalidConfiguration(setting, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw errors.invalidConfiguration(setting, 'the file holds no PEM certificate');
  return pem;
}

interface ParsedId {
  subscriptionId: string;
  resourceGroup: string;
  /** Names after the provider: [type, name, childType, childName, …]. */
  path: string[];
}

/** `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/{type}/{name}[/{child}/{name}…]`. */
export function parseComputeResourceId(id: string): ParsedId | undefined {
  const parts = id.split('/').filter((part) => part !== '');
  if (parts.length < 8 || parts[0].toLowerCase() !== 'subscriptions' || parts[2].toLowerCase() !== 'resourcegroups' || parts[4].toLowerCase() !== 'providers') return undefined;
  if (parts[5].toLowerCase() !== 'microsoft.compute' || parts.length % 2 !== 0) return undefined;
  return { subscriptionId: parts[1], resourceGroup: parts[3], path: parts.slice(6).map(decodeURIComponent) };
}

function idOf(id: string, ...types: string[]): ParsedId & { names: string[] } {
  const parsed = parseComputeResourceId(id);
  const ok = parsed !== undefined && parsed.path.length === types.length * 2 && types.every((type, i) => parsed.path[i * 2].toLowerCase() === type.toLowerCase());
  if (!ok) throw errors.invalidRequest('id', `'${id.slice(0, 300)}' is not the id of a Microsoft.Compute/${types.join('/')} resource.`);
  return { ...parsed, names: parsed.path.filter((_, i) => i % 2 === 1) };
}

const GIB = 1024 ** 3;

export class ArmManagedDiskCompute implements ManagedDiskCompute {
  private readonly clients = new Map<string, ComputeManagementClient>();
  private readonly poll: { updateIntervalInMs?: number };

  constructor(private readonly options: ArmManagedDiskComputeOptions) {
    this.poll = options.updateIntervalInMs === undefined ? {} : { updateIntervalInMs: options.updateIntervalInMs };
  }

  async getDisk(id: string, options: AbortOptions = {}): Promise<ManagedDiskInfo | undefined> {
    const { subscriptionId, resourceGroup, names } = idOf(id, 'disks');
    const disk = await orUndefined(() => this.client(subscriptionId).disks.get(resourceGroup, names[0], { abortSignal: options.abortSignal }));
    if (disk === undefined) return undefined;
    return {
      id: disk.id ?? id,
      name: disk.name ?? names[0],
      location: disk.location,
      sizeBytes: disk.diskSizeBytes ?? (disk.diskSizeGB ?? 0) * GIB,
      ...(disk.sku?.name === undefined ? {} : { sku: disk.sku.name }),
      ...(disk.managedBy === undefined ? {} : { managedBy: disk.managedBy }),
      ...(disk.diskState === undefined ? {} : { diskState: disk.diskState }),
      ...(disk.tags === undefined ? {} : { tags: disk.tags }),
    };
  }

  async getVm(id: string, options: AbortOptions = {}): Promise<VmOfDisks | undefined> {
    const { subscriptionId, resourceGroup, names } = idOf(id, 'virtualMachines');
    const vm = await orUndefined(() => this.client(subscriptionId).virtualMachines.get(resourceGroup, names[0], { abortSignal: options.abortSignal }));
    if (vm === undefined) return undefined;
    const profile = vm.storageProfile;
    const disks: VmOfDisks['disks'] = [];
    if (profile?.osDisk?.managedDisk?.id !== undefined) disks.push({ id: profile.osDisk.managedDisk.id, kind: 'os' });
    for (const disk of profile?.dataDisks ?? []) if (disk.managedDisk?.id !== undefined) disks.push({ id: disk.managedDisk.id, kind: 'data', lun: disk.lun });
    return { id: vm.id ?? id, name: vm.name ?? names[0], location: vm.location, disks };
  }

  ensureResourceGroup(subscriptionId: string, name: string, location: string): Promise<void> {
    return this.options.ensureResourceGroup(subscriptionId, name, location);
  }

  async ensureRestorePointCollection(ref: CollectionRef, input: { location: string; sourceVmId: string }, options: AbortOptions = {}): Promise<void> {
    const collections = this.client(ref.subscriptionId).restorePointCollections;
    const existing = await orUndefined(() => collections.get(ref.resourceGroup, ref.name, { abortSignal: options.abortSignal }));
    if (existing !== undefined) return;
    await collections.createOrUpdate(ref.resourceGroup, ref.name, { location: input.location, source: { id: input.sourceVmId } }, { abortSignal: options.abortSignal });
  }

  async createRestorePoint(collection: CollectionRef, name: string, input: { excludeDiskIds: readonly string[] }, options: AbortOptions = {}): Promise<CreatedRestorePoint> {
    const point = await this.client(collection.subscriptionId).restorePoints.beginCreateAndWait(
      collection.resourceGroup,
      collection.name,
      name,
      { excludeDisks: input.excludeDiskIds.map((id) => ({ id })) },
      { abortSignal: options.abortSignal, ...this.poll },
    );
    if (point.provisioningState !== undefined && point.provisioningState !== 'Succeeded') {
      throw errors.managedDiskSnapshotFailed(`restore point ${name} ended ${point.provisioningState}`);
    }
    return { id: point.id ?? '', name: point.name ?? name, disks: disksOf(point) };
  }

  async listRestorePoints(collection: CollectionRef, options: AbortOptions = {}): Promise<ListedRestorePoint[]> {
    const found = await orUndefined(() =>
      this.client(collection.subscriptionId).restorePointCollections.get(collection.resourceGroup, collection.name, { expand: 'restorePoints', abortSignal: options.abortSignal }),
    );
    return (found?.restorePoints ?? []).map((point) => ({ id: point.id ?? '', name: point.name ?? '', disks: disksOf(point) }));
  }

  async deleteRestorePoint(restorePointId: string, options: AbortOptions = {}): Promise<boolean> {
    const { subscriptionId, resourceGroup, names } = idOf(restorePointId, 'restorePointCollections', 'restorePoints');
    const points = this.client(subscriptionId).restorePoints;
    if ((await orUndefined(() => points.get(resourceGroup, names[0], names[1], { abortSignal: options.abortSignal }))) === undefined) return false;
    try {
      await points.beginDeleteAndWait(resourceGroup, names[0], names[1], { abortSignal: options.abortSignal, ...this.poll });
    } catch (err) {
      if (isStatus(err, 404)) return false;
      throw err;
    }
    return true;
  }

  async diskRestorePointExists(diskRestorePointId: string, options: AbortOptions = {}): Promise<boolean> {
    const { subscriptionId, resourceGroup, names } = idOf(diskRestorePointId, 'restorePointCollections', 'restorePoints', 'diskRestorePoints');
    const found = await orUndefined(() =>
      this.client(subscriptionId).diskRestorePointOperations.get(resourceGroup, names[0], names[1], names[2], { abortSignal: options.abortSignal }),
    );
    return found !== undefined;
  }

  async grantAccess(resourceId: string, access: SasAccess, durationInSeconds: number, options: AbortOptions = {}): Promise<string> {
    const body = { access, durationInSeconds };
    const opts = { abortSignal: options.abortSignal, ...this.poll };
    const parsed = parseComputeResourceId(resourceId);
    const granted =
      parsed?.path.length === 6
        ? await (() => {
            const { subscriptionId, resourceGroup, names } = idOf(resourceId, 'restorePointCollections', 'restorePoints', 'diskRestorePoints');
            return this.client(subscriptionId).diskRestorePointOperations.beginGrantAccessAndWait(resourceGroup, names[0], names[1], names[2], body, opts);
          })()
        : await (() => {
            const { subscriptionId, resourceGroup, names } = idOf(resourceId, 'disks');
            return this.client(subscriptionId).disks.beginGrantAccessAndWait(resourceGroup, names[0], body, opts);
          })();
    if (granted.accessSAS === undefined) throw errors.managedDiskSnapshotFailed('Compute granted access but returned no SAS');
    return granted.accessSAS;
  }

  async revokeAccess(resourceId: string, options: AbortOptions = {}): Promise<void> {
    const opts = { abortSignal: options.abortSignal, ...this.poll };
    const parsed = parseComputeResourceId(resourceId);
    try {
      if (parsed?.path.length === 6) {
        const { subscriptionId, resourceGroup, names } = idOf(resourceId, 'restorePointCollections', 'restorePoints', 'diskRestorePoints');
        await this.client(subscriptionId).diskRestorePointOperations.beginRevokeAccessAndWait(resourceGroup, names[0], names[1], names[2], opts);
      } else {
        const { subscriptionId, resourceGroup, names } = idOf(resourceId, 'disks');
        await this.client(subscriptionId).disks.beginRevokeAccessAndWait(resourceGroup, names[0], opts);
      }
    } catch (err) {
      if (isStatus(err, 404)) return;
      throw err;
    }
  }

  async createDisk(ref: DiskRef, disk: NewManagedDisk, options: AbortOptions = {}): Promise<ManagedDiskInfo> {
    const creationData =
      disk.createOption === 'Upload'
        ? { createOption: 'Upload' as const, uploadSizeBytes: disk.uploadSizeBytes }
        : disk.createOption === 'Import'
          ? { createOption: 'Import' as const, sourceUri: disk.sourceUri, storageAccountId: disk.storageAccountId }
          : { createOption: 'Restore' as const, sourceResourceId: disk.sourceResourceId };
    const created = await this.client(ref.subscriptionId).disks.beginCreateOrUpdateAndWait(
      ref.resourceGroup,
      ref.name,
      {
        location: disk.location,
        creationData,
        ...(disk.sku === undefined ? {} : { sku: { name: disk.sku } }),
        ...(disk.tags === undefined ? {} : { tags: disk.tags }),
        ...(disk.encryption === undefined ? {} : { encryptionSettingsCollection: encryptionSettingsCollectionOf(disk.encryption) }),
      },
      { abortSignal: options.abortSignal, ...this.poll },
    );
    return {
      id: created.id ?? '',
      name: created.name ?? ref.name,
      location: created.location,
      sizeBytes: created.diskSizeBytes ?? (created.diskSizeGB ?? 0) * GIB,
      ...(created.sku?.name === undefined ? {} : { sku: created.sku.name }),
      ...(created.diskState === undefined ? {} : { diskState: created.diskState }),
      ...(created.tags === undefined ? {} : { tags: created.tags }),
    };
  }

  async deleteDisk(id: string, options: AbortOptions = {}): Promise<void> {
    const { subscriptionId, resourceGroup, names } = idOf(id, 'disks');
    try {
      await this.client(subscriptionId).disks.beginDeleteAndWait(resourceGroup, names[0], { abortSignal: options.abortSignal, ...this.poll });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  }

  async createVm(ref: DiskRef, vm: NewVmFromDisks, options: AbortOptions = {}): Promise<string> {
    const created = await this.client(ref.subscriptionId).virtualMachines.beginCreateOrUpdateAndWait(
      ref.resourceGroup,
      ref.name,
      {
        location: vm.location,
        ...(vm.vmSize === undefined ? {} : { hardwareProfile: { vmSize: vm.vmSize } }),
        storageProfile: {
          osDisk: { osType: vm.osType, createOption: 'Attach', managedDisk: { id: vm.osDiskId } },
          dataDisks: vm.dataDisks.map((disk) => ({ lun: disk.lun, createOption: 'Attach', managedDisk: { id: disk.id } })),
        },
        ...(vm.tags === undefined ? {} : { tags: vm.tags }),
      },
      { abortSignal: options.abortSignal, ...this.poll },
    );
    return created.id ?? '';
  }

  private client(subscriptionId: string): ComputeManagementClient {
    const key = subscriptionId.toLowerCase();
    let client = this.clients.get(key);
    if (client === undefined) {
      client = new ComputeManagementClient(this.options.credential, subscriptionId, computeClientOptions(this.options.endpoint, this.options.caCertificatePem, this.options.clientOptions, this.options.tryTimeoutInMs));
      this.clients.set(key, client);
    }
    return client;
  }
}

/** The disk restore points of a restore point, from its source metadata (OS disk first, then data disks). */
function disksOf(point: RestorePoint): CreatedRestorePoint['disks'] {
  const profile = point.sourceMetadata?.storageProfile;
  const disks = [profile?.osDisk, ...(profile?.dataDisks ?? [])];
  return disks.flatMap((disk) =>
    disk?.managedDisk?.id !== undefined && disk.diskRestorePoint?.id !== undefined ? [{ diskId: disk.managedDisk.id, diskRestorePointId: disk.diskRestorePoint.id }] : [],
  );
}

async function orUndefined<T>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await get();
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    throw err;
  }
}

/** Page reads and writes through SAS URLs; one client per URL (a SAS changes only when access is granted again). */
export class BlobSasPageReader implements SasPageReader, SasPageWriter {
  private readonly clients = new Map<string, PageBlobClient>();

  private readonly readRetry: DroppedReadRetry;
  private readonly clientOptions: () => StoragePipelineOptions;

  /**
   * `clientOptions`: for each SAS's client; pass a function (e.g. `() => blobClientOptions(settings)`) when the
   * options carry a policy that must be handed to one client only.
   */
  constructor(clientOptions: StoragePipelineOptions | (() => StoragePipelineOptions) = {}) {
    this.clientOptions = typeof clientOptions === 'function' ? clientOptions : () => clientOptions;
    this.readRetry = droppedReadRetryOf(this.clientOptions());
  }

  async allocatedRanges(sas: string, range: ByteRange, options: AbortOptions = {}): Promise<ByteRange[]> {
    if (range.end <= range.start) return [];
    const items: AzurePageRangeInfo[] = [];
    for await (const item of this.client(sas).listPageRanges(range.start, range.end - range.start, { abortSignal: options.abortSignal })) items.push(item);
    return intersectRanges(fromAzureRangeInfos(items).changed, [range]);
  }

  async changedRanges(sas: string, previousSas: string, range: ByteRange, options: AbortOptions = {}): Promise<PageRangesDiff> {
    if (range.end <= range.start) return { changed: [], cleared: [] };
    const response = await this.client(sas).getPageRangesDiffForManagedDisks(range.start, range.end - range.start, previousSas, { abortSignal: options.abortSignal });
    const diff = fromSdkRangeResponse(response);
    return { changed: intersectRanges(diff.changed, [range]), cleared: intersectRanges(diff.cleared, [range]) };
  }

  async read(sas: string, offset: number, count: number, options: AbortOptions = {}): Promise<Buffer> {
    if (count === 0) return Buffer.alloc(0);
    const data = await readRetryingDrops(
      () => this.client(sas).downloadToBuffer(offset, count, { abortSignal: options.abortSignal, concurrency: 1, blockSize: count }),
      options.abortSignal,
      this.readRetry,
    );
    if (data.length !== count) throw errors.transferIntegrityFailed(`A SAS read of ${count} bytes at ${offset} returned ${data.length}.`);
    return data;
  }

  async uploadPages(sas: string, offset: number, data: Buffer, md5: Uint8Array, options: AbortOptions = {}): Promise<void> {
    await this.client(sas).uploadPages(data, offset, data.length, { transactionalContentMD5: md5, abortSignal: options.abortSignal });
  }

  private client(sas: string): PageBlobClient {
    let client = this.clients.get(sas);
    if (client === undefined) {
      client = new PageBlobClient(sas, new AnonymousCredential(), this.clientOptions());
      if (this.clients.size >= 64) this.clients.delete(this.clients.keys().next().value as string);
      this.clients.set(sas, client);
    }
    return client;
  }
}

/** ADE settings as Compute takes them on a disk (`encryptionSettingsVersion` 1.1: ADE without Azure AD). */
function encryptionSettingsCollectionOf(encryption: ManagedDiskEncryption): EncryptionSettingsCollection {
  return {
    enabled: true,
    encryptionSettings: [
      {
        diskEncryptionKey: { secretUrl: encryption.bek.secretUrl, sourceVault: { id: encryption.bek.vaultId } },
        ...(encryption.kek === undefined ? {} : { keyEncryptionKey: { keyUrl: encryption.kek.keyUrl, sourceVault: { id: encryption.kek.vaultId } } }),
      },
    ],
    encryptionSettingsVersion: '1.1',
  };
}
