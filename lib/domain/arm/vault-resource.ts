/**
 * A vault as Microsoft.RecoveryServices shows it: the vault resource, its backup storage config
 * (`backupstorageconfig/vaultstorageconfig`) and its backup config (`backupconfig/vaultconfig`),
 * plus the zod schemas of their PUT/PATCH bodies. A body from a GET may be sent back as it is:
 * read-only fields (id, name, type, etag, provisioningState, …) are accepted and ignored.
 */
import { IMMUTABILITY_STATES, type ImmutabilityState } from '../immutability';
import { z } from 'zod';
import { VAULT_RESOURCE_TYPE } from '../arm-names';
import type { StorageModelType, VaultRecord } from '../catalog';
import { errors } from '../errors';
import { identityView } from '../vault-identity';
import { restoreDrillSettingsSchema, type RestoreDrillSettings } from '../restore-drill';
import { SOFT_DELETE_RETENTION_DAYS } from '../vault-rules';

export const STORAGE_CONFIG_RESOURCE_TYPE = 'Microsoft.RecoveryServices/vaults/backupstorageconfig';
export const VAULT_CONFIG_RESOURCE_TYPE = 'Microsoft.RecoveryServices/vaults/backupconfig';

const storageModelTypeSchema = z.enum(['GeoRedundant', 'LocallyRedundant', 'ZoneRedundant']);
const softDeleteStateSchema = z.enum(['Enabled', 'Disabled', 'AlwaysON']);
const softDeleteRetentionSchema = z.number().int().min(SOFT_DELETE_RETENTION_DAYS.min).max(SOFT_DELETE_RETENTION_DAYS.max);

/** ARM tags: at most 50, names 1–512 characters, values up to 256. */
export const tagsSchema = z
  .record(z.string().min(1).max(512), z.string().max(256))
  .refine((tags) => Object.keys(tags).length <= 50, { error: 'A resource has at most 50 tags.' });

const readOnlyResourceFields = {
  id: z.string().optional(),
  name: z.string().optional(),
  type: z.string().optional(),
  etag: z.string().optional(),
  systemData: z.unknown().optional(),
};

const noCrossRegionRestore = { error: 'Cross Region Restore is not supported by Kluis.' };
const enabledOrDisabled = z.enum(['Enabled', 'Disabled']);

/** `properties.monitoringSettings` (alerts, Site Recovery's included as the vault API has them): accepted, stored and returned as sent. */
export const monitoringSettingsSchema = z
  .object({
    azureMonitorAlertSettings: z
      .object({
        alertsForAllJobFailures: enabledOrDisabled.optional(),
        alertsForAllReplicationIssues: enabledOrDisabled.optional(),
        alertsForAllFailoverIssues: enabledOrDisabled.optional(),
      })
      .strict()
      .optional(),
    classicAlertSettings: z
      .object({ alertsForCriticalOperations: enabledOrDisabled.optional(), emailNotificationsForSiteRecovery: enabledOrDisabled.optional() })
      .strict()
      .optional(),
  })
  .strict();

/** `properties.restoreSettings`: cross-subscription restore state, stored and returned (Kluis restores within its own storage only). */
export const restoreSettingsSchema = z
  .object({
    crossSubscriptionRestoreSettings: z
      .object({ crossSubscriptionRestoreState: z.enum(['Enabled', 'Disabled', 'PermanentlyDisabled']).optional() })
      .strict()
      .optional(),
  })
  .strict();

/** The vault's `identity`: principalId, tenantId and the user-assigned principals are read-only (accepted, ignored). */
export const vaultIdentitySchema = z
  .object({
    type: z.enum(['SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned', 'None']),
    userAssignedIdentities: z
      .record(z.string().min(1).max(1000), z.object({ principalId: z.string().optional(), clientId: z.string().optional() }).strict().nullable())
      .optional(),
    principalId: z.string().optional(),
    tenantId: z.string().optional(),
  })
  .strict();

// Read-only vault properties of a GET, accepted and ignored when a vault is sent back.
const readOnlyVaultProperties = {
  upgradeDetails: z.unknown().optional(),
  privateEndpointConnections: z.unknown().optional(),
  privateEndpointStateForBackup: z.unknown().optional(),
  privateEndpointStateForSiteRecovery: z.unknown().optional(),
  moveDetails: z.unknown().optional(),
  moveState: z.unknown().optional(),
  backupStorageVersion: z.unknown().optional(),
  secureScore: z.unknown().optional(),
};

