/**
 * The generic Azure Resource Manager resources Kluis keeps: subscriptions (with their
 * `Microsoft.Subscription/aliases` name) and resource groups. Records, request bodies and the rules
 * ARM applies to them. Pure: the stores keep the records, services/tenancy decides.
 *
 * - The default subscription (configured, KLUIS_SUBSCRIPTION_ID) always exists and is not stored;
 *   other subscriptions are registered by `PUT /providers/Microsoft.Subscription/aliases/{alias}`.
 * - A resource group's location is fixed once created (ARM: InvalidResourceGroupLocation); a PUT of
 *   an existing group replaces its tags and `managedBy`.
 * - The resource group holding Kluis's storage accounts (KLUIS_STORAGE_RESOURCE_GROUP) exists
 *   implicitly in the default subscription until someone PUTs it.
 */
import { z } from 'zod';
import { normalizeLocation } from './virtual-machine';

export type SubscriptionState = 'Enabled' | 'Warned' | 'PastDue' | 'Disabled' | 'Deleted';

/**
 * Whether backups run (scheduled and on demand) in a subscription of this state: Enabled, Warned and PastDue
 * subscriptions work as usual; a Disabled one is read-only in ARM (seed 004: "scheduled backups do not run while a
 * subscription is expired"), a Deleted one too until it is gone.
 */
export function subscriptionRunsBackups(state: SubscriptionState): boolean {
  return state === 'Enabled' || state === 'Warned' || state === 'PastDue';
}

export interface SubscriptionRecord {
  subscriptionId: string;
  displayName: string;
  tenantId: string;
  state: SubscriptionState;
  /** The `Microsoft.Subscription/aliases` name that registered it (none for the default subscription). */
  alias?: string;
  /** `Production` or `DevTest`, as the alias request named it. */
  workload?: string;
  tags?: Record<string, string>;
  createdAt: string;
}

export interface ResourceGroupRecord {
  subscriptionId: string;
  /** As created (names are case-insensitive; keys are lower-cased). */
  name: string;
  /** Normalized region, e.g. `westeurope`. */
  location: string;
  managedBy?: string;
  tags?: Record<string, string>;
  createdAt: string;
}

/** Where the default subscription, the tenant and Kluis's own resources are (lib/config TenancySettings). */
export interface LocalTenancy {
  tenantId: string;
  subscriptionId: string;
  subscriptionName: string;
  location: string;
  storageResourceGroup: string;
}

export function defaultSubscriptionRecord(tenancy: LocalTenancy): SubscriptionRecord {
  return {
    subscriptionId: tenancy.subscriptionId,
    displayName: tenancy.subscriptionName,
    tenantId: tenancy.tenantId,
    state: 'Enabled',
    createdAt: '1970-01-01T00:00:00.000Z',
  };
}

export function implicitStorageResourceGroup(tenancy: LocalTenancy): ResourceGroupRecord {
  return {
    subscriptionId: tenancy.subscriptionId,
    name: tenancy.storageResourceGroup,
    location: tenancy.location,
    createdAt: '1970-01-01T00:00:00.000Z',
  };
}

export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

// ---- request bodies -----------------------------------------------------------------------------

const MAX_TAGS = 50;

/** ARM tags: at most 50; names up to 512 characters (no `<>%&\?/`), values up to 256. */
export const tagsSchema = z
  .record(
    z
      .string()
      .min(1)
      .max(512)
      .regex(/^[^<>%&\\?/]+$/, { error: "tag names must not contain '<', '>', '%', '&', '\\', '?' or '/'" }),
    z.string().max(256),
  )
  .refine((tags) => Object.keys(tags).length <= MAX_TAGS, { error: `at most ${MAX_TAGS} tags` });

const location = z
  .string({ error: 'location is required' })
  .min(1, { error: 'location is required' })
  .max(64)
  .regex(/^[A-Za-z][A-Za-z0-9 ]*$/, { error: 'location must be a region name such as westeurope' })
  .transform(normalizeLocation);

/**
 * Body of `PUT /subscriptions/{s}/resourcegroups/{rg}` (ARM's ResourceGroup): `location` required;
 * `id`, `name`, `type` and `properties.provisioningState` are read-only and ignored when sent back.
 */
export const resourceGroupPutBodySchema = z.object({
  location,
  managedBy: z.string().max(1024).optional(),
  tags: tagsSchema.optional(),
  id: z.string().optional(),
  name: z.string().optional(),
  type: z.string().optional(),
  properties: z.object({ provisioningState: z.string().optional() }).optional(),
});

export type ResourceGroupPutBody = z.output<typeof resourceGroupPutBodySchema>;

/** Body of `PATCH /subscriptions/{s}/resourcegroups/{rg}` (ResourceGroupPatchable): tags and managedBy. */
export const resourceGroupPatchBodySchema = z.object({
  managedBy: z.string().max(1024).optional(),
  tags: tagsSchema.optional(),
  name: z.string().optional(),
  properties: z.object({ provisioningState: z.string().optional() }).optional(),
});

export type ResourceGroupPatchBody = z.output<typeof resourceGroupPatchBodySchema>;

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Body of `PUT /providers/Microsoft.Subscription/aliases/{alias}` (PutAliasRequest). Kluis has no
 * billing: `billingScope` is accepted and ignored; `subscriptionId` registers a subscription with that
 * id (Azure: an alias for an existing subscription), otherwise a new id is made.
 */
export const aliasPutBodySchema = z.object({
  properties: z.object({
    displayName: z.string().min(1).max(64).optional(),
    workload: z.enum(['Production', 'DevTest']).optional(),
    billingScope: z.string().max(1024).optional(),
    subscriptionId: z.string().regex(GUID, { error: 'subscriptionId must be a GUID' }).optional(),
    resellerId: z.string().optional(),
    additionalProperties: z
      .object({
        managementGroupId: z.string().optional(),
        subscriptionTenantId: z.string().regex(GUID, { error: 'subscriptionTenantId must be a GUID' }).optional(),
        subscriptionOwnerId: z.string().optional(),
        tags: tagsSchema.optional(),
      })
      .optional(),
  }),
});

export type AliasPutBody = z.output<typeof aliasPutBodySchema>;

/** Alias names: what Azure accepts for a resource name segment (1–64 letters, digits, '-', '_', '.'). */
export const ALIAS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
