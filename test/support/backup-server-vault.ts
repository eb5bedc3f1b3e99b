/** The vault side of the backup server's integration tests: an in-memory catalog with one vault, on a test clock. */
import { createOrUpdateVault } from '../../lib/services/vaults';
import { memoryBackupServerCatalog } from '../../lib/stores/backup-server-catalog';
import { memoryVaultCatalog } from '../../lib/stores/vault-catalog';

export async function inMemoryVault(vault: { subscriptionId: string; resourceGroup: string; vaultName: string }, clock: () => Date) {
  const vaultDeps = {
    catalog: memoryVaultCatalog(),
    backupServers: memoryBackupServerCatalog(),
    clock,
    identity: { aadAuthority: 'https://127.0.0.1/identity', aadTenantId: '11111111-1111-1111-1111-111111111111', endpoint: 'https://127.0.0.1/' },
  };
  await createOrUpdateVault(vaultDeps, vault, { location: 'westeurope' });
  return vaultDeps;
}
