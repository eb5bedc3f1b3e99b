/**
 * A vault's managed identity across PUTs (lib/domain/vault-identity.ts): a system-assigned principal is
 * issued once and kept, None removes it, user-assigned identities need well-formed ids and keep their
 * principals while listed, and combinations Azure refuses are refused naming the field.
 */
import { identityView, nextVaultIdentity, type PrincipalIssuer } from '../../lib/domain/vault-identity';

const VAULT_ID = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v1';
const MSI = '/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/defaultrg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/examplemsi';

function issuer(): PrincipalIssuer & { issued: string[] } {
  let n = 0;
  const issued: string[] = [];
  const next = () => {
    n += 1;
    const id = `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`;
    issued.push(id);
    return id;
  };
  return { issued, systemAssigned: () => ({ principalId: next(), tenantId: 'tenant-1' }), userAssigned: () => ({ principalId: next(), clientId: next() }) };
}

describe('a vault’s managed identity', () => {
  it('issues a system-assigned principal once and keeps it across PUTs; None removes it', () => {
    const principals = issuer();
    const first = nextVaultIdentity(VAULT_ID, undefined, { type: 'SystemAssigned' }, principals);
    expect(first).toEqual({ type: 'SystemAssigned', systemAssigned: { principalId: principals.issued[0], tenantId: 'tenant-1' } });
    expect(nextVaultIdentity(VAULT_ID, first, { type: 'SystemAssigned' }, principals)).toEqual(first);
    expect(nextVaultIdentity(VAULT_ID, first, undefined, principals)).toEqual(first);
    expect(principals.issued).toHaveLength(1);
    expect(nextVaultIdentity(VAULT_ID, first, { type: 'None' }, principals)).toBeUndefined();
    expect(identityView(first!)).toEqual({ type: 'SystemAssigned', principalId: principals.issued[0], tenantId: 'tenant-1' });
  });

  it('takes user-assigned identities by id, keeping their principals while listed', () => {
    const principals = issuer();
    const both = nextVaultIdentity(VAULT_ID, undefined, { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [MSI]: {} } }, principals)!;
    expect(Object.keys(both.userAssigned!)).toEqual([MSI]);
    expect(both.systemAssigned).toBeDefined();
    const userOnly = nextVaultIdentity(VAULT_ID, both, { type: 'UserAssigned', userAssignedIdentities: { [MSI.toUpperCase().replace('/SUBSCRIPTIONS', '/subscriptions')]: {} } }, principals)!;
    expect(userOnly.systemAssigned).toBeUndefined();
    expect(Object.values(userOnly.userAssigned!)).toEqual(Object.values(both.userAssigned!));
    expect(identityView(userOnly)).toEqual({ type: 'UserAssigned', userAssignedIdentities: { [Object.keys(userOnly.userAssigned!)[0]]: both.userAssigned![MSI] } });
  });

  it.each([
    ['UserAssigned without identities', { type: 'UserAssigned' as const }, /needs at least one user-assigned identity/],
    ['SystemAssigned with user-assigned identities', { type: 'SystemAssigned' as const, userAssignedIdentities: { [MSI]: {} } }, /takes no user-assigned identities/],
    ['a malformed identity id', { type: 'UserAssigned' as const, userAssignedIdentities: { '/subscriptions/x/msi': {} } }, /is not a user-assigned identity id/],
  ])('refuses %s', (_case, request, message) => {
    expect(() => nextVaultIdentity(VAULT_ID, undefined, request, issuer())).toThrow(expect.objectContaining({ code: 'KluisInvalidRequest', target: 'identity.userAssignedIdentities', message: expect.stringMatching(message) }));
  });
});
