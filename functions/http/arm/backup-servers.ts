/**
 * Backup servers (issue 16) over the ARM-shaped API, with Azure's paths and shapes:
 *  - PUT `{vault}/certificates/{certificateName}` (VaultCertificates_Create): upload a credential certificate; the
 *    answer is what a vault credentials file is written from.
 *  - GET `{vault}/backupEngines` and `{vault}/backupEngines/{backupEngineName}`: the registered servers.
 *  - DELETE `{vault}/registeredIdentities/{identityName}` (RegisteredIdentities_Delete): unregister a server.
 * The registration itself is not an ARM call (a server proves the credentials' key, not an Azure sign-in): see
 * functions/http/backup-server-registration.ts.
 */
import { z } from 'zod';
import { getBackupEngine, listBackupEngines, uploadVaultCertificate } from '../../../lib/services/backup-server-registration';
import { unregisterBackupServerAndVaultCopy } from '../../../lib/services/backup-server-connection';
import { backupEngineResource } from '../../../lib/domain/backup-server/registration';
import { forgetServerReports } from '../../../lib/services/backup-server-reports';
import { backupServerConnectionDeps, backupServerRegistrationDeps, backupServerReportDeps } from '../../deps';
import { armRoute, list, noContent, ok, VAULT_ROUTE, vaultRefOf } from './route';

const TAG = 'Backup servers';

const certificateBody = z.object({
  properties: z.object({ authType: z.string().optional(), certificate: z.string().min(1) }),
});

armRoute({
  operationId: 'VaultCertificates_Create',
  action: 'Microsoft.RecoveryServices/Vaults/certificates/write',
  method: 'PUT',
  route: `${VAULT_ROUTE}/certificates/{certificateName}`,
  summary:
    'Uploads the public part of a vault credential certificate (base64 DER, authType AAD). The answer (resource id, AAD details, validity: at most 48 hours) is what a vault credentials file is written from.',
  tag: TAG,
  body: certificateBody,
  responses: { 200: 'The certificate and the vault’s registration details.', 400: 'Not a certificate, expired, or another auth type.', 404: 'No such vault.' },
  handler: async ({ params, body, baseUrl }) =>
    ok(await uploadVaultCertificate(backupServerRegistrationDeps(baseUrl), vaultRefOf(params), params.certificateName ?? '', body)),
});

armRoute({
  operationId: 'BackupEngines_List',
  action: 'Microsoft.RecoveryServices/Vaults/backupEngines/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupEngines`,
  summary: 'Lists the backup servers registered with the vault (backupEngineType AzureBackupServerEngine).',
  tag: TAG,
  responses: { 200: 'The servers, in `value`.', 404: 'No such vault.' },
  handler: async ({ params, baseUrl }) => list(await listBackupEngines(backupServerRegistrationDeps(baseUrl), vaultRefOf(params))),
});

armRoute({
  operationId: 'BackupEngines_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupEngines/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupEngines/{backupEngineName}`,
  summary: 'Gets a registered backup server.',
  tag: TAG,
  responses: { 200: 'The server.', 404: 'No such vault or server (KluisBackupEngineNotFound; a machine in direct mode, MAB, has no backup engine).' },
  handler: async ({ params, baseUrl }) => {
    const vault = vaultRefOf(params);
    return ok(backupEngineResource(vault, await getBackupEngine(backupServerRegistrationDeps(baseUrl), vault, params.backupEngineName ?? '')));
  },
});

armRoute({
  operationId: 'RegisteredIdentities_Delete',
  action: 'Microsoft.RecoveryServices/Vaults/registeredIdentities/delete',
  method: 'DELETE',
  route: `${VAULT_ROUTE}/registeredIdentities/{identityName}`,
  summary:
    "Unregisters a backup server and deletes its backup data in the vault permanently, as Azure does when a backup management server is deleted. Its local copies stay on the server's disks (readable with its passphrase).",
  tag: TAG,
  responses: { 204: 'Unregistered.', 404: 'No such vault or server.' },
  handler: async ({ params }) => {
    await unregisterBackupServerAndVaultCopy(backupServerConnectionDeps(), vaultRefOf(params), params.identityName ?? '');
    // Its items, points and jobs go with it, as Azure's do with a deleted backup management server.
    await forgetServerReports(backupServerReportDeps(), vaultRefOf(params), params.identityName ?? '');
    return noContent();
  },
});
