/**
 * Builds the use cases' dependencies from the validated configuration, once per worker process.
 * Only the logger changes per invocation.
 */
import { storageAccountNameOfBlobUrl } from '../lib/domain/restore-request';
import { storageAccountId } from '../lib/domain/arm/storage-account-resource';
import { randomUUID } from 'node:crypto';
import { tableBackupServerCatalog, type BackupServerCatalog } from '../lib/stores/backup-server-catalog';
import type { BackupServerRegistrationDeps } from '../lib/services/backup-server-registration';
import type { BackupServerConnectionDeps } from '../lib/services/backup-server-connection';
import type { BackupServerReportDeps } from '../lib/services/backup-server-reports';
import { BlobVaultCopyAccessIssuer } from '../lib/stores/azure/blob-vault-copy-access';
import { findSubscription } from '../lib/services/subscriptions';
import type { SubscriptionState } from '../lib/domain/tenancy';
import { getConfig, type KluisConfig } from '../lib/config';
import { appNow } from '../lib/config/host-clock';
import type { ApplyRetentionDeps } from '../lib/services/apply-retention';
import type { BackupRequestDeps } from '../lib/services/backup-requests';
import type { SchedulerDeps } from '../lib/services/backup-scheduler';
import type { DeleteItemDataDeps } from '../lib/engine/recovery-points/delete-item-data';
import type { GuestQuiesceDeps } from '../lib/services/guest-quiesce';
import type { GuestAgent } from '../lib/stores/guest-agent';
import type { BackupKeyAndSecretDeps } from '../lib/services/backup-key-and-secret';
import type { KeyAndSecretPresenceDeps, KeyVaultAccessDeps } from '../lib/services/key-vault-access';
import { LOCAL_TENANT_ID } from '../lib/stores/azure/keyvault-credential';
import { keyVaultLocatorFromConfig } from '../lib/stores/azure/keyvault-locator';
import { localPrincipalIssuer } from '../lib/services/managed-identities';
import type { VaultDeps } from '../lib/services/vaults';
import { keyStoreFromConfig, localIdentityOf } from '../lib/stores/azure/keyvault-key-store';
import type { KeyStore } from '../lib/stores/key-store';
import { FabricGuestAgent } from '../lib/stores/fabric-guest-agent';
import type { BackupEngineDeps, EngineLogger } from '../lib/engine/engine-deps';
import { PageBlobBackend } from '../lib/engine/sources/page-blob/page-blob-backend';
import { ManagedDiskBackend } from '../lib/engine/sources/managed-disk/managed-disk-backend';
import { ArmManagedDiskCompute, BlobSasPageReader, readCaCertificate } from '../lib/stores/azure/arm-managed-disk-compute';
import { armResourceGroupEnsurer } from '../lib/stores/azure/arm-resource-groups';
import { LocalPrincipalCredential } from '../lib/stores/azure/keyvault-credential';
import type { ManagedDiskCompute } from '../lib/stores/managed-disk-compute';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { ensureResourceGroup } from '../lib/services/resource-groups';
import { sourceDiskRegistry, type SourceDiskRegistry } from '../lib/engine/sources/registry';
import type { RestoreDeps } from '../lib/engine/restore/restore-disks';
import type { ManagedRestoreDeps } from '../lib/engine/restore/restore-managed-disks';
import { BlobPageStore } from '../lib/stores/azure/blob-page-store';
import { BlobRestoreTargetStore } from '../lib/stores/azure/blob-restore-target-store';
import { probedServerSideCopyFacts } from '../lib/engine/sources/page-blob/server-side-copy-facts';
import { TableRecoveryPointCatalog } from '../lib/stores/azure/table-recovery-point-catalog';
import { TableVmInventory } from '../lib/stores/azure/table-vm-inventory';
import { EndpointDiskLocator } from '../lib/engine/sources/page-blob/endpoint-disk-locator';
import { tableVaultCatalog, type VaultCatalog } from '../lib/stores/vault-catalog';
import type { VmInventory } from '../lib/stores/vm-inventory';
import { errors } from '../lib/domain/errors';
import type { AuthenticateDeps } from '../lib/services/authenticate';
import { RemoteSigningKeys } from '../lib/stores/signing-keys';
import { knownStorageAccounts, type KnownStorageAccount } from '../lib/domain/storage-account';
import type { StorageAccountDeps } from '../lib/services/arm-resources';
import type { ResourceGroupContentsDeps, ResourceGroupDeps } from '../lib/services/resource-groups';
import type { SubscriptionDeps } from '../lib/services/subscriptions';
import { tableTenancyCatalog, type TenancyCatalog } from '../lib/stores/tenancy-catalog';
import { blobClientOptions, tableClientOptions } from '../lib/stores/azure/storage-retry';
import { tableAccessCatalog, type AccessCatalog } from '../lib/stores/access-catalog';
import { CatalogRoleAssignments, type RoleAssignmentSource } from '../lib/stores/role-assignment-source';
import { azureRbacSourceForApp } from '../lib/stores/azure/azure-rbac-source';
import type { AuthorizationDeps } from '../lib/services/authorization';
import type { RoleAssignmentDeps } from '../lib/services/role-assignments';
import type { ActivityLogDeps } from '../lib/services/activity-log';
import type { RestoreDrillDeps, RestoreDrillScheduleDeps } from '../lib/services/restore-drills';

