/**
 * A virtual machine as Kluis sees it: identity (ARM resource id), power and provisioning state, VM
 * agent health, disks (managed disks, or unmanaged page-blob VHDs) and disk encryption settings. The local fabric stores these records;
 * in Azure they are read from Resource Manager (lib/stores/azure/arm-vm-inventory.ts).
 *
 * Also: ARM resource ids for VMs, name rules, the disk "slot" the backup engine calls `lun`
 * (OS disk 0, data disk with Azure LUN k → k + 1) and the zod schema of the fabric's create request.
 */
import { z } from 'zod';
import { errors } from './errors';
import { STORAGE_TYPES, type StorageType } from '../engine/domain/recovery-point-manifest';
import { MAX_LUN } from '../engine/domain/vault-layout';

export type OsType = 'Windows' | 'Linux';
export type PowerState = 'running' | 'stopped' | 'deallocated';
/** ARM's `Updating`/`Migrating` count as Succeeded: the VM keeps running and can be backed up. */
export type ProvisioningState = 'Succeeded' | 'Failed' | 'Creating' | 'Deleting';
export type AgentStatus = 'Ready' | 'NotReady' | 'Unavailable';
export type VssHealth = 'Healthy' | 'WriterInBadState' | 'ServiceInBadState';
export type FsFreezeHealth = 'Healthy' | 'Fails';
export type SnapshotStatusReporting = 'Reports' | 'Silent';
export type { StorageType };

export const OS_TYPES = ['Windows', 'Linux'] as const satisfies readonly OsType[];
export const POWER_STATES = ['running', 'stopped', 'deallocated'] as const satisfies readonly PowerState[];
export const PROVISIONING_STATES = ['Succeeded', 'Failed', 'Creating', 'Deleting'] as const satisfies readonly ProvisioningState[];
export const AGENT_STATUSES = ['Ready', 'NotReady', 'Unavailable'] as const satisfies readonly AgentStatus[];
export const VSS_HEALTH = ['Healthy', 'WriterInBadState', 'ServiceInBadState'] as const satisfies readonly VssHealth[];
export const FS_FREEZE_HEALTH = ['Healthy', 'Fails'] as const satisfies readonly FsFreezeHealth[];
export const SNAPSHOT_STATUS_REPORTING = ['Reports', 'Silent'] as const satisfies readonly SnapshotStatusReporting[];

/**
 * The VM agent and what the backup extension finds inside the guest. Unset fault fields mean healthy.
 * `vss` applies to Windows, `fsFreeze` and the pre/post scripts to Linux.
 */
export interface VmAgent {
  status: AgentStatus;
  version?: string;
  vss?: VssHealth;
  fsFreeze?: FsFreezeHealth;
  /** 'Silent': the agent takes the snapshot but never reports its status (GuestAgentSnapshotTaskStatusError). */
  snapshotStatus?: SnapshotStatusReporting;
  /** Linux application-consistency scripts (Azure's VMSnapshotScriptPluginConfig): both or neither. */
  preScript?: string;
  postScript?: string;
}

/** The managed disk SKUs Kluis backs up (Standard HDD, Standard SSD, Premium SSD). */
export const MANAGED_DISK_SKUS = ['Standard_LRS', 'StandardSSD_LRS', 'Premium_LRS'] as const;
export type ManagedDiskSku = (typeof MANAGED_DISK_SKUS)[number];

/** Premium SSD disks are Premium storage; Standard HDD and SSD are Standard. */
export function storageTypeOfSku(sku: string): StorageType {
  return sku.toLowerCase().startsWith('premium') ? 'Premium' : 'Standard';
}

/** A managed disk as a VM's storage profile names it (ARM's `managedDisk`). */
export interface VmManagedDisk {
  /** ARM id of the Microsoft.Compute/disks resource. */
  id: string;
  /** The disk's SKU as ARM names it, e.g. `Premium_LRS`, `StandardSSD_LRS` (absent when ARM omits it). */
  storageAccountType?: string;
}

