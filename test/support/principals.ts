/**
 * Principals with exactly the roles a test gives them: a service principal of the host's identity
 * directory (made with the local administrator's token), role assignments PUT through Kluis's own
 * `Microsoft.Authorization/roleAssignments` routes as `az role assignment create` would, and tokens by
 * client credentials.
 */
import { randomUUID } from 'node:crypto';
import { ROLE_IDS } from '../../lib/domain/authorization/role-definitions';
import { http, type HostProcess } from './host-process';
import { clientCredentialsToken, createServicePrincipal } from './sign-in';

export type BuiltInRoleKey = keyof typeof ROLE_IDS;

export interface RoleGrant {
  role: BuiltInRoleKey;
  /** An ARM scope: `/subscriptions/…`, a resource group, a vault, … */
  scope: string;
}

export interface TestPrincipal {
  objectId: string;
  displayName: string;
  /** Tokens for Kluis's ARM API, renewed before they expire. */
  tokens: () => Promise<string>;
}

const AUTHORIZATION_API = 'api-version=2022-04-01';

/** Assigns a built-in role to a principal at a scope (as the local administrator); fails loudly. */
export async function assignRole(host: HostProcess, principalId: string, grant: RoleGrant): Promise<string> {
  const name = randomUUID();
  const subscription = /^\/subscriptions\/([^/]+)/i.exec(grant.scope)?.[1];
  const roleDefinitionId = `${subscription === undefined ? '' : `/subscriptions/${subscription}`}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS[grant.role]}`;
  const response = await http(`${host.origin}${grant.scope === '/' ? '' : grant.scope}/providers/Microsoft.Authorization/roleAssignments/${name}?${AUTHORIZATION_API}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${await host.accessToken()}` },
    body: { properties: { roleDefinitionId, principalId, principalType: 'ServicePrincipal' } },
  });
  if (response.status !== 201 && response.status !== 200) throw new Error(`assigning ${grant.role} at ${grant.scope}: ${response.status} ${response.text}`);
  return name;
}

/** A new service principal with the given roles, and its tokens. */
export async function principalWithRoles(host: HostProcess, displayName: string, grants: readonly RoleGrant[]): Promise<TestPrincipal> {
  if (host.identity === undefined) throw new Error('The host runs no identity endpoint: it cannot make principals.');
  const identity = host.identity;
  const principal = await createServicePrincipal(identity, displayName, await host.accessToken());
  for (const grant of grants) await assignRole(host, principal.objectId, grant);
  let current: { token: string; renewAtInMs: number } | undefined;
  const tokens = async () => {
    if (current === undefined || current.renewAtInMs <= Date.now()) {
      const token = await clientCredentialsToken(identity, principal);
      current = { token: token.access_token, renewAtInMs: Date.now() + (token.expires_in - 300) * 1000 };
    }
    return current.token;
  };
  return { objectId: principal.objectId, displayName, tokens };
}