interface Stores {
  config: KluisConfig;
  source: BlobPageStore;
  vault: BlobPageStore;
  catalog: TableRecoveryPointCatalog;
  target: BlobRestoreTargetStore;
  /** The vault account as a restore target: restore drills restore into scratch there. */
  vaultTarget: BlobRestoreTargetStore;
  /** Where the VMs' page-blob disks are (their URLs → container and blob in the source account). */
  diskLocator: EndpointDiskLocator;
}

let stores: Stores | undefined;

function buildStores(): Stores {
  const config = getConfig();
  // Every Blob and Table client gets the SDK retry layer (storage-retry.ts; README "Faults and retries").
  const source = BlobPageStore.fromConnectionString(config.sourceStorage, blobClientOptions(config.storageRetry));
  const vault = config.vaultStorage === config.sourceStorage ? source : BlobPageStore.fromConnectionString(config.vaultStorage, blobClientOptions(config.storageRetry));
  return {
    config,
    source,
    vault,
    catalog: TableRecoveryPointCatalog.fromConnectionString(config.vaultStorage, config.catalogTable, tableClientOptions(config.storageRetry)),
    target: BlobRestoreTargetStore.fromConnectionString(config.restoreStorage, blobClientOptions(config.storageRetry)),
    vaultTarget: BlobRestoreTargetStore.fromConnectionString(config.vaultStorage, blobClientOptions(config.storageRetry)),
    diskLocator: EndpointDiskLocator.of(source),
  };
}

function shared(): Stores {
  stores ??= buildStores();
  return stores;
}

const clock = appNow;

let compute: { store: ManagedDiskCompute; backend: ManagedDiskBackend } | undefined;

/**
 * Microsoft.Compute for managed disks (KLUIS_COMPUTE_*), built once per process: @azure/arm-compute at
 * KLUIS_COMPUTE_ENDPOINT with DefaultAzureCredential (Azure) or the backup identity's local token (the local
 * fabric, whose resource groups live in Kluis's own tenancy registry). The backend is shared too: it caches
 * the SAS it was granted.
 */
export function managedDisks(): { store: ManagedDiskCompute; backend: ManagedDiskBackend } {
  if (compute === undefined) {
    const settings = getConfig().compute;
    // Locally the backup identity's token from the local identity endpoint, as Key Vault's local credential gets it.
    const credential: TokenCredential =
      settings.credential === 'local' ? new LocalPrincipalCredential({ objectId: settings.principalId! }, localIdentityOf(getConfig().keyVault)) : new DefaultAzureCredential();
    const store = new ArmManagedDiskCompute({
      credential,
      endpoint: settings.endpoint,
      ...(settings.caCertificateFile === undefined ? {} : { caCertificatePem: readCaCertificate('KLUIS_CA_FILE', settings.caCertificateFile) }),
      ensureResourceGroup:
        settings.credential === 'local' ? (subscriptionId, name, location) => ensureResourceGroup(tenancyDeps(), subscriptionId, name, location) : armResourceGroupEnsurer(credential, settings.endpoint),
    });
    const backend = new ManagedDiskBackend({ compute: store, sas: sasPageAccess(), accessDurationInSeconds: settings.sasDurationInSeconds, clock });
    compute = { store, backend };
  }
  return compute;
}

/**
 * The source disks' backends, by kind, logging to `log`: page blobs in the source account (the VMs' disks,
 * their snapshots and staging blobs; the capability probe's scratch blobs in KLUIS_PROBE_CONTAINER) and
 * managed disks through Microsoft.Compute. Cheap to build per invocation: the stores, the probe's results
 * and the managed-disk backend (its SAS cache) are shared by the process.
 */
