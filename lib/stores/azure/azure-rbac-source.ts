/**
 * Role assignments read from Azure RBAC (KLUIS_AUTHORIZATION=azure), with `@azure/arm-authorization`
 * and the app's own credential (its managed identity needs Reader, or any role with
 * `Microsoft.Authorization/roleAssignments/read` and `roleDefinitions/read`, on the subscriptions it serves):
 *
 *   GET /subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments?$filter=assignedTo('{oid}')
 *     — the principal's assignments in the subscription, at every scope of it and inherited from above
 *       (management groups, the root), group memberships included, as ARM resolves them;
 *   GET {roleDefinitionId} — each role (built-in or custom), cached.
 *
 * Answers are cached for a minute per principal and subscription; ARM's own caches work the same way
 * ("If access was recently granted, please refresh your credentials").
 */
import { AuthorizationManagementClient, type AuthorizationManagementClientOptionalParams } from '@azure/arm-authorization';
import type { TokenCredential } from '@azure/identity';
import type { RolePermission } from '../../domain/authorization/actions';
import { PRINCIPAL_TYPES, type PrincipalType, type RoleAssignmentRecord } from '../../domain/authorization/role-assignment';
import { roleDefinitionGuid, type RoleDefinition } from '../../domain/authorization/role-definitions';
import { normalizeScope } from '../../domain/authorization/scope';
import type { RoleAssignmentSource } from '../role-assignment-source';

const CACHE_FOR_IN_MS = 60_000;
/** Any subscription id: the client needs one, the calls made here name their scope themselves. */
const NO_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';

export interface AzureRbacSourceOptions {
  clientOptions?: AuthorizationManagementClientOptionalParams;
  now?: () => number;
}

export class AzureRbacSource implements RoleAssignmentSource {
  readonly kind = 'azure' as const;
  private readonly client: AuthorizationManagementClient;
  private readonly now: () => number;
  private readonly assignments = new Map<string, { until: number; value: Promise<RoleAssignmentRecord[]> }>();
  private readonly definitions = new Map<string, Promise<RoleDefinition | undefined>>();

  constructor(credential: TokenCredential, options: AzureRbacSourceOptions = {}) {
    this.client = new AuthorizationManagementClient(credential, NO_SUBSCRIPTION, options.clientOptions);
    this.now = options.now ?? Date.now;
  }

  assignmentsOf(principalId: string, subscriptionId: string | undefined): Promise<RoleAssignmentRecord[]> {
    const key = `${principalId.toLowerCase()}|${subscriptionId ?? ''}`;
    const cached = this.assignments.get(key);
    if (cached !== undefined && cached.until > this.now()) return cached.value;
    const value = this.read(principalId.toLowerCase(), subscriptionId);
    this.assignments.set(key, { until: this.now() + CACHE_FOR_IN_MS, value });
    value.catch(() => this.assignments.delete(key));
    return value;
  }

  roleDefinition(guid: string): Promise<RoleDefinition | undefined> {
    let found = this.definitions.get(guid);
    if (found === undefined) {
      found = this.readDefinition(guid);
      this.definitions.set(guid, found);
      found.catch(() => this.definitions.delete(guid));
    }
    return found;
  }

  private async read(principalId: string, subscriptionId: string | undefined): Promise<RoleAssignmentRecord[]> {
    // Tenant-level requests: in Azure, Kluis's root-scope routes are its local directory's (aliases, role
    // assignments at `/`, managed in Azure itself); a subscription's listing already includes what is
    // inherited from the root and management groups.
    if (subscriptionId === undefined) return [];
    // The client's path template is `/{scope}/providers/…` (scope not encoded): no leading slash, or `//`.
    const scope = `subscriptions/${subscriptionId}`;
    const records: RoleAssignmentRecord[] = [];
    for await (const assignment of this.client.roleAssignments.listForScope(scope, { filter: `assignedTo('${principalId}')` })) {
      const roleGuid = roleDefinitionGuid(assignment.roleDefinitionId ?? '');
      if (assignment.name === undefined || assignment.scope === undefined || roleGuid === undefined) continue;
      const principalType = (PRINCIPAL_TYPES as readonly string[]).includes(assignment.principalType ?? '') ? (assignment.principalType as PrincipalType) : 'User';
      records.push({
        name: assignment.name.toLowerCase(),
        scope: normalizeScope(assignment.scope),
        roleDefinitionId: roleGuid,
        principalId: (assignment.principalId ?? principalId).toLowerCase(),
        principalType,
        ...(assignment.description === undefined || assignment.description === null ? {} : { description: assignment.description }),
        createdOn: (assignment.createdOn ?? new Date(0)).toISOString(),
      });
    }
    return records;
  }

  private async readDefinition(guid: string): Promise<RoleDefinition | undefined> {
    const definition = await this.client.roleDefinitions.getById(`providers/Microsoft.Authorization/roleDefinitions/${guid}`);
    if (definition.name === undefined) return undefined;
    return {
      id: definition.name.toLowerCase(),
      roleName: definition.roleName ?? definition.name,
      description: definition.description ?? '',
      roleType: definition.roleType === 'CustomRole' ? 'CustomRole' : 'BuiltInRole',
      assignableScopes: definition.assignableScopes ?? ['/'],
      permissions: (definition.permissions ?? []).map(
        (permission): RolePermission => ({
          actions: permission.actions ?? [],
          notActions: permission.notActions ?? [],
          dataActions: permission.dataActions ?? [],
          notDataActions: permission.notDataActions ?? [],
        }),
      ),
    };
  }
}

/** The app's own identity (DefaultAzureCredential: its managed identity in Azure) reading Azure RBAC. */
export async function azureRbacSourceForApp(): Promise<AzureRbacSource> {
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new AzureRbacSource(new DefaultAzureCredential());
}
