/**
 * The access catalog: role assignments (`{prefix}RoleAssignments`, partition = principal object id,
 * row = assignment name) and the activity log (`{prefix}ActivityLog`, partition = subscription id or
 * `tenant`, rows newest first), in Azure Tables next to the vault catalog or in memory.
 */
import type { ActivityEventRecord } from '../domain/activity-log';
import type { RoleAssignmentRecord } from '../domain/authorization/role-assignment';
import { TableDocumentStore } from './azure/table-document-store';
import type { DocumentStore } from './document-store';
import { MemoryDocumentStore } from './memory/document-store';

export interface AccessCatalog {
  roleAssignments: DocumentStore<RoleAssignmentRecord>;
  activityLog: DocumentStore<ActivityEventRecord>;
}

export function tableAccessCatalog(connectionString: string, prefix: string): AccessCatalog {
  return {
    roleAssignments: TableDocumentStore.fromConnectionString<RoleAssignmentRecord>(connectionString, `${prefix}RoleAssignments`, 'Role assignment'),
    activityLog: TableDocumentStore.fromConnectionString<ActivityEventRecord>(connectionString, `${prefix}ActivityLog`, 'Activity log event'),
  };
}

export function memoryAccessCatalog(): AccessCatalog {
  return {
    roleAssignments: new MemoryDocumentStore<RoleAssignmentRecord>('Role assignment'),
    activityLog: new MemoryDocumentStore<ActivityEventRecord>('Activity log event'),
  };
}
