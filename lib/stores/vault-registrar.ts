/** How a backup server registers with its vault (implementation: http/vault-registrar.ts; tests call the service). */
import type { AllowedOperations, ServerSubscriptionState } from '../domain/backup-server/connectivity';
import type { SignedServerRequest } from '../domain/backup-server/server-identity';
import type { VaultCredentials } from '../domain/backup-server/vault-credentials';
import type { VaultCopyGrant } from './vault-copy-access';

export interface RegisteredEngine {
  name: string;
  properties: { backupEngineId?: string; backupEngineType: string; backupManagementType?: string };
}

export interface VaultRegistrar {
  /**
   * Registers `serverName` with the vault the credentials name; throws the vault's error (expired, foreign…).
   * `backupManagementType: 'MAB'`: a machine in direct mode (MARS agent).
   */
  register(credentials: VaultCredentials, serverName: string, serverPublicKey: string, options?: { backupManagementType?: 'MAB' }): Promise<RegisteredEngine>;
  /** Signed with the server's identity key; throws when the vault cannot be reached or refuses. */
  checkIn(endpoint: string, signed: SignedServerRequest): Promise<{ lastCheckInAt: string; subscriptionState: ServerSubscriptionState; allowed: AllowedOperations }>;
  vaultCopyAccess(endpoint: string, signed: SignedServerRequest): Promise<VaultCopyGrant>;
  /**
   * Sends a report (sources, jobs, points: server-report.ts); `signed.request.arguments.reportSha256` is the digest
   * of `reportJson`. Optional: a registrar without it reports nothing. Throws when the vault cannot be reached or refuses.
   */
  report?(endpoint: string, signed: SignedServerRequest, reportJson: string): Promise<unknown>;
}
