/**
 * The one place where Kluis creates managed identity principals for its resources (a vault's
 * system-assigned identity, the user-assigned identities a vault names). Locally the principals are
 * new ids in the local tenant; the local identity endpoint's registry can take this over, so that
 * tokens for these principals can be issued.
 */
import type { PrincipalIssuer } from '../domain/vault-identity';

export function localPrincipalIssuer(newId: () => string, tenantId: string): PrincipalIssuer {
  return {
    systemAssigned: () => ({ principalId: newId(), tenantId }),
    userAssigned: () => ({ principalId: newId(), clientId: newId() }),
  };
}
