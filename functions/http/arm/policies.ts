/**
 * Backup policies over the ARM-shaped API: GET `{vault}/backupPolicies` and PUT/GET/DELETE
 * `{vault}/backupPolicies/{policyName}`. `api-version` is accepted with any value.
 */
import { policyPutBodySchema, policyResource } from '../../../lib/domain/arm/policy-resource';
import { parseODataFilter } from '../../../lib/domain/arm/odata-filter';
import { createOrUpdatePolicy, deletePolicy, getPolicy, listPolicies, type PolicyView } from '../../../lib/services/policies';
import { catalogDeps } from '../../deps';
import { armRoute, list, noContent, ok, VAULT_ROUTE, vaultRefOf } from './route';

const TAG = 'Backup policies';
const POLICY_ROUTE = `${VAULT_ROUTE}/backupPolicies/{policyName}`;

function resourceOf(vaultId: string, view: PolicyView) {
  return policyResource({ id: vaultId }, view.policy.value, view.protectedItemsCount);
}

armRoute({
  operationId: 'BackupPolicies_List',
  action: 'Microsoft.RecoveryServices/Vaults/backupPolicies/read',
  method: 'GET',
  route: `${VAULT_ROUTE}/backupPolicies`,
  summary: "Lists the vault's backup policies ($filter=backupManagementType eq 'AzureIaasVM' accepted).",
  tag: TAG,
  responses: { 200: 'The policies, in `value`.', 400: 'Invalid $filter.', 404: 'No such vault.' },
  handler: async ({ params, query }) => {
    const filter = parseODataFilter(query.get('$filter'), ['backupManagementType']);
    const policies = await listPolicies(catalogDeps(), vaultRefOf(params));
    // Kluis has IaaS VM policies only: a filter for another workload matches none.
    if (filter.backupManagementType !== undefined && filter.backupManagementType.toLowerCase() !== 'azureiaasvm') return list([]);
    return list(policies.map((view) => resourceOf(view.policy.value.vaultId, view)));
  },
});

armRoute({
  operationId: 'ProtectionPolicies_CreateOrUpdate',
  action: 'Microsoft.RecoveryServices/Vaults/backupPolicies/write',
  method: 'PUT',
  route: POLICY_ROUTE,
  summary: 'Creates or replaces a backup policy (Standard V1 or Enhanced V2). Edits apply to existing recovery points too.',
  tag: TAG,
  body: policyPutBodySchema,
  responses: {
    200: 'The policy was created or updated (Azure answers 200 for both, never 201).',
    400: 'The policy breaks a rule; `target` names the field.',
    404: 'No such vault.',
    409: 'The vault already holds 200 policies.',
  },
  handler: async ({ params, body }) => {
    const result = await createOrUpdatePolicy(catalogDeps(), vaultRefOf(params), params.policyName ?? '', body.properties);
    return ok(resourceOf(result.policy.value.vaultId, result));
  },
});

armRoute({
  operationId: 'ProtectionPolicies_Get',
  action: 'Microsoft.RecoveryServices/Vaults/backupPolicies/read',
  method: 'GET',
  route: POLICY_ROUTE,
  summary: 'Gets a backup policy with the number of items it protects.',
  tag: TAG,
  responses: { 200: 'The policy.', 404: 'No such vault or policy.' },
  handler: async ({ params }) => {
    const view = await getPolicy(catalogDeps(), vaultRefOf(params), params.policyName ?? '');
    return ok(resourceOf(view.policy.value.vaultId, view));
  },
});

armRoute({
  operationId: 'ProtectionPolicies_Delete',
  action: 'Microsoft.RecoveryServices/Vaults/backupPolicies/delete',
  method: 'DELETE',
  route: POLICY_ROUTE,
  summary: 'Deletes a backup policy that protects no items.',
  tag: TAG,
  responses: { 200: 'The policy was deleted.', 204: 'There was no such policy.', 404: 'No such vault.', 409: 'Items use the policy (KluisPolicyInUse names them).' },
  handler: async ({ params }) => {
    const { deleted } = await deletePolicy(catalogDeps(), vaultRefOf(params), params.policyName ?? '');
    return deleted ? ok(undefined) : noContent();
  },
});
