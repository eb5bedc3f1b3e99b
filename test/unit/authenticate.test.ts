/**
 * The API's token check (lib/services/authenticate) with signing keys held in memory: every way a
 * token is refused gets ARM's code, and a valid token names its caller.
 */
import type { AuthSettings } from '../../lib/config';
import { ARM_AUDIENCES } from '../../lib/domain/access-token';
import type { KluisError } from '../../lib/domain/errors';
import { authenticate, type AuthenticateDeps } from '../../lib/services/authenticate';
import { MemorySigningKeys } from '../../lib/stores/memory/signing-keys';
import { appClaims, hmacToken, newSigningKey, signedToken, unsignedToken, type SigningKey } from '../support/tokens';

const TENANT = '00000000-0000-0000-0000-00000000c0de';
const ISSUER = `https://127.0.0.1:7444/${TENANT}/`;
const NOW = new Date('2026-03-01T12:00:00Z');

const settings: AuthSettings = { issuers: [ISSUER], audiences: [...ARM_AUDIENCES], jwksUrl: 'https://127.0.0.1:7444/discovery/keys', authority: 'https://127.0.0.1:7444/adfs' };

let key: SigningKey;
let other: SigningKey;
let deps: AuthenticateDeps;

beforeAll(async () => {
  [key, other] = await Promise.all([newSigningKey(), newSigningKey()]);
  deps = { settings, keys: new MemorySigningKeys({ keys: [key.publicJwk] }), clock: () => NOW };
});

const claims = (overrides: Record<string, unknown> = {}) => appClaims({ issuer: ISSUER, tenantId: TENANT, now: NOW }, overrides);
const bearer = (token: string) => `Bearer ${token}`;

async function refusal(authorization: string | undefined, using: AuthenticateDeps = deps): Promise<KluisError> {
  try {
    await authenticate(authorization, using);
  } catch (err) {
    return err as KluisError;
  }
  throw new Error('expected the token to be refused');
}

describe('authenticate', () => {
  it('names the caller of a valid token', async () => {
    const valid = claims({ oid: '00000000-0000-0000-0000-0000000000A1', appid: 'app-id' });
    await expect(authenticate(bearer(await signedToken(valid, key)), deps)).resolves.toEqual({
      objectId: '00000000-0000-0000-0000-0000000000a1',
      tenantId: TENANT,
      applicationId: 'app-id',
      principalType: 'ServicePrincipal',
    });
  });

  it('accepts up to five minutes of clock skew on exp and nbf', async () => {
    const at = Math.floor(NOW.getTime() / 1000);
    await expect(authenticate(bearer(await signedToken(claims({ exp: at - 240 }), key)), deps)).resolves.toBeDefined();
    await expect(authenticate(bearer(await signedToken(claims({ nbf: at + 240 }), key)), deps)).resolves.toBeDefined();
  });

  it.each([
    ['no header', async () => undefined, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing."],
    ['another scheme', async () => 'Basic dXNlcjpwdw==', 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is provided in an invalid format."],
    ['not a JWT', async () => bearer('not-a-token'), 'InvalidAuthenticationToken', 'The access token is invalid.'],
    ['a garbled JWT', async () => bearer('eyJhbGciOiJSUzI1NiJ9.e30.c2ln'), 'InvalidAuthenticationToken', 'The access token is invalid.'],
    ['a key the JWKS does not publish', async () => bearer(await signedToken(claims(), other)), 'InvalidAuthenticationToken', 'The access token is invalid.'],
    ["another key under the published key's id", async () => bearer(await signedToken(claims(), other, { keyId: key.keyId })), 'InvalidAuthenticationToken', 'The access token is invalid.'],
    ['alg none', async () => bearer(unsignedToken(claims())), 'InvalidAuthenticationToken', "The access token is invalid: it is signed with 'none'; only RS256 is accepted."],
    ['HS256 keyed with the public key', async () => bearer(await hmacToken(claims(), JSON.stringify(key.publicJwk), key.keyId)), 'InvalidAuthenticationToken', "The access token is invalid: it is signed with 'HS256'; only RS256 is accepted."],
    ['a changed payload', async () => {
      const [header, , signature] = (await signedToken(claims(), key)).split('.');
      return bearer(`${header}.${Buffer.from(JSON.stringify(claims({ oid: '00000000-0000-0000-0000-00000000beef' }))).toString('base64url')}.${signature}`);
    }, 'InvalidAuthenticationToken', 'The access token is invalid.'],
    ['no expiry', async () => bearer(await signedToken(claims({ exp: undefined }), key)), 'InvalidAuthenticationToken', "The access token is invalid: it has no valid expiry ('exp')."],
    ['an expired token', async () => bearer(await signedToken(claims({ exp: Math.floor(NOW.getTime() / 1000) - 3600 }), key)), 'ExpiredAuthenticationToken', "The access token expiry UTC time '3/1/2026 11:00:00 AM' is earlier than current UTC time '3/1/2026 12:00:00 PM'."],
    ['a token not valid yet', async () => bearer(await signedToken(claims({ nbf: Math.floor(NOW.getTime() / 1000) + 3600 }), key)), 'InvalidAuthenticationToken', "The access token is not valid before UTC time '3/1/2026 1:00:00 PM'; current UTC time is '3/1/2026 12:00:00 PM'."],
    ['another audience', async () => bearer(await signedToken(claims({ aud: 'https://vault.azure.net' }), key)), 'InvalidAuthenticationTokenAudience', expect.stringContaining("wrong audience or resource 'https://vault.azure.net'")],
    ['another issuer', async () => bearer(await signedToken(claims({ iss: 'https://sts.windows.net/00000000-0000-0000-0000-00000000c0de/' }), key)), 'InvalidAuthenticationTokenTenant', expect.stringContaining("wrong issuer 'https://sts.windows.net/")],
    ['no object id', async () => bearer(await signedToken(claims({ oid: undefined }), key)), 'InvalidAuthenticationToken', expect.stringContaining("'oid'")],
  ])('refuses %s', async (_case, authorization, code, message) => {
    await expect(refusal(await authorization())).resolves.toMatchObject({ status: 401, code, message });
  });

  it('refuses everything while no issuer is configured', async () => {
    const unconfigured: AuthenticateDeps = { settings: { ...settings, issuers: [] }, keys: undefined, clock: () => NOW };
    await expect(refusal(bearer(await signedToken(claims(), key)), unconfigured)).resolves.toMatchObject({ code: 'KluisInvalidConfiguration', target: 'KLUIS_AUTH_TENANT_ID' });
  });

  it('never puts the token in a message', async () => {
    const token = await signedToken(claims({ aud: 'https://graph.microsoft.com' }), key);
    expect((await refusal(bearer(token))).message).not.toContain(token.split('.')[1]);
  });
});
