/**
 * Subscriptions and tenants as Azure Resource Manager serves them: the default subscription
 * (configured, never stored) plus those registered through `Microsoft.Subscription/aliases`, all in
 * the one local tenant. `assertSubscription` is what every route under `/subscriptions/{id}` checks.
 */
import { assertValidSubscriptionId } from '../domain/arm-names';
import { errors } from '../domain/errors';
import { ALIAS_NAME, defaultSubscriptionRecord, type AliasPutBody, type LocalTenancy, type SubscriptionRecord, type SubscriptionState } from '../domain/tenancy';
import { collect } from '../stores/document-store';
import { SUBSCRIPTIONS_PARTITION, subscriptionRow, type TenancyCatalog } from '../stores/tenancy-catalog';

export interface SubscriptionDeps {
  tenancy: TenancyCatalog;
  local: LocalTenancy;
  clock: () => Date;
  newId: () => string;
}

/** The default subscription first, then the registered ones by display name. */
export async function listSubscriptions(deps: Pick<SubscriptionDeps, 'tenancy' | 'local'>): Promise<SubscriptionRecord[]> {
  const all = (await collect(deps.tenancy.subscriptions.list(SUBSCRIPTIONS_PARTITION))).map((doc) => doc.value);
  const isDefault = (record: SubscriptionRecord) => record.subscriptionId.toLowerCase() === deps.local.subscriptionId.toLowerCase();
  const stored = all
    .filter((record) => !isDefault(record))
    .sort((a, b) => a.displayName.localeCompare(b.displayName) || a.subscriptionId.localeCompare(b.subscriptionId));
  const override = all.find(isDefault);
  return [{ ...defaultSubscriptionRecord(deps.local), ...(override === undefined ? {} : { state: override.state }) }, ...stored];
}

export async function findSubscription(deps: Pick<SubscriptionDeps, 'tenancy' | 'local'>, subscriptionId: string): Promise<SubscriptionRecord | undefined> {
  const stored = (await deps.tenancy.subscriptions.get(SUBSCRIPTIONS_PARTITION, subscriptionRow(subscriptionId)))?.value;
  // The default subscription is configured, not registered; a stored row for it only carries an admin-set state.
  if (subscriptionId.toLowerCase() === deps.local.subscriptionId.toLowerCase()) {
    return { ...defaultSubscriptionRecord(deps.local), ...(stored === undefined ? {} : { state: stored.state }) };
  }
  return stored;
}

/** InvalidSubscriptionId (400) for a malformed id, SubscriptionNotFound (404) for an unknown one. */
export async function assertSubscription(deps: Pick<SubscriptionDeps, 'tenancy' | 'local'>, subscriptionId: string): Promise<SubscriptionRecord> {
  assertValidSubscriptionId(subscriptionId);
  const found = await findSubscription(deps, subscriptionId);
  if (found === undefined) throw errors.subscriptionNotFound(subscriptionId);
  return found;
}

export interface AliasResult {
  alias: string;
  subscription: SubscriptionRecord;
  created: boolean;
}

export const SUBSCRIPTION_STATES: readonly SubscriptionState[] = ['Enabled', 'Warned', 'PastDue', 'Disabled', 'Deleted'];

/**
 * Sets a subscription's state locally (the admin API; Azure changes it through billing): Disabled stops backups
 * (the seed's Expired), Deleted is the seed's Deprovisioned. The default subscription gets a stored row that
 * carries only the state.
 */
export async function setSubscriptionState(deps: Pick<SubscriptionDeps, 'tenancy' | 'local'>, subscriptionId: string, state: SubscriptionState): Promise<SubscriptionRecord> {
  if (!SUBSCRIPTION_STATES.includes(state)) throw errors.invalidRequest('state', `'${String(state)}' is not a subscription state (${SUBSCRIPTION_STATES.join(', ')}).`);
  const current = await assertSubscription(deps, subscriptionId);
  const updated: SubscriptionRecord = { ...current, state };
  const row = subscriptionRow(subscriptionId);
  const stored = await deps.tenancy.subscriptions.get(SUBSCRIPTIONS_PARTITION, row);
  if (stored === undefined) await deps.tenancy.subscriptions.insert(SUBSCRIPTIONS_PARTITION, row, updated);
  else await deps.tenancy.subscriptions.replace(SUBSCRIPTIONS_PARTITION, row, updated, stored.etag);
  return updated;
}

