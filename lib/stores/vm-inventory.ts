/**
 * The VM inventory: the virtual machines Kluis can discover and back up.
 * Implementations: `azure/table-vm-inventory.ts` (the local fabric's Azure Table),
 * `memory/vm-inventory.ts` (tests), `azure/arm-vm-inventory.ts` (Azure Resource Manager, read-only).
 *
 * Names are case-insensitive (as in Azure); records keep the casing they were created with.
 * Conventions: `get` returns undefined for a missing VM; `delete` succeeds when it is already gone;
 * `create` inserts only (KluisVmAlreadyExists); `update` replaces under an ETag (KluisCatalogConflict
 * when the record changed, UserErrorVmNotFoundV2 when it is gone).
 */
import type { VirtualMachine, VmRef } from '../domain/virtual-machine';
import type { AbortOptions } from './disk-store';

export interface StoredVirtualMachine extends VirtualMachine {
  etag: string;
}

export interface VmListFilter {
  /** Only VMs in this region (compared normalized: `West Europe` = `westeurope`). */
  location?: string;
}

export interface UpdateVmOptions extends AbortOptions {
  ifMatch: string;
}

export interface DeleteVmOptions extends AbortOptions {
  /** Delete only if the record still has this ETag (KluisCatalogConflict otherwise). */
  ifMatch?: string;
}

export interface VmInventory {
  get(ref: VmRef, options?: AbortOptions): Promise<StoredVirtualMachine | undefined>;
  /** By ARM resource id; KluisInvalidRequest when `id` is not a VM resource id. */
  getById(id: string, options?: AbortOptions): Promise<StoredVirtualMachine | undefined>;
  /** The subscription's VMs (order unspecified). */
  list(subscriptionId: string, filter?: VmListFilter, options?: AbortOptions): AsyncIterable<StoredVirtualMachine>;
  create(vm: VirtualMachine, options?: AbortOptions): Promise<StoredVirtualMachine>;
  update(vm: VirtualMachine, options: UpdateVmOptions): Promise<StoredVirtualMachine>;
  delete(ref: VmRef, options?: DeleteVmOptions): Promise<void>;
}

/** Collects an async iterable (lists are small: one subscription's VMs). */
export async function listAll(inventory: VmInventory, subscriptionId: string, filter?: VmListFilter): Promise<StoredVirtualMachine[]> {
  const all: StoredVirtualMachine[] = [];
  for await (const vm of inventory.list(subscriptionId, filter)) all.push(vm);
  return all;
}