export function sourceDisks(log: EngineLogger): SourceDiskRegistry {
  const { source, config } = shared();
  return sourceDiskRegistry(new PageBlobBackend({ source, probeContainer: config.probeContainer, clock, log }), managedDisks().backend);
}

export function engineDeps(log: EngineLogger): BackupEngineDeps {
  const { vault, catalog, config } = shared();
  return { sources: sourceDisks(log), vault, vaultContainer: config.vaultContainer, catalog, clock, log };
}

export function restoreDeps(log: EngineLogger): RestoreDeps {
  const { vault, target, catalog, config } = shared();
  // Disks whose tier shares the target's account are copied server-side where the probe finds that safe.
  const serverSideCopy = probedServerSideCopyFacts({ scratchContainer: config.probeContainer });
  return { vault, sources: sourceDisks(log), target, catalog, clock, log, serverSideCopy };
}

/** What restoring a managed VM's point as new managed disks takes: the restore's stores plus Compute and SAS page access. */
export function managedRestoreDeps(log: EngineLogger): ManagedRestoreDeps {
  const deps = restoreDeps(log);
  // Compute imports a staged VHD from the restore account, which it names by resource id (Azure Backup's staging account).
  const accountName = storageAccountNameOfBlobUrl(deps.target.blobUrl({ container: 'kluis', blob: 'probe' }));
  const { local } = storageAccountDeps();
  const importFrom = accountName === undefined ? undefined : { storageAccountId: storageAccountId({ subscriptionId: local.subscriptionId, resourceGroup: local.storageResourceGroup }, accountName) };
  return { ...deps, compute: managedDisks().store, sas: sasPageAccess(), ...(importFrom === undefined ? {} : { importFrom }) };
}

/** Page reads and writes on managed disks by SAS, each SAS's client with the SDK retry layer. */
function sasPageAccess(): BlobSasPageReader {
  const settings = getConfig().storageRetry;
  return new BlobSasPageReader(() => blobClientOptions(settings));
}

export function deleteDeps(log: EngineLogger): DeleteItemDataDeps {
  const { vault, catalog, config } = shared();
  return { vault, sources: sourceDisks(log), catalog, log, itemBlobs: { store: vault, container: config.vaultContainer } };
}

export function instantRestoreDays(): number {
  return shared().config.instantRestoreDays;
}

let backupServers: BackupServerCatalog | undefined;

/** The backup server tier's records (vault certificates, registered servers), built once per process. */
export function backupServerCatalog(): BackupServerCatalog {
  if (backupServers === undefined) {
    const config = getConfig();
    backupServers = tableBackupServerCatalog(config.vaultStorage, config.catalogTablePrefix);
  }
  return backupServers;
}

/** What backup server registration takes; `baseUrl` is where clients reach Kluis (the credentials' endpoint). */
export function backupServerRegistrationDeps(baseUrl: string): BackupServerRegistrationDeps {
  const config = getConfig();
  return {
    catalog: vaultCatalog(),
    backupServers: backupServerCatalog(),
    clock,
    identity: { aadAuthority: config.auth.authority, aadTenantId: config.tenancy.tenantId, endpoint: baseUrl },
  };
}

let copyAccess: BlobVaultCopyAccessIssuer | undefined;

/** What a registered server's check-ins and vault copy access take: the vault storage issues the SAS. */
export function backupServerConnectionDeps(): BackupServerConnectionDeps {
  copyAccess ??= new BlobVaultCopyAccessIssuer(getConfig().vaultStorage);
  return {
    catalog: vaultCatalog(),
    backupServers: backupServerCatalog(),
    clock,
    subscriptionState: async (subscriptionId) => (await findSubscription(tenancyDeps(), subscriptionId))?.state ?? 'Deleted',
    copyAccess,
  };
}

/** What servers' reports and the vault's views of them take (issue 16, Deliver 8). */
export function backupServerReportDeps(): BackupServerReportDeps {
  return { catalog: vaultCatalog(), backupServers: backupServerCatalog(), clock };
}

let catalog: VaultCatalog | undefined;

/** The vault catalog (vaults, policies, items, jobs, operations, recovery points), built once per process. */
export function vaultCatalog(): VaultCatalog {
  if (catalog === undefined) {
    const config = getConfig();
    catalog = tableVaultCatalog(config.vaultStorage, { prefix: config.catalogTablePrefix, recoveryPoints: config.catalogTable }, tableClientOptions(config.storageRetry));
  }
  return catalog;
}

