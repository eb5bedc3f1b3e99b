/**
 * The "Try it" block `npm start` ends with: the API and OpenAPI URLs, and commands to copy — list
 * the jobs and recovery points, restore a recovery point's disks (RestoreDisks), restore the encrypted
 * VM's key and secret from its recovery point (restoreKeyAndSecret), and write data to a VM with
 * `kluis-fabric` before backing it up again.
 */
import type { ArmClient } from './arm-client';
import { SAMPLE_LOCATION, SAMPLE_VAULT, SAMPLE_VMS, sampleItemPath, sampleVaultPath, sampleVmId } from './sample-fabric';
import type { TourResult } from './product-tour';

export interface TryItContext {
  client: ArmClient;
  tour: TourResult;
  /** Name of the storage account restores are written to (KLUIS_RESTORE_STORAGE). */
  restoreAccountName: string;
  /** How to run kluis-fabric from the current directory, e.g. `node bin/kluis-fabric.js`. */
  fabricCommand: string;
  /** Where the host writes its log, as shown to the user. */
  hostLog: string;
}

/** `/subscriptions/{sub}/resourceGroups/kluis-storage/providers/Microsoft.Storage/storageAccounts/{name}` */
export function restoreAccountId(accountName: string): string {
  return `/subscriptions/${SAMPLE_VAULT.subscriptionId}/resourceGroups/kluis-storage/providers/Microsoft.Storage/storageAccounts/${accountName}`;
}

/** The body of `POST …/recoveryPoints/{rp}/restore` restoring every disk of the VM's point into the restore account. */
export function restoreDisksBody(vmName: string, recoveryPointId: string, accountName: string): unknown {
  return {
    properties: {
      objectType: 'IaasVMRestoreRequest',
      recoveryType: 'RestoreDisks',
      recoveryPointId,
      sourceResourceId: sampleVmId(vmName),
      region: SAMPLE_LOCATION,
      storageAccountId: restoreAccountId(accountName),
    },
  };
}

function curlPost(url: string, body: unknown): string {
  return `curl -i -X POST '${url}' -H 'content-type: application/json' -d '${JSON.stringify(body)}'`;
}

export function tryItLines(context: TryItContext): string[] {
  const { client, tour } = context;
  const lines: string[] = [
    'Try it',
    `  API base URL   ${client.apiBase}`,
    `  OpenAPI        ${client.apiBase}/openapi.json`,
    `  Vault          ${client.apiUrl(sampleVaultPath())}`,
    `  Host log       ${context.hostLog}`,
    ...(tour.keyVault === undefined ? [] : [`  Key Vault      ${tour.keyVault.adminUrl} (the Key Vault emulator's admin API)`]),
    '',
    '  List the jobs:',
    `    curl '${client.apiUrl(`${sampleVaultPath()}/backupJobs`)}'`,
  ];
  const example = tour.restoreExample;
  if (example !== undefined) {
    const itemPath = sampleItemPath(example.vmName);
    lines.push(
      '',
      `  List ${example.vmName}'s recovery points:`,
      `    curl '${client.apiUrl(`${itemPath}/recoveryPoints`)}'`,
      '',
      `  Restore the disks of ${example.vmName} from recovery point ${example.recoveryPointId} (202: follow the Azure-AsyncOperation`,
      `  header; the Restore job shows in the job list, and its disks land in storage account ${context.restoreAccountName}):`,
      `    ${curlPost(client.apiUrl(`${itemPath}/recoveryPoints/${example.recoveryPointId}/restore`), restoreDisksBody(example.vmName, example.recoveryPointId, context.restoreAccountName))}`,
    );
  }
  const encrypted = tour.encryptedExample;
  if (encrypted !== undefined && tour.keyVault !== undefined) {
    const pointPath = `${sampleItemPath(encrypted.vmName)}/recoveryPoints/${encrypted.recoveryPointId}`;
    lines.push(
      '',
      `  Restore ${encrypted.vmName}'s disk encryption key (KEK) and secret (BEK) from recovery point ${encrypted.recoveryPointId}`,
      '  into its Key Vault once they were deleted and purged there (while they exist the answer is 409):',
      `    ${curlPost(client.apiUrl(`${pointPath}/restoreKeyAndSecret`), { properties: { keyVaultId: tour.keyVault.id } })}`,
    );
  }
  const vm = SAMPLE_VMS[1].name;
  const host = new URL(client.origin).port === '7071' ? '' : ` --host ${client.origin}`;
  lines.push(
    '',
    `  Write data to ${vm}'s disks, then back it up again (incremental: only the changed blocks move):`,
    `    ${context.fabricCommand} vm write --name ${vm} --percent 5${host}`,
    `    ${curlPost(client.apiUrl(`${sampleItemPath(vm)}/backup`), { properties: { objectType: 'IaasVMBackupRequest' } })}`,
    `  More: ${context.fabricCommand} --help (list, stop and start VMs, break the agent or VSS, …)`,
  );
  return lines;
}
