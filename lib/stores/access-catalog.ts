/**
 * The access catalog: role assignments (`{prefix}RoleAssignments`, partition = principal object id,
 * row = assignment name) and the activity log (`{prefix}ActivityLog`, partition = subscription id or
 * `tenant`, rows newest first), in Azure Tables next to the vault catalog or in memory.
 */
import type { ActivityEventRecord } from '../domain/activity-log';
import type { RoleAssignmentRecord } from '../domain/authorization/role-assignment';
import type { StorageConnection } from '../domain/storage-account';
import { TableDocumentStore } from './azure/table-document-store';
import type { TableClientPipelineOptions } from './azure/storage-retry';
import type { DocumentStore } from './document-store';
import { MemoryDocumentStore } from './memory/document-store';

export interface AccessCatalog {
  roleAssignments: DocumentStore<RoleAssignmentRecord>;
  activityLog: DocumentStore<ActivityEventRecord>;
}

/** `options`: the Table clients' pipeline (lib/stores/azure/storage-retry.ts tableClientOptions). */
export function tableAccessCatalog(connectionString: StorageConnection, prefix: string, options?: TableClientPipelineOptions): AccessCatalog {
  return {
    roleAssignments: TableDocumentStore.fromConnectionString<RoleAssignmentRecord>(connectionString, `${prefix}RoleAssignments`, 'Role assignment', options),
    activityLog: TableDocumentStore.fromConnectionString<ActivityEventRecord>(connectionString, `${prefix}ActivityLog`, 'Activity log event', options),
  };
}

export function memoryAccessCatalog(): AccessCatalog {
  return {
    roleAssignments: new MemoryDocumentStore<RoleAssignmentRecord>('Role assignment'),
    activityLog: new MemoryDocumentStore<ActivityEventRecord>('Activity log event'),
  };
}
