/**
 * Signed access tokens for tests that drive a Key Vault emulator directly: an RS256 key and issuer of
 * the test's own (what `startTestKeyVaultEmulator` tells the emulator to trust), or the signing key of a
 * host's identity endpoint (read from its folder, for the emulator a kluis-host child process runs).
 * The emulator verifies the signature either way; a token for any object id can be made, as the
 * identity endpoint would issue one for a managed identity of that id.
 */
import type { AccessToken, TokenCredential } from '@azure/identity';
import type { JSONWebKeySet } from 'jose';
import { LOCAL_TENANT_ID } from '../../lib/stores/azure/keyvault-credential';
import type { TokenTrust } from '../../emulator/keyvault';
import { identityEndpointKey, newSigningKey, signedToken, type SigningKey } from './tokens';
import path from 'node:path';

export interface TestTokenIssuer {
  issuer: string;
  trust(): TokenTrust;
  /** A credential presenting `objectId` (tokens for whatever resource the client asks). */
  credential(objectId: string, options?: { tenantId?: string; applicationId?: string }): TokenCredential;
}

const LIFETIME_IN_SECONDS = 3600;

function issuerOf(key: SigningKey, issuer: string): TestTokenIssuer {
  const jwks: JSONWebKeySet = { keys: [key.publicJwk] };
  return {
    issuer,
    trust: () => ({ issuers: [issuer], keys: jwks }),
    credential: (objectId, options = {}) => ({
      getToken: async (scopes): Promise<AccessToken> => {
        const now = Math.floor(Date.now() / 1000);
        const resource = ((Array.isArray(scopes) ? scopes[0] : scopes) ?? '').replace(/\/\.default$/, '');
        const tenantId = options.tenantId ?? LOCAL_TENANT_ID;
        const claims = {
          iss: issuer,
          aud: resource,
          tid: tenantId,
          oid: objectId,
          sub: objectId,
          idtyp: 'app',
          ...(options.applicationId === undefined ? {} : { appid: options.applicationId }),
          iat: now - 60,
          nbf: now - 60,
          exp: now + LIFETIME_IN_SECONDS,
        };
        return { token: await signedToken(claims, key), expiresOnTimestamp: (now + LIFETIME_IN_SECONDS) * 1000 };
      },
    }),
  };
}

let shared: Promise<TestTokenIssuer> | undefined;

/** One issuer per test process, with a key of its own. */
export function testTokenIssuer(): Promise<TestTokenIssuer> {
  shared ??= newSigningKey().then((key) => issuerOf(key, `https://test-issuer.kluis.local/${LOCAL_TENANT_ID}/`));
  return shared;
}

/** The issuer of a host's identity endpoint, signing with its key (read from the endpoint's folder). */
export async function identityEndpointIssuer(secretsFile: string, issuer: string): Promise<TestTokenIssuer> {
  return issuerOf(await identityEndpointKey(path.dirname(secretsFile)), issuer);
}
