/**
 * A vault's managed identity as ARM's `identity` block describes it: `type` SystemAssigned, UserAssigned,
 * 'SystemAssigned, UserAssigned' or None, the system-assigned principal (principalId, tenantId) and the
 * user-assigned identities by resource id (each with its principalId and clientId). Pure: new principals
 * come from the issuer the caller passes.
 */
import { errors } from './errors';

export type IdentityType = 'SystemAssigned' | 'UserAssigned' | 'SystemAssigned, UserAssigned' | 'None';

export interface SystemAssignedPrincipal {
  principalId: string;
  tenantId: string;
}

export interface UserAssignedPrincipal {
  principalId: string;
  clientId: string;
}

export interface VaultIdentity {
  type: Exclude<IdentityType, 'None'>;
  systemAssigned?: SystemAssignedPrincipal;
  /** By user-assigned identity resource id, as the client spelled it. */
  userAssigned?: Record<string, UserAssignedPrincipal>;
}

/** What a PUT body's `identity` asks for. */
export interface IdentityRequest {
  type: IdentityType;
  userAssignedIdentities?: Record<string, unknown>;
}

/** Creates principals; in Kluis one function (lib/services/managed-identities.ts) does it. */
export interface PrincipalIssuer {
  systemAssigned(resourceId: string): SystemAssignedPrincipal;
  userAssigned(identityId: string): UserAssignedPrincipal;
}

const USER_ASSIGNED_ID = /^\/subscriptions\/[0-9a-f-]{36}\/resourcegroups\/[-\w.()]{1,90}\/providers\/microsoft\.managedidentity\/userassignedidentities\/[-\w]{3,128}$/i;
const TARGET = 'identity.userAssignedIdentities';

/**
 * The identity after a PUT: the requested type, keeping the principals that stay (a system-assigned
 * identity keeps its principal while the type includes it; a user-assigned one while it is listed) and
 * issuing the new ones. `None` removes the identity (undefined); no request keeps the current one.
 */
export function nextVaultIdentity(
  resourceId: string,
  current: VaultIdentity | undefined,
  request: IdentityRequest | undefined,
  issuer: PrincipalIssuer,
): VaultIdentity | undefined {
  if (request === undefined) return current;
  const listed = Object.keys(request.userAssignedIdentities ?? {});
  const wantsUser = request.type === 'UserAssigned' || request.type === 'SystemAssigned, UserAssigned';
  if (!wantsUser && listed.length > 0) {
    throw errors.invalidRequest(TARGET, `The identity type '${request.type}' takes no user-assigned identities; use 'UserAssigned' or 'SystemAssigned, UserAssigned'.`);
  }
  if (request.type === 'None') return undefined;
  if (wantsUser && listed.length === 0) {
    throw errors.invalidRequest(TARGET, `The identity type '${request.type}' needs at least one user-assigned identity in userAssignedIdentities.`);
  }
  const next: VaultIdentity = { type: request.type };
  if (request.type !== 'UserAssigned') next.systemAssigned = current?.systemAssigned ?? issuer.systemAssigned(resourceId);
  if (wantsUser) {
    const userAssigned: Record<string, UserAssignedPrincipal> = {};
    for (const id of listed) {
      if (!USER_ASSIGNED_ID.test(id)) {
        throw errors.invalidRequest(
          TARGET,
          `'${id.slice(0, 200)}' is not a user-assigned identity id (/subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}).`,
        );
      }
      const kept = Object.entries(current?.userAssigned ?? {}).find(([existing]) => existing.toLowerCase() === id.toLowerCase());
      userAssigned[id] = kept?.[1] ?? issuer.userAssigned(id);
    }
    next.userAssigned = userAssigned;
  }
  return next;
}

/** ARM's view: `{type, principalId?, tenantId?, userAssignedIdentities?}`. */
export function identityView(identity: VaultIdentity): Record<string, unknown> {
  const view: Record<string, unknown> = { type: identity.type };
  if (identity.systemAssigned !== undefined) {
    view.principalId = identity.systemAssigned.principalId;
    view.tenantId = identity.systemAssigned.tenantId;
  }
  if (identity.userAssigned !== undefined) {
    view.userAssignedIdentities = Object.fromEntries(Object.entries(identity.userAssigned).map(([id, principal]) => [id, { ...principal }]));
  }
  return view;
}
