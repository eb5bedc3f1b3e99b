/**
 * The vault catalog: one DocumentStore per record kind plus the recovery-point catalog. Built on
 * Azure Tables (`fromConnectionString`) or in memory (`inMemory`, for unit tests).
 */
import type { JobRecord, OperationRecord, PolicyRecord, ProtectedItemRecord, VaultRecord } from '../domain/catalog';
import type { StorageConnection } from '../domain/storage-account';
import { TableDocumentStore } from './azure/table-document-store';
import type { TableClientPipelineOptions } from './azure/storage-retry';
import { TableRecoveryPointCatalog } from './azure/table-recovery-point-catalog';
import type { DocumentStore } from './document-store';
import { MemoryDocumentStore } from './memory/document-store';
import { MemoryRecoveryPointCatalog } from './memory/recovery-point-catalog';
import type { RecoveryPointCatalog } from './recovery-point-catalog';

export interface VaultCatalog {
  vaults: DocumentStore<VaultRecord>;
  policies: DocumentStore<PolicyRecord>;
  items: DocumentStore<ProtectedItemRecord>;
  jobs: DocumentStore<JobRecord>;
  operations: DocumentStore<OperationRecord>;
  recoveryPoints: RecoveryPointCatalog;
}

export interface CatalogTableNames {
  /** Prefix of the table names, e.g. 'Kluis' → KluisVaults, KluisPolicies, … */
  prefix: string;
  recoveryPoints: string;
}

/** `options`: the Table clients' pipeline (lib/stores/azure/storage-retry.ts tableClientOptions). */
export function tableVaultCatalog(connectionString: StorageConnection, tables: CatalogTableNames, options?: TableClientPipelineOptions): VaultCatalog {
  const table = <T>(suffix: string, kind: string) => TableDocumentStore.fromConnectionString<T>(connectionString, `${tables.prefix}${suffix}`, kind, options);
  return {
    vaults: table<VaultRecord>('Vaults', 'Vault'),
    policies: table<PolicyRecord>('Policies', 'Backup policy'),
    items: table<ProtectedItemRecord>('ProtectedItems', 'Protected item'),
    jobs: table<JobRecord>('Jobs', 'Job'),
    operations: table<OperationRecord>('Operations', 'Operation'),
    recoveryPoints: TableRecoveryPointCatalog.fromConnectionString(connectionString, tables.recoveryPoints, options),
  };
}

export function memoryVaultCatalog(): VaultCatalog {
  return {
    vaults: new MemoryDocumentStore<VaultRecord>('Vault'),
    policies: new MemoryDocumentStore<PolicyRecord>('Backup policy'),
    items: new MemoryDocumentStore<ProtectedItemRecord>('Protected item'),
    jobs: new MemoryDocumentStore<JobRecord>('Job'),
    operations: new MemoryDocumentStore<OperationRecord>('Operation'),
    recoveryPoints: new MemoryRecoveryPointCatalog(),
  };
}
