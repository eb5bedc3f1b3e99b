/**
 * The vault side's records of backup servers (issue 16): the credential certificates a vault issued and the
 * servers registered with it. Kept apart from the VaultCatalog so the backup server tier adds tables, not fields.
 */
import type { BackupServerRecord, VaultCertificateRecord } from '../domain/backup-server/registration';
import type { StorageConnection } from '../domain/storage-account';
import { TableDocumentStore } from './azure/table-document-store';
import type { DocumentStore } from './document-store';
import { MemoryDocumentStore } from './memory/document-store';

export interface BackupServerCatalog {
  /** Partition: the vault (documentKey of its id); row: the certificate thumbprint. */
  certificates: DocumentStore<VaultCertificateRecord>;
  /** Partition: the vault; row: the server name (lowercase). */
  servers: DocumentStore<BackupServerRecord>;
}

export function tableBackupServerCatalog(connectionString: StorageConnection, prefix: string): BackupServerCatalog {
  return {
    certificates: TableDocumentStore.fromConnectionString<VaultCertificateRecord>(connectionString, `${prefix}VaultCertificates`, 'Vault certificate'),
    servers: TableDocumentStore.fromConnectionString<BackupServerRecord>(connectionString, `${prefix}BackupServers`, 'Backup server'),
  };
}

export function memoryBackupServerCatalog(): BackupServerCatalog {
  return {
    certificates: new MemoryDocumentStore<VaultCertificateRecord>('Vault certificate'),
    servers: new MemoryDocumentStore<BackupServerRecord>('Backup server'),
  };
}
