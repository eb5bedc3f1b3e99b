/**
 * The "Try it" block `npm start` ends with: the API and OpenAPI URLs, and commands to copy — get a
 * token from the identity endpoint, list the jobs and recovery points, restore a recovery point's disks
 * (RestoreDisks), restore the encrypted VM's key and secret from its recovery point (restoreKeyAndSecret),
 * and write data to a VM with `kluis-fabric` before backing it up again. Every API command sends the
 * token (`$TOKEN`), as every request to Kluis's API must.
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
  /** How clients sign in and reach the HTTPS port. */
  signIn: SignInInfo;
}

export interface SignInInfo {
  /** The host's HTTPS origin, e.g. https://127.0.0.1:7443 */
  httpsOrigin: string;
  /** The local CA's certificate, as shown to the user. */
  caFile: string;
  /** MSI_ENDPOINT of the identity endpoint's App Service managed identity shape. */
  msiEndpoint: string;
  /** The file holding MSI_SECRET (field msiSecret, mode 600): printed as a path, never the secret itself. */
  msiSecretFile: string;
  /** The AD FS-shaped authority (az --endpoint-active-directory, service principals). */
  adfsAuthority: string;
}

const AUTHORIZATION = '-H "Authorization: Bearer $TOKEN"';

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

function curlGet(url: string): string {
  return `curl '${url}' ${AUTHORIZATION}`;
}

function curlPost(url: string, body: unknown): string {
  return `curl -i -X POST '${url}' ${AUTHORIZATION} -H 'content-type: application/json' -d '${JSON.stringify(body)}'`;
}

/** The lines that get a token as `az login --identity` does (App Service managed identity), into $TOKEN. */
export function signInLines(signIn: SignInInfo): string[] {
  return [
    '  Sign in: every API request carries a token; get one for the local administrator (the default managed identity, Owner of everything; valid one hour):',
    `    export MSI_ENDPOINT=${signIn.msiEndpoint} MSI_SECRET=$(node -p 'require(${JSON.stringify(signIn.msiSecretFile)}).msiSecret')`,
    `    TOKEN=$(curl -s "$MSI_ENDPOINT?resource=https://management.core.windows.net/&api-version=2017-09-01" -H "secret: $MSI_SECRET" | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token')`,
  ];
}

export function tryItLines(context: TryItContext): string[] {
  const { client, tour } = context;
  const lines: string[] = [
    'Try it',
    `  Dashboard      ${client.apiBase}/dashboard/ (in a browser; Sign in → Kluis local user)`,
    `  API base URL   ${client.apiBase}`,
    `  HTTPS          ${context.signIn.httpsOrigin} (trust ${context.signIn.caFile})`,
    `  OpenAPI        ${client.apiBase}/api/openapi.json`,
    `  Vault          ${client.apiUrl(sampleVaultPath())}`,
    `  Sign-in        ${context.signIn.adfsAuthority} (AD FS-shaped authority), MSI endpoint ${context.signIn.msiEndpoint}`,
    `  Host log       ${context.hostLog}`,
    ...(tour.keyVault === undefined ? [] : [`  Key Vault      ${tour.keyVault.adminUrl} (the Key Vault emulator's admin API)`]),
    '',
    ...signInLines(context.signIn),
    '',
    '  List the jobs:',
    `    ${curlGet(client.apiUrl(`${sampleVaultPath()}/backupJobs`))}`,
  ];
  const example = tour.restoreExample;
  if (example !== undefined) {
    const itemPath = sampleItemPath(example.vmName);
    lines.push(
      '',
      `  List ${example.vmName}'s recovery points:`,
      `    ${curlGet(client.apiUrl(`${itemPath}/recoveryPoints`))}`,
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
