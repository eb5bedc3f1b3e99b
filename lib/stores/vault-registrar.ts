/** How a backup server registers with its vault (implementation: http/vault-registrar.ts; tests call the service). */
import type { VaultCredentials } from '../domain/backup-server/vault-credentials';

export interface RegisteredEngine {
  name: string;
  properties: { backupEngineId?: string; backupEngineType: string; backupManagementType?: string };
}

export interface VaultRegistrar {
  /** Registers `serverName` with the vault the credentials name; throws the vault's error (expired, foreign…). */
  register(credentials: VaultCredentials, serverName: string): Promise<RegisteredEngine>;
}