export interface VmDisk {
  kind: 'os' | 'data';
  /** Azure LUN of a data disk (0–62); absent for the OS disk. */
  lun?: number;
  name: string;
  /** Unmanaged disks: the page blob's URL, without query string. Absent for managed disks. */
  vhdUri?: string;
  /** Managed disks: the disk resource (read through Microsoft.Compute). Absent for unmanaged disks. */
  managedDisk?: VmManagedDisk;
  storageType: StorageType;
  /** Capacity as the VM sees it; the page blob is 512 bytes longer (the fixed-VHD footer). 0 when unknown. */
  sizeBytes: number;
}

/** Whether the disk is a managed disk (else an unmanaged page-blob VHD with a `vhdUri`). */
export function isManagedDisk(disk: Pick<VmDisk, 'managedDisk'>): disk is VmDisk & { managedDisk: VmManagedDisk } {
  return disk.managedDisk !== undefined;
}

export interface KeyVaultSecretRef {
  secretUrl: string;
  /** ARM id of the Key Vault. */
  vaultId: string;
}

export interface KeyVaultKeyRef {
  keyUrl: string;
  vaultId: string;
}

/** Azure Disk Encryption settings: BEK (BitLocker/dm-crypt secret) and optional KEK wrapping it. */
export interface VmEncryption {
  enabled: boolean;
  bek?: KeyVaultSecretRef;
  kek?: KeyVaultKeyRef;
}

export interface VirtualMachine {
  /** ARM resource id, see vmResourceId(). */
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** Normalized region name, e.g. `westeurope` (see normalizeLocation). */
  location: string;
  vmSize: string;
  osType: OsType;
  powerState: PowerState;
  provisioningState: ProvisioningState;
  agent: VmAgent;
  disks: VmDisk[];
  encryption?: VmEncryption;
  tags?: Record<string, string>;
  /** ISO time. */
  createdAt: string;
}

/** Identifies a VM; names are case-insensitive, as in Azure. */
export interface VmRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

// ---- names and ids ----------------------------------------------------------------------------

export const MIN_VM_NAME_LENGTH = 1;
export const MAX_VM_NAME_LENGTH = 64;
/** Azure allows LUN 0–63; the engine's disk slot (LUN + 1) must stay within MAX_LUN. */
export const MAX_DATA_DISK_LUN = MAX_LUN - 1;

const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const RESOURCE_GROUP_NAME = /^[-\w.()\p{L}\p{N}]{1,90}$/u;
const SUBSCRIPTION_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const VM_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)$/i;

/**
 * Why a VM resource name is invalid, or undefined when it is valid: 1–64 letters, digits, hyphens,
 * underscores and periods, starting with a letter or digit, not ending with a period or hyphen.
 * (Windows limits the *computer* name to 15 characters; the resource name may be longer.)
 */
export function vmNameProblem(name: string): string | undefined {
  if (name.length < MIN_VM_NAME_LENGTH || name.length > MAX_VM_NAME_LENGTH) {
    return `it must be ${MIN_VM_NAME_LENGTH}–${MAX_VM_NAME_LENGTH} characters long`;
  }
  if (!VM_NAME.test(name)) {
    return 'it may contain only letters, digits, hyphens, underscores and periods, and must start with a letter or digit';
  }
  if (name.endsWith('.') || name.endsWith('-')) return 'it must not end with a period or a hyphen';
  return undefined;
}

export function isValidVmName(name: string): boolean {
  return vmNameProblem(name) === undefined;
}

/** Resource group names: 1–90 letters, digits, underscores, hyphens, periods and parentheses; no trailing period. */
export function isValidResourceGroupName(name: string): boolean {
  return RESOURCE_GROUP_NAME.test(name) && !name.endsWith('.');
}

/** Subscription ids are GUIDs. */
export function isValidSubscriptionId(value: string): boolean {
  return SUBSCRIPTION_ID.test(value);
}