export const vaultPropertiesSchema = z
  .object({
    provisioningState: z.string().optional(),
    redundancySettings: z
      .object({
        standardTierStorageRedundancy: storageModelTypeSchema.optional(),
        crossRegionRestore: z.literal('Disabled', noCrossRegionRestore).optional(),
      })
      .strict()
      .optional(),
    securitySettings: z
      .object({
        softDeleteSettings: z
          .object({ softDeleteState: softDeleteStateSchema.optional(), softDeleteRetentionPeriodInDays: softDeleteRetentionSchema.optional() })
          .strict()
          .optional(),
        immutabilitySettings: z
          .object({ state: z.enum(IMMUTABILITY_STATES, { error: `immutabilitySettings.state must be one of ${IMMUTABILITY_STATES.join(', ')}.` }).optional() })
          .strict()
          .optional(),
        multiUserAuthorization: z.unknown().optional(),
      })
      .strict()
      .optional(),
    publicNetworkAccess: z.literal('Enabled', { error: 'Kluis vaults are reachable through their API only; publicNetworkAccess must be Enabled.' }).optional(),
    monitoringSettings: monitoringSettingsSchema.optional(),
    restoreSettings: restoreSettingsSchema.optional(),
    /** Customer-managed keys: refused by the vault service with KluisCustomerManagedKeysNotSupported. */
    encryption: z.unknown().optional(),
    /**
     * Resource Guard authorizations of a multi-user-authorized change: Kluis has no Resource Guards (none
     * protects any of its operations), so there is nothing to authorize; accepted and ignored.
     */
    resourceGuardOperationRequests: z.array(z.string().max(2000)).max(50).optional(),
    ...readOnlyVaultProperties,
  })
  .strict();

/** Body of PUT `{vault}`. */
export const vaultPutBodySchema = z
  .object({
    location: z.string().min(1).max(50),
    tags: tagsSchema.optional(),
    sku: z
      .object({ name: z.enum(['RS0', 'Standard']), tier: z.literal('Standard').optional() })
      .strict()
      .optional(),
    properties: vaultPropertiesSchema.optional(),
    identity: vaultIdentitySchema.optional(),
    ...readOnlyResourceFields,
  })
  .strict();

export type VaultPutBody = z.infer<typeof vaultPutBodySchema>;

const storageConfigProperties = z
  .object({
    storageModelType: storageModelTypeSchema.optional(),
    storageType: storageModelTypeSchema.optional(),
    storageTypeState: z.enum(['Locked', 'Unlocked']).optional(),
    crossRegionRestoreFlag: z.boolean().refine((flag) => !flag, noCrossRegionRestore).optional(),
  })
  .strict();

/** Body of PUT and PATCH `{vault}/backupstorageconfig/vaultstorageconfig`. */
export const storageConfigBodySchema = z.object({ properties: storageConfigProperties, ...readOnlyResourceFields, eTag: z.string().optional() }).strict();

export type StorageConfigBody = z.infer<typeof storageConfigBodySchema>;

/** Body of PUT and PATCH `{vault}/backupconfig/vaultconfig`. */
export const vaultConfigBodySchema = z
  .object({
    properties: z
      .object({
        softDeleteFeatureState: softDeleteStateSchema.optional(),
        softDeleteRetentionPeriodInDays: softDeleteRetentionSchema.optional(),
        enhancedSecurityState: z.literal('Enabled', { error: 'Enhanced security is always on in Kluis; enhancedSecurityState must be Enabled.' }).optional(),
        isSoftDeleteFeatureStateEditable: z.boolean().optional(),
        /** Kluis only: the vault's default for restore drills (restore-drill.ts). */
        kluisRestoreDrill: restoreDrillSettingsSchema.optional(),
      })
      .strict(),
    ...readOnlyResourceFields,
    eTag: z.string().optional(),
  })
  .strict();

export type VaultConfigBody = z.infer<typeof vaultConfigBodySchema>;

/**
 * The redundancy a storage config body asks for: `storageModelType` or its older alias
 * `storageType` (both, when sent, must agree). A PUT must name one; a PATCH may leave it out.
 */
export function requestedStorageModelType(body: StorageConfigBody, required: boolean): StorageModelType | undefined {
  const { storageModelType, storageType } = body.properties;
  if (storageModelType !== undefined && storageType !== undefined && storageModelType !== storageType) {
    throw errors.invalidRequest('properties.storageType', `storageType (${storageType}) and storageModelType (${storageModelType}) disagree; send one of them.`);
  }
  const requested = storageModelType ?? storageType;
  if (requested === undefined && required) {
    throw errors.invalidRequest('properties.storageModelType', 'Name the storage redundancy: GeoRedundant, LocallyRedundant or ZoneRedundant.');
  }
  return requested;
}

