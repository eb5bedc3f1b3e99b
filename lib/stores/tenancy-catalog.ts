/**
 * The registry of generic ARM resources: subscriptions (registered through
 * `Microsoft.Subscription/aliases`) and resource groups. Two DocumentStores, in Azure Tables next to
 * the vault catalog (`{prefix}Subscriptions`, `{prefix}ResourceGroups` in the vault account) or in memory.
 *
 * Keys: subscriptions in one partition (`subscriptions`), row = subscription id; resource groups by
 * partition = subscription id, row = group name; all lower-cased (ARM names are case-insensitive).
 */
import type { ResourceGroupRecord, SubscriptionRecord } from '../domain/tenancy';
import type { StorageConnection } from '../domain/storage-account';
import { TableDocumentStore } from './azure/table-document-store';
import type { TableClientPipelineOptions } from './azure/storage-retry';
import type { DocumentStore } from './document-store';
import { MemoryDocumentStore } from './memory/document-store';

export interface TenancyCatalog {
  subscriptions: DocumentStore<SubscriptionRecord>;
  resourceGroups: DocumentStore<ResourceGroupRecord>;
}

export const SUBSCRIPTIONS_PARTITION = 'subscriptions';

export function subscriptionRow(subscriptionId: string): string {
  return subscriptionId.toLowerCase();
}

export function resourceGroupPartition(subscriptionId: string): string {
  return subscriptionId.toLowerCase();
}

export function resourceGroupRow(name: string): string {
  return name.toLowerCase();
}

/** In the vault account, with the vault catalog's table prefix (KLUIS_CATALOG_TABLE_PREFIX). */
export function tableTenancyCatalog(connectionString: StorageConnection, prefix: string, options?: TableClientPipelineOptions): TenancyCatalog {
  return {
    subscriptions: TableDocumentStore.fromConnectionString<SubscriptionRecord>(connectionString, `${prefix}Subscriptions`, 'Subscription', options),
    resourceGroups: TableDocumentStore.fromConnectionString<ResourceGroupRecord>(connectionString, `${prefix}ResourceGroups`, 'Resource group', options),
  };
}

export function memoryTenancyCatalog(): TenancyCatalog {
  return {
    subscriptions: new MemoryDocumentStore<SubscriptionRecord>('Subscription'),
    resourceGroups: new MemoryDocumentStore<ResourceGroupRecord>('Resource group'),
  };
}