/** Throws KluisInvalidRequest naming the first invalid part of the reference. */
export function assertValidVmRef(ref: VmRef): VmRef {
  if (!isValidSubscriptionId(ref.subscriptionId)) {
    throw errors.invalidRequest('subscriptionId', `The subscription id '${clip(ref.subscriptionId)}' is not a GUID.`);
  }
  if (!isValidResourceGroupName(ref.resourceGroup)) {
    throw errors.invalidRequest(
      'resourceGroup',
      `The resource group name '${clip(ref.resourceGroup)}' is invalid: use 1–90 letters, digits, underscores, hyphens, periods and parentheses, not ending with a period.`,
    );
  }
  const problem = vmNameProblem(ref.name);
  if (problem !== undefined) throw errors.invalidRequest('name', `The virtual machine name '${clip(ref.name)}' is invalid: ${problem}.`);
  return ref;
}

export function vmResourceId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachines/${name}`;
}

/** The parts of a VM resource id (provider and type segments matched case-insensitively), or undefined. */
export function parseVmResourceId(id: string): VmRef | undefined {
  const match = VM_ID.exec(id.trim().replace(/\/+$/, ''));
  if (!match) return undefined;
  const [, subscriptionId, resourceGroup, name] = match;
  return { subscriptionId, resourceGroup, name };
}

/** The parts of a VM resource id; KluisInvalidRequest naming `target` when it is not one. */
export function vmRefFromResourceId(id: string, target = 'virtualMachineId'): VmRef {
  const ref = parseVmResourceId(id);
  if (ref === undefined) {
    throw errors.invalidRequest(
      target,
      `'${clip(id)}' is not a virtual machine resource id (/subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{name}).`,
    );
  }
  return ref;
}

export function refOf(vm: Pick<VirtualMachine, 'subscriptionId' | 'resourceGroup' | 'name'>): VmRef {
  return { subscriptionId: vm.subscriptionId, resourceGroup: vm.resourceGroup, name: vm.name };
}

/** A case-insensitive identity key, for maps and comparisons. */
export function vmKey(ref: VmRef): string {
  return `${ref.subscriptionId}/${ref.resourceGroup}/${ref.name}`.toLowerCase();
}

export function sameVm(a: VmRef, b: VmRef): boolean {
  return vmKey(a) === vmKey(b);
}

/** ARM's canonical region name: `West Europe` → `westeurope`. */
export function normalizeLocation(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
}

// ---- disks ----------------------------------------------------------------------------------

/** The backup engine's disk slot (its `lun`): OS disk 0, data disk with Azure LUN k → k + 1. */
export function diskSlot(disk: Pick<VmDisk, 'kind' | 'lun'>): number {
  if (disk.kind === 'os') return 0;
  if (disk.lun === undefined || !Number.isInteger(disk.lun) || disk.lun < 0 || disk.lun > MAX_DATA_DISK_LUN) {
    throw errors.invalidRequest('lun', `A data disk needs a LUN of 0–${MAX_DATA_DISK_LUN}, got ${String(disk.lun)}.`);
  }
  return disk.lun + 1;
}

/** The disk in `slot`, or undefined. */
export function diskInSlot(vm: Pick<VirtualMachine, 'disks'>, slot: number): VmDisk | undefined {
  return vm.disks.find((disk) => diskSlot(disk) === slot);
}

export function osDiskOf(vm: Pick<VirtualMachine, 'disks'>): VmDisk | undefined {
  return vm.disks.find((disk) => disk.kind === 'os');
}

export function dataDisksOf(vm: Pick<VirtualMachine, 'disks'>): VmDisk[] {
  return vm.disks.filter((disk) => disk.kind === 'data').sort((a, b) => (a.lun ?? 0) - (b.lun ?? 0));
}

// ---- schemas --------------------------------------------------------------------------------

const MIB = 1024 * 1024;
/** Page blobs hold at most 8 TiB; the VHD footer takes the last 512 bytes. */
export const MAX_FABRIC_DISK_SIZE_BYTES = 8 * 1024 * MIB * 1024 - MIB;
export const DEFAULT_FABRIC_DISK_SIZE_BYTES = 1024 * MIB;
export const DEFAULT_VM_LOCATION = 'westeurope';
export const DEFAULT_VM_SIZE = 'Standard_D2s_v3';
export const DEFAULT_AGENT_VERSION = '2.7.41491.1102';
const MAX_TAGS = 50;

const keyVaultId = z
  .string()
  .regex(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/[^/]+$/i, {
    error: 'must be a Key Vault resource id (/subscriptions/…/providers/Microsoft.KeyVault/vaults/…)',
  });
const keyVaultUrl = z.url({ protocol: /^https?$/ }).refine((value) => {
  const url = new URL(value);
  return url.search === '' && url.username === '' && url.password === '';
}, 'must not carry a query string or credentials');

export const vmEncryptionSchema = z
  .strictObject({
    enabled: z.boolean(),
    bek: z.strictObject({ secretUrl: keyVaultUrl, vaultId: keyVaultId }).optional(),
    kek: z.strictObject({ keyUrl: keyVaultUrl, vaultId: keyVaultId }).optional(),
  })
  .refine((e) => !e.enabled || e.bek !== undefined, { error: 'an enabled encryption needs a BEK secret', path: ['bek'] })
  .refine((e) => e.kek === undefined || e.bek !== undefined, { error: 'a KEK wraps a BEK: give the BEK too', path: ['bek'] });

const tagsSchema = z
  .record(z.string().min(1).max(512), z.string().max(256))
  .refine((tags) => Object.keys(tags).length <= MAX_TAGS, { error: `at most ${MAX_TAGS} tags` });

const diskSize = z
  .number()
  .int({ error: 'must be a whole number of bytes' })
  .positive()
  .max(MAX_FABRIC_DISK_SIZE_BYTES, { error: `must be at most ${MAX_FABRIC_DISK_SIZE_BYTES} bytes (8 TiB page blob)` })
  .refine((n) => n % MIB === 0, { error: 'must be a whole number of MiB (Azure requires 1 MiB-aligned VHDs)' });

const script = z.string().min(1).max(1024);

const agentRequestSchema = z.strictObject({
  status: z.enum(AGENT_STATUSES).default('Ready'),
  version: z.string().min(1).max(64).default(DEFAULT_AGENT_VERSION),
  vss: z.enum(VSS_HEALTH).optional(),
  fsFreeze: z.enum(FS_FREEZE_HEALTH).optional(),
  snapshotStatus: z.enum(SNAPSHOT_STATUS_REPORTING).optional(),
  preScript: script.optional(),
  postScript: script.optional(),
});

/**
 * Body of the fabric's `PUT /fabric/subscriptions/{sub}/resourceGroups/{rg}/virtualMachines/{name}`.
 * Disks follow ARM's storageProfile (`osDisk`, `dataDisks[].lun`); the fabric creates their page blobs.
 */
export const createVmRequestSchema = z
  .strictObject({
    location: z.string().min(1).max(64).default(DEFAULT_VM_LOCATION).transform(normalizeLocation),
    vmSize: z.string().min(1).max(64).default(DEFAULT_VM_SIZE),
    osType: z.enum(OS_TYPES),
    powerState: z.enum(POWER_STATES).default('running'),
    agent: agentRequestSchema.prefault({}),
    /** Managed disks (Microsoft.Compute/disks, as every VM Azure creates today) instead of unmanaged page-blob VHDs. */
    managedDisks: z.boolean().default(false),
    osDisk: z
      .strictObject({
        sizeBytes: diskSize.default(DEFAULT_FABRIC_DISK_SIZE_BYTES),
        storageType: z.enum(STORAGE_TYPES).default('Standard'),
        /** Managed disks only; default by storageType (Premium_LRS or Standard_LRS). */
        sku: z.enum(MANAGED_DISK_SKUS).optional(),
      })
      .prefault({}),
    dataDisks: z
      .array(
        z.strictObject({
          lun: z.number().int().min(0).max(MAX_DATA_DISK_LUN),
          sizeBytes: diskSize.default(DEFAULT_FABRIC_DISK_SIZE_BYTES),
          storageType: z.enum(STORAGE_TYPES).default('Standard'),
          sku: z.enum(MANAGED_DISK_SKUS).optional(),
        }),
      )
      .max(MAX_DATA_DISK_LUN + 1)
      .default([]),
    encryption: vmEncryptionSchema.optional(),
    tags: tagsSchema.optional(),
    /** Data written at creation: `percent` of each disk in random 64 KiB blocks, reproducible with `seed`. */
    initialData: z
      .strictObject({ percent: z.number().min(0).max(100).default(1), seed: z.string().min(1).max(128).optional() })
      .prefault({}),
  })
  .superRefine((request, ctx) => {
    [request.osDisk, ...request.dataDisks].forEach((disk, index) => {
      const path = index === 0 ? ['osDisk', 'sku'] : ['dataDisks', index - 1, 'sku'];
      if (disk.sku === undefined) return;
      if (!request.managedDisks) ctx.addIssue({ code: 'custom', message: 'a SKU applies to managed disks: set managedDisks', path });
      else if (storageTypeOfSku(disk.sku) !== disk.storageType && disk.storageType === 'Premium') {
        ctx.addIssue({ code: 'custom', message: `${disk.sku} is not Premium storage`, path });
      }
    });
    const luns = request.dataDisks.map((d) => d.lun);
    luns.forEach((lun, index) => {
      if (luns.indexOf(lun) !== index) ctx.addIssue({ code: 'custom', message: `LUN ${lun} is used twice`, path: ['dataDisks', index, 'lun'] });
    });
    const { agent } = request;
    if (request.osType === 'Linux' && agent.vss !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'VSS exists only on Windows VMs', path: ['agent', 'vss'] });
    }
    if (request.osType === 'Windows') {
      for (const field of ['fsFreeze', 'preScript', 'postScript'] as const) {
        if (agent[field] !== undefined) ctx.addIssue({ code: 'custom', message: `${field} applies to Linux VMs only`, path: ['agent', field] });
      }
    }
    if ((agent.preScript === undefined) !== (agent.postScript === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give both preScript and postScript, or neither', path: ['agent', agent.preScript === undefined ? 'preScript' : 'postScript'] });
    }
  });

export type CreateVmRequest = z.output<typeof createVmRequestSchema>;
export type CreateVmRequestInput = z.input<typeof createVmRequestSchema>;

const vmDiskSchema = z
  .strictObject({
    kind: z.enum(['os', 'data']),
    lun: z.number().int().min(0).max(MAX_DATA_DISK_LUN).optional(),
    name: z.string().min(1),
    vhdUri: z.string().min(1).optional(),
    managedDisk: z.strictObject({ id: z.string().min(1), storageAccountType: z.string().optional() }).optional(),
    storageType: z.enum(STORAGE_TYPES),
    sizeBytes: z.number().int().nonnegative(),
  })
  .refine((disk) => (disk.vhdUri === undefined) !== (disk.managedDisk === undefined), {
    error: 'a disk has either a vhdUri (unmanaged) or a managedDisk, not both',
  });

/** A stored VirtualMachine record (inventory rows are checked with it when read). */
export const virtualMachineSchema = z.strictObject({
  id: z.string().min(1),
  subscriptionId: z.string().min(1),
  resourceGroup: z.string().min(1),
  name: z.string().min(1),
  location: z.string().min(1),
  vmSize: z.string(),
  osType: z.enum(OS_TYPES),
  powerState: z.enum(POWER_STATES),
  provisioningState: z.enum(PROVISIONING_STATES),
  agent: z.strictObject({
    status: z.enum(AGENT_STATUSES),
    version: z.string().optional(),
    vss: z.enum(VSS_HEALTH).optional(),
    fsFreeze: z.enum(FS_FREEZE_HEALTH).optional(),
    snapshotStatus: z.enum(SNAPSHOT_STATUS_REPORTING).optional(),
    preScript: z.string().optional(),
    postScript: z.string().optional(),
  }),
  disks: z.array(vmDiskSchema),
  encryption: z
    .strictObject({
      enabled: z.boolean(),
      bek: z.strictObject({ secretUrl: z.string(), vaultId: z.string() }).optional(),
      kek: z.strictObject({ keyUrl: z.string(), vaultId: z.string() }).optional(),
    })
    .optional(),
  tags: z.record(z.string(), z.string()).optional(),
  createdAt: z.string(),
}) satisfies z.ZodType<VirtualMachine>;

function clip(value: string, max = 100): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}
