/**
 * In-memory VmInventory with the same keys and ETag semantics as the table one (unit tests, benchmarks).
 */
import { errors } from '../../domain/errors';
import {
  normalizeLocation,
  refOf,
  vmKey,
  vmRefFromResourceId,
  type VirtualMachine,
  type VmRef,
} from '../../domain/virtual-machine';
import type { DeleteVmOptions, StoredVirtualMachine, UpdateVmOptions, VmInventory, VmListFilter } from '../vm-inventory';

export class MemoryVmInventory implements VmInventory {
  private readonly rows = new Map<string, StoredVirtualMachine>();
  private version = 0;

  async get(ref: VmRef): Promise<StoredVirtualMachine | undefined> {
    const row = this.rows.get(vmKey(ref));
    return row === undefined ? undefined : structuredClone(row);
  }

  async getById(id: string): Promise<StoredVirtualMachine | undefined> {
    return this.get(vmRefFromResourceId(id));
  }

  async *list(subscriptionId: string, filter: VmListFilter = {}): AsyncIterable<StoredVirtualMachine> {
    const location = filter.location === undefined ? undefined : normalizeLocation(filter.location);
    const rows = [...this.rows.values()].filter(
      (vm) =>
        vm.subscriptionId.toLowerCase() === subscriptionId.toLowerCase() &&
        (location === undefined || normalizeLocation(vm.location) === location),
    );
    for (const row of rows) yield structuredClone(row);
  }

  async create(vm: VirtualMachine): Promise<StoredVirtualMachine> {
    const key = vmKey(refOf(vm));
    if (this.rows.has(key)) throw errors.vmAlreadyExists(vm.name, vm.resourceGroup);
    return this.store(key, vm);
  }

  async update(vm: VirtualMachine, options: UpdateVmOptions): Promise<StoredVirtualMachine> {
    const key = vmKey(refOf(vm));
    const existing = this.rows.get(key);
    if (existing === undefined) throw errors.vmNotFound(vm.name);
    if (existing.etag !== options.ifMatch) throw errors.catalogConflict(`The virtual machine '${vm.name}'`);
    return this.store(key, vm);
  }

  async delete(ref: VmRef, options: DeleteVmOptions = {}): Promise<void> {
    const key = vmKey(ref);
    const existing = this.rows.get(key);
    if (existing === undefined) return;
    if (options.ifMatch !== undefined && existing.etag !== options.ifMatch) {
      throw errors.catalogConflict(`The virtual machine '${ref.name}'`);
    }
    this.rows.delete(key);
  }

  private store(key: string, vm: VirtualMachine): StoredVirtualMachine {
    this.version += 1;
    const { etag: _ignored, ...record } = vm as StoredVirtualMachine;
    const stored: StoredVirtualMachine = { ...structuredClone(record), etag: `W/"${this.version}"` };
    this.rows.set(key, stored);
    return structuredClone(stored);
  }
}
