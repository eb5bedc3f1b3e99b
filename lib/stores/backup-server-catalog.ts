/**
 * The vault side's records of backup servers (issue 16): the credential certificates a vault issued and the
 * servers registered with it. Kept apart from the VaultCatalog so the backup server tier adds tables, not fields.
 */
import type { BackupServerRecord, VaultCertificateRecord } from '../domain/backup-server/registration';
import type { ServerItemRecord, ServerJobRecord, ServerPointRecord } from '../domain/backup-server/server-report';
import type { StorageConnection } from '../domain/storage-account';
import { TableDocumentStore } from './azure/table-document-store';
import type { DocumentStore } from './document-store';
import { MemoryDocumentStore } from './memory/document-store';

export interface BackupServerCatalog {
  /** Partition: the vault (documentKey of its id); row: the certificate thumbprint. */
  certificates: DocumentStore<VaultCertificateRecord>;
  /** Partition: the vault; row: the server name (lowercase). */
  servers: DocumentStore<BackupServerRecord>;
  /** What servers reported (server-report.ts). Partition: the vault; row: documentKey(server, itemName). */
  items: DocumentStore<ServerItemRecord>;
  /** Partition: the vault; row: the job id (lowercase). Kept 90 days. */
  jobs: DocumentStore<ServerJobRecord>;
  /** Partition: documentKey(vault partition, server); row: documentKey(itemName, snapshotId). */
  points: DocumentStore<ServerPointRecord>;
}

export function tableBackupServerCatalog(connectionString: StorageConnection, prefix: string): BackupServerCatalog {
  return {
    certificates: TableDocumentStore.fromConnectionString<VaultCertificateRecord>(connectionString, `${prefix}VaultCertificates`, 'Vault certificate'),
    servers: TableDocumentStore.fromConnectionString<BackupServerRecord>(connectionString, `${prefix}BackupServers`, 'Backup server'),
    items: TableDocumentStore.fromConnectionString<ServerItemRecord>(connectionString, `${prefix}BackupServerItems`, 'Backup server item'),
    jobs: TableDocumentStore.fromConnectionString<ServerJobRecord>(connectionString, `${prefix}BackupServerJobs`, 'Backup server job'),
    points: TableDocumentStore.fromConnectionString<ServerPointRecord>(connectionString, `${prefix}BackupServerPoints`, 'Backup server recovery point'),
  };
}

export function memoryBackupServerCatalog(): BackupServerCatalog {
  return {
    certificates: new MemoryDocumentStore<VaultCertificateRecord>('Vault certificate'),
    servers: new MemoryDocumentStore<BackupServerRecord>('Backup server'),
    items: new MemoryDocumentStore<ServerItemRecord>('Backup server item'),
    jobs: new MemoryDocumentStore<ServerJobRecord>('Backup server job'),
    points: new MemoryDocumentStore<ServerPointRecord>('Backup server recovery point'),
  };
}