/** What the vault and policy services take: the catalog and the app's clock. */
export function catalogDeps(): { catalog: VaultCatalog; clock: () => Date } {
  return { catalog: vaultCatalog(), clock };
}

/**
 * What the vault service takes: the catalog, the app's clock and the issuer of managed identity
 * principals (new ids in the local tenant until the identity endpoint's registry issues them).
 */
export function vaultDeps(): VaultDeps {
  return { ...catalogDeps(), principals: localPrincipalIssuer(randomUUID, LOCAL_TENANT_ID) };
}

/** What retention cleanup takes: point deletion plus the vault catalog, the app's clock and job ids. */
export function retentionDeps(log: EngineLogger): ApplyRetentionDeps {
  return { ...deleteDeps(log), vaultCatalog: vaultCatalog(), clock, newId: randomUUID };
}

/** What the restore drill timer takes: the vault catalog, the engine's points, the app's clock and job ids. */
export function restoreDrillScheduleDeps(): RestoreDrillScheduleDeps {
  return { catalog: vaultCatalog(), points: shared().catalog, clock, newId: randomUUID };
}

/** What a restore drill takes: the engine's restore into the vault's own account (scratch in the vault container). */
export function restoreDrillDeps(log: EngineLogger): RestoreDrillDeps {
  const { vault, vaultTarget, config } = shared();
  return { catalog: vaultCatalog(), restore: { ...restoreDeps(log), target: vaultTarget }, vault, vaultContainer: config.vaultContainer, clock, log };
}

/** What the backup scheduler takes: the catalog, the app's clock and job ids. */
/** A subscription's ARM state; one Kluis does not list (a vault's subscription always is) counts as Enabled. */
async function subscriptionStateOf(subscriptionId: string): Promise<SubscriptionState> {
  return (await findSubscription(tenancyDeps(), subscriptionId))?.state ?? 'Enabled';
}

export function schedulerDeps(): SchedulerDeps {
  return { catalog: vaultCatalog(), clock, newId: randomUUID, subscriptionState: subscriptionStateOf };
}

let inventory: VmInventory | undefined;

/** The VM inventory (KLUIS_INVENTORY): the local fabric's table in the source account, built once per process. */
export function vmInventory(): VmInventory {
  if (inventory === undefined) {
    const config = getConfig();
    if (config.inventory !== 'table') {
      throw errors.invalidConfiguration('KLUIS_INVENTORY', "the Azure Resource Manager inventory needs an Azure credential, which this app does not configure yet; use 'table'");
    }
    inventory = TableVmInventory.fromConnectionString(config.sourceStorage, config.inventoryTable, tableClientOptions(config.storageRetry));
  }
  return inventory;
}

/** What discovery, protection and backup requests take: catalog, VM inventory, clock, ids, and where VM disks live. */
export function backupRequestDeps(): BackupRequestDeps {
  const { diskLocator } = shared();
  return {
    catalog: vaultCatalog(),
    inventory: vmInventory(),
    clock,
    newId: randomUUID,
    locateDisk: (vhdUri) => diskLocator.locate(vhdUri)?.ref,
    keyVault: keyVaultAccessDeps(),
    subscriptionState: subscriptionStateOf,
  };
}

let keys: KeyStore | undefined;

/** Key Vault for encrypted VMs (KLUIS_KEYVAULT_*): DefaultAzureCredential in Azure, the emulator's local credential locally. */
export function keyStore(): KeyStore {
  keys ??= keyStoreFromConfig(getConfig().keyVault);
  return keys;
}

/** What the Key Vault access checks take: the key store and the backup identity's object id for messages. */
export function keyVaultAccessDeps(): KeyVaultAccessDeps {
  const { principalId } = getConfig().keyVault;
  return { keyStore: keyStore(), ...(principalId === undefined ? {} : { principalId }) };
}

/** What the restore of an encrypted VM's point checks its key and secret with: the key store and where vaults are. */
export function keyAndSecretPresenceDeps(): KeyAndSecretPresenceDeps {
  const settings = getConfig().keyVault;
  return { keyStore: keyStore(), locator: keyVaultLocatorFromConfig(settings), ...(settings.principalId === undefined ? {} : { principalId: settings.principalId }) };
}