// ---- views --------------------------------------------------------------------------------------

export interface VaultResource {
  id: string;
  name: string;
  type: typeof VAULT_RESOURCE_TYPE;
  location: string;
  tags: Record<string, string>;
  etag?: string;
  sku: { name: 'RS0'; tier: 'Standard' };
  properties: {
    provisioningState: 'Succeeded';
    redundancySettings: { standardTierStorageRedundancy: StorageModelType; crossRegionRestore: 'Disabled' };
    securitySettings: {
      softDeleteSettings: { softDeleteState: VaultRecord['softDelete']['state']; softDeleteRetentionPeriodInDays: number };
      immutabilitySettings: { state: ImmutabilityState };
    };
    publicNetworkAccess: 'Enabled';
    monitoringSettings?: VaultRecord['monitoringSettings'];
    restoreSettings?: VaultRecord['restoreSettings'];
  };
  identity?: Record<string, unknown>;
  systemData: { createdAt: string; lastModifiedAt: string };
}

export function vaultResource(vault: VaultRecord, etag?: string): VaultResource {
  const resource: VaultResource = {
    id: vault.id,
    name: vault.name,
    type: VAULT_RESOURCE_TYPE,
    location: vault.location,
    tags: { ...vault.tags },
    sku: { name: 'RS0', tier: 'Standard' },
    properties: {
      provisioningState: 'Succeeded',
      redundancySettings: { standardTierStorageRedundancy: vault.storageModelType, crossRegionRestore: 'Disabled' },
      securitySettings: {
        softDeleteSettings: { softDeleteState: vault.softDelete.state, softDeleteRetentionPeriodInDays: vault.softDelete.retentionDays },
        immutabilitySettings: { state: vault.immutability ?? 'Disabled' },
      },
      publicNetworkAccess: 'Enabled',
    },
    systemData: { createdAt: vault.createdAt, lastModifiedAt: vault.updatedAt ?? vault.createdAt },
  };
  if (vault.monitoringSettings !== undefined) resource.properties.monitoringSettings = structuredClone(vault.monitoringSettings);
  if (vault.restoreSettings !== undefined) resource.properties.restoreSettings = structuredClone(vault.restoreSettings);
  if (vault.identity !== undefined) resource.identity = identityView(vault.identity);
  if (etag !== undefined && etag !== '') resource.etag = etag;
  return resource;
}

export interface StorageConfigResource {
  id: string;
  name: 'vaultstorageconfig';
  type: typeof STORAGE_CONFIG_RESOURCE_TYPE;
  properties: {
    storageModelType: StorageModelType;
    storageType: StorageModelType;
    /** Locked while the vault holds backup items: the redundancy cannot change then. */
    storageTypeState: 'Locked' | 'Unlocked';
    crossRegionRestoreFlag: false;
  };
}

export function storageConfigResource(vault: VaultRecord, locked: boolean): StorageConfigResource {
  return {
    id: `${vault.id}/backupstorageconfig/vaultstorageconfig`,
    name: 'vaultstorageconfig',
    type: STORAGE_CONFIG_RESOURCE_TYPE,
    properties: {
      storageModelType: vault.storageModelType,
      storageType: vault.storageModelType,
      storageTypeState: locked ? 'Locked' : 'Unlocked',
      crossRegionRestoreFlag: false,
    },
  };
}

export interface VaultConfigResource {
  id: string;
  name: 'vaultconfig';
  type: typeof VAULT_CONFIG_RESOURCE_TYPE;
  properties: {
    enhancedSecurityState: 'Enabled';
    softDeleteFeatureState: VaultRecord['softDelete']['state'];
    softDeleteRetentionPeriodInDays: number;
    isSoftDeleteFeatureStateEditable: boolean;
    /** Kluis only, when the vault sets it: Azure's clients ignore it. */
    kluisRestoreDrill?: RestoreDrillSettings;
  };
}

export function vaultConfigResource(vault: VaultRecord): VaultConfigResource {
  return {
    id: `${vault.id}/backupconfig/vaultconfig`,
    name: 'vaultconfig',
    type: VAULT_CONFIG_RESOURCE_TYPE,
    properties: {
      enhancedSecurityState: 'Enabled',
      softDeleteFeatureState: vault.softDelete.state,
      softDeleteRetentionPeriodInDays: vault.softDelete.retentionDays,
      isSoftDeleteFeatureStateEditable: vault.softDelete.state !== 'AlwaysON',
      ...(vault.restoreDrill === undefined ? {} : { kluisRestoreDrill: { ...vault.restoreDrill } }),
    },
  };
}
