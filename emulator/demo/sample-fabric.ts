/**
 * What `npm start` builds: three small fabric VMs that between them show every consistency level —
 * a running Windows VM with an OS and a data disk (AppConsistent, VSS), a running Linux VM
 * (FileSystemConsistent, fsfreeze) and a stopped VM on Premium disks (CrashConsistent, staged
 * transfer) — a fourth VM encrypted with ADE (BEK + KEK) in the Key Vault `kluis-demo-kv` of the Key
 * Vault emulator, and the vault that protects them with its DefaultPolicy. The VMs live in the fabric's
 * default subscription and resource group, so `kluis-fabric` finds them without options.
 */
import { DEFAULT_MANAGED_IDENTITY } from '../identity/principals';
import { containerName, DEFAULT_POLICY_NAME, itemName, policyId, vaultId, virtualMachineId, type VaultRef } from '../../lib/domain/arm-names';
import type { CreateVmRequestInput } from '../../lib/domain/virtual-machine';
import { LOCAL_BACKUP_PRINCIPAL_ID } from '../../lib/config';
import { ADE_OPERATOR_OBJECT_ID, ADE_OPERATOR_PERMISSIONS } from '../fabric/ade-keys';
import { FABRIC_DEFAULTS } from '../fabric/service';

const MIB = 1024 * 1024;

export const SAMPLE_LOCATION = 'westeurope';

export const SAMPLE_VAULT: VaultRef = {
  subscriptionId: FABRIC_DEFAULTS.subscriptionId,
  resourceGroup: 'kluis-backup',
  vaultName: 'kluis-vault',
};

export interface SampleVm {
  name: string;
  /** What the VM shows, in a few words. */
  summary: string;
  request: CreateVmRequestInput;
  /** Encrypt it with ADE (BEK + KEK in SAMPLE_KEY_VAULT) before it is protected. */
  adeEncrypted?: boolean;
}

export const SAMPLE_VMS: readonly SampleVm[] = [
  {
    name: 'win-app01',
    summary: 'Windows, running, OS + 1 data disk',
    request: {
      location: SAMPLE_LOCATION,
      osType: 'Windows',
      vmSize: 'Standard_D2s_v3',
      osDisk: { sizeBytes: 64 * MIB },
      dataDisks: [{ lun: 0, sizeBytes: 64 * MIB }],
      initialData: { percent: 5, seed: 'win-app01' },
    },
  },
  {
    name: 'linux-web01',
    summary: 'Linux, running',
    request: {
      location: SAMPLE_LOCATION,
      osType: 'Linux',
      vmSize: 'Standard_B2s',
      osDisk: { sizeBytes: 64 * MIB },
      initialData: { percent: 5, seed: 'linux-web01' },
    },
  },
  {
    name: 'linux-db01',
    summary: 'Linux, stopped, Premium disks',
    request: {
      location: SAMPLE_LOCATION,
      osType: 'Linux',
      vmSize: 'Standard_DS2_v2',
      powerState: 'stopped',
      osDisk: { sizeBytes: 64 * MIB, storageType: 'Premium' },
      dataDisks: [{ lun: 0, sizeBytes: 64 * MIB, storageType: 'Premium' }],
      initialData: { percent: 5, seed: 'linux-db01' },
    },
  },
  {
    name: 'linux-enc01',
    summary: 'Linux, running, encrypted with ADE (BEK + KEK)',
    adeEncrypted: true,
    request: {
      location: SAMPLE_LOCATION,
      osType: 'Linux',
      vmSize: 'Standard_B2s',
      osDisk: { sizeBytes: 16 * MIB },
      initialData: { percent: 5, seed: 'linux-enc01' },
    },
  },
];

/** The Key Vault (in the Key Vault emulator) the encrypted sample VM keeps its BEK and KEK in. */
export const SAMPLE_KEY_VAULT = {
  name: 'kluis-demo-kv',
  subscriptionId: FABRIC_DEFAULTS.subscriptionId,
  resourceGroup: 'kluis-keys',
  location: SAMPLE_LOCATION,
} as const;

/**
 * Who may do what on SAMPLE_KEY_VAULT: Kluis's backup identity reads and backs up the key and secret
 * (and restores them with restoreKeyAndSecret); the fabric's ADE identity creates the KEK and stores the BEK.
 */
export const SAMPLE_KEY_VAULT_ACCESS_POLICIES = [
  { objectId: LOCAL_BACKUP_PRINCIPAL_ID, permissions: { keys: ['get', 'list', 'backup', 'restore'], secrets: ['get', 'list', 'backup', 'restore'] } },
  { objectId: ADE_OPERATOR_OBJECT_ID, permissions: { keys: [...ADE_OPERATOR_PERMISSIONS.keys], secrets: [...ADE_OPERATOR_PERMISSIONS.secrets] } },
  // The local administrator restores keys and secrets there itself (restoreKeyAndSecret needs the caller's own permission).
  { objectId: DEFAULT_MANAGED_IDENTITY.objectId, permissions: { keys: ['get', 'list', 'restore'], secrets: ['get', 'list', 'restore'] } },
];

export const SAMPLE_VM_RESOURCE_GROUP = FABRIC_DEFAULTS.resourceGroup;

/** `subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/{vault}` (no leading slash). */
export function sampleVaultPath(): string {
  return vaultId(SAMPLE_VAULT).slice(1);
}

export function samplePolicyId(): string {
  return policyId(SAMPLE_VAULT, DEFAULT_POLICY_NAME);
}

export function sampleVmId(vmName: string): string {
  return virtualMachineId({ subscriptionId: SAMPLE_VAULT.subscriptionId, resourceGroup: SAMPLE_VM_RESOURCE_GROUP, vmName });
}

/** `{vaultPath}/backupFabrics/Azure/protectionContainers/{container}/protectedItems/{item}` of a sample VM. */
export function sampleItemPath(vmName: string): string {
  const container = containerName(SAMPLE_VM_RESOURCE_GROUP, vmName);
  const item = itemName(SAMPLE_VM_RESOURCE_GROUP, vmName);
  return `${sampleVaultPath()}/backupFabrics/Azure/protectionContainers/${container}/protectedItems/${item}`;
}

/** `subscriptions/{sub}/resourceGroups/{rg}/virtualMachines/{name}` under /fabric/. */
export function sampleVmFabricPath(vmName: string): string {
  return `subscriptions/${SAMPLE_VAULT.subscriptionId}/resourceGroups/${SAMPLE_VM_RESOURCE_GROUP}/virtualMachines/${vmName}`;
}