/** What backing up an encrypted VM's key and secret takes: the key store and the vault account. */
export function keyAndSecretBackupDeps(log: EngineLogger): BackupKeyAndSecretDeps {
  const { vault, config } = shared();
  const { principalId } = config.keyVault;
  return { keyStore: keyStore(), ...(principalId === undefined ? {} : { principalId }), vault, vaultContainer: config.vaultContainer, log };
}

let agent: GuestAgent | undefined;

/** What freezing and thawing a protected VM takes: the catalog, the VM inventory and its guest agent. */
export function guestQuiesceDeps(): GuestQuiesceDeps {
  agent ??= new FabricGuestAgent(vmInventory());
  return { catalog: vaultCatalog(), inventory: vmInventory(), agent };
}

let tenancy: TenancyCatalog | undefined;

/** The registry of subscriptions and resource groups (next to the vault catalog), built once per process. */
export function tenancyCatalog(): TenancyCatalog {
  if (tenancy === undefined) {
    const config = getConfig();
    tenancy = tableTenancyCatalog(config.vaultStorage, config.catalogTablePrefix, tableClientOptions(config.storageRetry));
  }
  return tenancy;
}

/** What the subscription and resource group services take: the registry, the local tenancy settings, clock and ids. */
export function tenancyDeps(): SubscriptionDeps & ResourceGroupDeps {
  return { tenancy: tenancyCatalog(), local: getConfig().tenancy, clock, newId: randomUUID };
}

let accounts: KnownStorageAccount[] | undefined;

/** The storage accounts Kluis is configured with (names and endpoints only), placed in the storage resource group. */
export function storageAccountDeps(): StorageAccountDeps {
  if (accounts === undefined) {
    const config = getConfig();
    accounts = knownStorageAccounts({ functions: config.webJobsStorage, source: config.sourceStorage, vault: config.vaultStorage, restore: config.restoreStorage });
  }
  return { local: getConfig().tenancy, accounts };
}

/** What deleting a resource group checks: the vaults, VMs and storage accounts still inside it. */
export function resourceGroupContentsDeps(): ResourceGroupContentsDeps {
  return { ...tenancyDeps(), vaults: vaultCatalog(), inventory: vmInventory(), storageAccountNames: storageAccountDeps().accounts.map((account) => account.name) };
}

let authentication: AuthenticateDeps | undefined;

/**
 * What the API's token check takes: the configured issuers and audiences, the issuers' signing keys
 * (fetched once and cached per process) and the wall clock. Token lifetimes are checked against real
 * time, not the embedded host's fake clock: the identity endpoint issues them and clients such as az
 * and MSAL cache them by real time, so a fake clock moved a month ahead must not expire them.
 */
export function authenticateDeps(): AuthenticateDeps {
  if (authentication === undefined) {
    const settings = getConfig().auth;
    const keys = settings.jwksUrl === undefined ? undefined : new RemoteSigningKeys(settings.jwksUrl, { ...(settings.caCertificateFile === undefined ? {} : { caCertificateFile: settings.caCertificateFile }) });
    authentication = { settings, keys, clock: () => new Date() };
  }
  return authentication;
}

let access: AccessCatalog | undefined;

/** Role assignments and the activity log (next to the vault catalog), built once per process. */
export function accessCatalog(): AccessCatalog {
  if (access === undefined) {
    const config = getConfig();
    access = tableAccessCatalog(config.vaultStorage, config.catalogTablePrefix, tableClientOptions(config.storageRetry));
  }
  return access;
}

let assignmentSource: Promise<RoleAssignmentSource> | undefined;

/** Where role assignments come from (KLUIS_AUTHORIZATION): the catalog, or Azure RBAC read with the app's identity. */
export function roleAssignmentSource(): Promise<RoleAssignmentSource> {
  assignmentSource ??= getConfig().access.source === 'azure' ? azureRbacSourceForApp() : Promise.resolve(new CatalogRoleAssignments(accessCatalog().roleAssignments));
  return assignmentSource;
}

/** What authorizing a request takes: the assignment source and the configured owners. */
export async function authorizationDeps(): Promise<AuthorizationDeps> {
  return { source: await roleAssignmentSource(), owners: getConfig().access.owners };
}

/** What the role assignment routes take: authorization's deps and the app's clock. */
export async function roleAssignmentDeps(): Promise<RoleAssignmentDeps> {
  return { ...(await authorizationDeps()), clock };
}

/** Where the activity log is kept. */
export function activityLogDeps(): ActivityLogDeps {
  return { activityLog: accessCatalog().activityLog };
}
