/**
 * VmInventory in an Azure Table (the local fabric's inventory): partition = subscription id, row =
 * `${resourceGroup}~${name}`, both lower-cased (Azure names are case-insensitive); the record is
 * JSON in the `vm` property, with `location` as its own column for filtered lists. ETag concurrency.
 */
import { TableClient, type TableServiceClientOptions as TableClientOptions } from '@azure/data-tables';
import { errors } from '../../domain/errors';
import {
  normalizeLocation,
  refOf,
  virtualMachineSchema,
  vmRefFromResourceId,
  type VirtualMachine,
  type VmRef,
} from '../../domain/virtual-machine';
import type { AbortOptions } from '../disk-store';
import type { DeleteVmOptions, StoredVirtualMachine, UpdateVmOptions, VmInventory, VmListFilter } from '../vm-inventory';
import { isStatus } from './rest-status';
import { createTableOnce } from './table-support';
import { tableClientOf } from './storage-clients';
import type { StorageConnection } from '../../domain/storage-account';

interface VmEntity {
  partitionKey: string;
  rowKey: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  vm: string;
}

export function inventoryPartitionKey(subscriptionId: string): string {
  return subscriptionId.toLowerCase();
}

export function inventoryRowKey(resourceGroup: string, name: string): string {
  return `${resourceGroup}~${name}`.toLowerCase();
}

export class TableVmInventory implements VmInventory {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = createTableOnce(table);
  }

  static fromConnectionString(
    connectionString: StorageConnection,
    /** See KLUIS_INVENTORY_TABLE (default `KluisVirtualMachines`). */
    tableName: string,
    options?: TableClientOptions,
  ): TableVmInventory {
    return new TableVmInventory(tableClientOf(connectionString, tableName, options));
  }

  async get(ref: VmRef, options: AbortOptions = {}): Promise<StoredVirtualMachine | undefined> {
    await this.ensureTable();
    try {
      const entity = await this.table.getEntity<VmEntity>(inventoryPartitionKey(ref.subscriptionId), inventoryRowKey(ref.resourceGroup, ref.name), {
        abortSignal: options.abortSignal,
      });
      return fromEntity(entity, entity.etag);
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  async getById(id: string, options: AbortOptions = {}): Promise<StoredVirtualMachine | undefined> {
    return this.get(vmRefFromResourceId(id), options);
  }

  async *list(subscriptionId: string, filter: VmListFilter = {}, options: AbortOptions = {}): AsyncIterable<StoredVirtualMachine> {
    await this.ensureTable();
    let query = `PartitionKey eq ${odataString(inventoryPartitionKey(subscriptionId))}`;
    if (filter.location !== undefined) query += ` and location eq ${odataString(normalizeLocation(filter.location))}`;
    const entities = this.table.listEntities<VmEntity>({ queryOptions: { filter: query }, abortSignal: options.abortSignal });
    for await (const entity of entities) yield fromEntity(entity, entity.etag);
  }

  async create(vm: VirtualMachine, options: AbortOptions = {}): Promise<StoredVirtualMachine> {
    await this.ensureTable();
    const record = withoutEtag(vm);
    try {
      const response = await this.table.createEntity(toEntity(record), { abortSignal: options.abortSignal });
      return { ...record, etag: response.etag ?? '' };
    } catch (err) {
      if (isStatus(err, 409)) throw errors.vmAlreadyExists(vm.name, vm.resourceGroup);
      throw err;
    }
  }

  async update(vm: VirtualMachine, options: UpdateVmOptions): Promise<StoredVirtualMachine> {
    await this.ensureTable();
    const record = withoutEtag(vm);
    try {
      const response = await this.table.updateEntity(toEntity(record), 'Replace', { etag: options.ifMatch, abortSignal: options.abortSignal });
      return { ...record, etag: response.etag ?? '' };
    } catch (err) {
      if (isStatus(err, 404)) throw errors.vmNotFound(vm.name);
      if (isStatus(err, 412)) throw errors.catalogConflict(`The virtual machine '${vm.name}'`);
      throw err;
    }
  }

  async delete(ref: VmRef, options: DeleteVmOptions = {}): Promise<void> {
    await this.ensureTable();
    try {
      await this.table.deleteEntity(inventoryPartitionKey(ref.subscriptionId), inventoryRowKey(ref.resourceGroup, ref.name), {
        etag: options.ifMatch ?? '*',
        abortSignal: options.abortSignal,
      });
    } catch (err) {
      if (isStatus(err, 404)) return;
      if (isStatus(err, 412)) throw errors.catalogConflict(`The virtual machine '${ref.name}'`);
      throw err;
    }
  }

}

function withoutEtag(vm: VirtualMachine): VirtualMachine {
  const { etag: _ignored, ...record } = vm as StoredVirtualMachine;
  return record;
}

function toEntity(vm: VirtualMachine): VmEntity {
  const ref = refOf(vm);
  return {
    partitionKey: inventoryPartitionKey(ref.subscriptionId),
    rowKey: inventoryRowKey(ref.resourceGroup, ref.name),
    subscriptionId: vm.subscriptionId,
    resourceGroup: vm.resourceGroup,
    name: vm.name,
    location: normalizeLocation(vm.location),
    vm: JSON.stringify(vm),
  };
}

function fromEntity(entity: VmEntity, etag: string | undefined): StoredVirtualMachine {
  const key = `${entity.partitionKey}/${entity.rowKey}`;
  let value: unknown;
  try {
    value = JSON.parse(entity.vm);
  } catch {
    throw errors.inventoryRecordInvalid(key, 'the vm property is not JSON');
  }
  const parsed = virtualMachineSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw errors.inventoryRecordInvalid(key, `${issue.path.map(String).join('.') || 'vm'}: ${issue.message}`);
  }
  return { ...parsed.data, etag: etag ?? '' };
}

function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