/**
 * `PUT /providers/Microsoft.Subscription/aliases/{alias}`: registers a subscription under the alias
 * (with the id the body names, or a new one). A repeated PUT of the same alias answers the same
 * subscription (Azure: the alias is idempotent); an id already registered under another alias is refused.
 */
export async function createSubscriptionAlias(deps: SubscriptionDeps, alias: string, body: AliasPutBody): Promise<AliasResult> {
  assertAliasName(alias);
  const existing = await findAlias(deps, alias);
  if (existing !== undefined) return { alias, subscription: existing, created: false };
  const properties = body.properties;
  const subscriptionId = (properties.subscriptionId ?? deps.newId()).toLowerCase();
  const tenantId = properties.additionalProperties?.subscriptionTenantId?.toLowerCase() ?? deps.local.tenantId;
  if (tenantId !== deps.local.tenantId.toLowerCase()) {
    throw errors.invalidRequest('properties.additionalProperties.subscriptionTenantId', `Kluis has one tenant, '${deps.local.tenantId}'.`);
  }
  if (await findSubscription(deps, subscriptionId)) {
    throw errors.invalidRequest('properties.subscriptionId', `The subscription '${subscriptionId}' is already registered.`);
  }
  const record: SubscriptionRecord = {
    subscriptionId,
    displayName: properties.displayName ?? alias,
    tenantId: deps.local.tenantId,
    state: 'Enabled',
    alias,
    ...(properties.workload === undefined ? {} : { workload: properties.workload }),
    ...(properties.additionalProperties?.tags === undefined ? {} : { tags: properties.additionalProperties.tags }),
    createdAt: deps.clock().toISOString(),
  };
  try {
    await deps.tenancy.subscriptions.insert(SUBSCRIPTIONS_PARTITION, subscriptionRow(subscriptionId), record);
  } catch (err) {
    // Two PUTs of the same alias at once: the other one registered it.
    const raced = await findAlias(deps, alias);
    if (raced !== undefined) return { alias, subscription: raced, created: false };
    throw err;
  }
  return { alias, subscription: record, created: true };
}

export async function getSubscriptionAlias(deps: Pick<SubscriptionDeps, 'tenancy'>, alias: string): Promise<AliasResult> {
  assertAliasName(alias);
  const found = await findAlias(deps, alias);
  if (found === undefined) throw errors.resourceNotFound('Microsoft.Subscription/aliases', alias, '(tenant)', 'aliasName');
  return { alias: found.alias ?? alias, subscription: found, created: false };
}

export async function listSubscriptionAliases(deps: Pick<SubscriptionDeps, 'tenancy'>): Promise<AliasResult[]> {
  const stored = await collect(deps.tenancy.subscriptions.list(SUBSCRIPTIONS_PARTITION));
  return stored
    .map((doc) => doc.value)
    .filter((record): record is SubscriptionRecord & { alias: string } => record.alias !== undefined)
    .sort((a, b) => a.alias.localeCompare(b.alias))
    .map((record) => ({ alias: record.alias, subscription: record, created: false }));
}

async function findAlias(deps: Pick<SubscriptionDeps, 'tenancy'>, alias: string): Promise<SubscriptionRecord | undefined> {
  for await (const doc of deps.tenancy.subscriptions.list(SUBSCRIPTIONS_PARTITION)) {
    if (doc.value.alias !== undefined && doc.value.alias.toLowerCase() === alias.toLowerCase()) return doc.value;
  }
  return undefined;
}

function assertAliasName(alias: string): void {
  if (!ALIAS_NAME.test(alias)) {
    throw errors.invalidResourceName('aliasName', alias, 'an alias name is 1–64 letters, digits, hyphens, underscores and periods, starting with a letter or digit');
  }
}
