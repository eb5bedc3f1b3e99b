/**
 * The local identity endpoint over real HTTP and HTTPS: the App Service and Cloud Shell managed
 * identity shapes, client credentials at its AD FS-shaped and tenant authorities, its signing keys and
 * OpenID configuration, the principal directory and its admin API, what it keeps across restarts —
 * and Kluis's own JWKS client (lib/stores/signing-keys) reading its keys through the local CA.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { startIdentityEndpoint, DEFAULT_MANAGED_IDENTITY, DEFAULT_USER, type RunningIdentityEndpoint } from '../../emulator/identity';
import { ensureTlsMaterial, type TlsMaterial } from '../../emulator/local-ca';
import { RemoteSigningKeys } from '../../lib/stores/signing-keys';
import { httpsRequest } from '../support/https';
import { http } from '../support/host-process';

const ARM = 'https://management.core.windows.net/';
const TENANT = '00000000-0000-0000-0000-00000000c0de';

interface Sp {
  objectId: string;
  appId: string;
  secret: string;
  kind: string;
  displayName: string;
}

describe('local identity endpoint', () => {
  let dir: string;
  let tls: TlsMaterial;
  let identity: RunningIdentityEndpoint;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kluis-identity-'));
    tls = await ensureTlsMaterial(path.join(dir, 'tls'));
    identity = await startIdentityEndpoint({ dataDir: path.join(dir, 'identity'), tls, persistPrincipals: true, adminGate: async () => 'allowed' });
  });

  afterAll(async () => {
    await identity?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const jwks = async (): Promise<JSONWebKeySet> => (await httpsRequest<JSONWebKeySet>(`${identity.httpsUrl}/discovery/keys`, { ca: tls.caCertPem })).body;

  /** The token's claims, after checking its signature against the published keys and its issuer. */
  async function verified(token: string): Promise<Record<string, unknown>> {
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(await jwks()), { issuer: identity.issuer, algorithms: ['RS256'] });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    return payload;
  }

  const createPrincipal = (body: unknown) => http<Sp & { error?: { code: string } }>(`${identity.httpUrl}/admin/principals`, { method: 'POST', body });

  const tokenRequest = (fields: Record<string, string>, headers: Record<string, string> = {}, authority = 'adfs', version = '') =>
    http<{ access_token: string; token_type: string; expires_in: number; error?: string; error_description?: string }>(`${identity.httpUrl}/${authority}/oauth2/${version}token`, {
      method: 'POST',
      body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });

  describe('App Service managed identity (MSI_ENDPOINT + MSI_SECRET)', () => {
    it('answers az 2.45’s request (api-version 2017-09-01, header secret) with a signed token for the default identity', async () => {
      const started = Date.now();
      // msrestazure sends the resource unencoded, after MSI_ENDPOINT + '/'.
      const response = await http<Record<string, string>>(`${identity.msiEndpoint}/?resource=${ARM}&api-version=2017-09-01`, { headers: { secret: identity.msiSecret } });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ access_token: expect.any(String), expires_on: expect.stringMatching(/^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2} \+00:00$/), resource: ARM, token_type: 'Bearer', client_id: DEFAULT_MANAGED_IDENTITY.appId });
      const [, month, day, year, time] = /^(\d{2})\/(\d{2})\/(\d{4}) (\S+)/.exec(response.body.expires_on)!;
      const expiresOn = Date.parse(`${year}-${month}-${day}T${time}Z`);
      expect(expiresOn - started).toBeGreaterThan(55 * 60_000);
      const claims = await verified(response.body.access_token);
      expect(claims).toMatchObject({ aud: ARM, iss: `${identity.httpsUrl}/${TENANT}/`, tid: TENANT, oid: DEFAULT_MANAGED_IDENTITY.objectId, sub: DEFAULT_MANAGED_IDENTITY.objectId, appid: DEFAULT_MANAGED_IDENTITY.appId, idtyp: 'app', ver: '1.0' });
      expect(claims.exp).toBe(Math.floor(expiresOn / 1000));
      expect(Number(claims.nbf)).toBeLessThanOrEqual(started / 1000);
    });

    it('answers azure-identity’s request (api-version 2019-08-01, header X-IDENTITY-HEADER) with expires_on in epoch seconds', async () => {
      const response = await http<Record<string, string>>(`${identity.msiEndpoint}?resource=${encodeURIComponent('https://management.azure.com/')}&api-version=2019-08-01`, { headers: { 'X-IDENTITY-HEADER': identity.msiSecret } });
      expect(response.status).toBe(200);
      expect(response.body.expires_on).toMatch(/^\d{10}$/);
      expect(decodeJwt(response.body.access_token)).toMatchObject({ aud: 'https://management.azure.com/', exp: Number(response.body.expires_on) });
    });

    it.each([
      ['no secret', {}, '2017-09-01', 401, 'unauthorized_client'],
      ['a wrong secret', { secret: 'A'.repeat(32) }, '2017-09-01', 401, 'unauthorized_client'],
      ['the secret in the other api-version’s header', { secret: 'x' }, '2019-08-01', 401, 'unauthorized_client'],
      ['an unknown api-version', { secret: 'x' }, '2018-02-01', 400, 'invalid_request'],
    ])('refuses %s', async (_case, headers, version, status, error) => {
      const response = await http<{ error: string; access_token?: string }>(`${identity.msiEndpoint}?resource=${ARM}&api-version=${version}`, { headers: headers as Record<string, string> });
      expect({ status: response.status, error: response.body.error, token: response.body.access_token }).toEqual({ status, error, token: undefined });
    });

    it('refuses a missing resource, and a client id that is no managed identity with 400 (az sniffs it)', async () => {
      expect((await http(`${identity.msiEndpoint}?api-version=2017-09-01`, { headers: { secret: identity.msiSecret } })).status).toBe(400);
      const unknown = await http<{ error: string }>(`${identity.msiEndpoint}?resource=${ARM}&api-version=2017-09-01&clientid=00000000-0000-0000-0000-00000000dead`, { headers: { secret: identity.msiSecret } });
      expect(unknown.status).toBe(400);
    });

    it('signs in another managed identity by its client id', async () => {
      const created = await createPrincipal({ displayName: 'vault-identity', kind: 'managedIdentity' });
      expect(created.status).toBe(201);
      expect(created.body.secret).toBeUndefined();
      const response = await http<{ access_token: string; client_id: string }>(`${identity.msiEndpoint}?resource=${ARM}&api-version=2017-09-01&clientid=${created.body.appId}`, { headers: { secret: identity.msiSecret } });
      expect(response.body.client_id).toBe(created.body.appId);
      expect(await verified(response.body.access_token)).toMatchObject({ oid: created.body.objectId, appid: created.body.appId, appidacr: '2' });
    });
  });

  describe('Cloud Shell (MSI_ENDPOINT alone)', () => {
    it('answers POST with Metadata: true and a form body with a user token az reads the name from', async () => {
      const response = await http<Record<string, string>>(identity.msiEndpoint, {
        method: 'POST',
        body: `resource=${encodeURIComponent(ARM)}`,
        headers: { Metadata: 'true', 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ token_type: 'Bearer', resource: ARM, expires_in: '3600', expires_on: expect.stringMatching(/^\d{10}$/), not_before: expect.stringMatching(/^\d{10}$/) });
      expect(await verified(response.body.access_token)).toMatchObject({
        tid: TENANT,
        oid: DEFAULT_USER.objectId,
        idtyp: 'user',
        upn: DEFAULT_USER.userPrincipalName,
        unique_name: DEFAULT_USER.userPrincipalName,
        name: DEFAULT_USER.displayName,
        scp: 'user_impersonation',
      });
    });

    it('refuses a request without the Metadata header', async () => {
      const response = await http<{ error: string }>(identity.msiEndpoint, { method: 'POST', body: `resource=${encodeURIComponent(ARM)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect({ status: response.status, error: response.body.error }).toEqual({ status: 400, error: 'invalid_request' });
    });
  });

  describe('an AD FS-shaped authority for service principals', () => {
    it('publishes the OpenID configuration MSAL reads for an /adfs authority, over HTTPS with the local CA', async () => {
      const config = await httpsRequest<Record<string, unknown>>(`${identity.adfsAuthority}/.well-known/openid-configuration`, { ca: tls.caCertPem });
      expect(config.status).toBe(200);
      expect(config.body).toMatchObject({
        issuer: identity.adfsAuthority,
        authorization_endpoint: `${identity.adfsAuthority}/oauth2/authorize`,
        token_endpoint: `${identity.adfsAuthority}/oauth2/token`,
        jwks_uri: identity.jwksUrl,
        access_token_issuer: identity.issuer,
        id_token_signing_alg_values_supported: ['RS256'],
      });
      const keys = await jwks();
      expect(keys.keys).toHaveLength(1);
      expect(keys.keys[0]).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256', kid: expect.any(String), n: expect.any(String), e: 'AQAB' });
      expect(keys.keys[0]).not.toHaveProperty('d');
    });

    it('is refused by a client that does not trust the local CA', async () => {
      await expect(httpsRequest(`${identity.adfsAuthority}/.well-known/openid-configuration`)).rejects.toMatchObject({ code: expect.stringMatching(/CERT|SIGNATURE|ISSUER/) });
    });

    it('issues a token for client credentials with the right secret (form or HTTP Basic), and only then', async () => {
      const sp = (await createPrincipal({ displayName: 'ci-pipeline', kind: 'servicePrincipal' })).body;
      expect(sp).toMatchObject({ kind: 'servicePrincipal', displayName: 'ci-pipeline', appId: expect.any(String), secret: expect.stringMatching(/^[A-Za-z0-9_-]{40}$/) });

      const issued = await tokenRequest({ grant_type: 'client_credentials', client_id: sp.appId, client_secret: sp.secret, scope: `${ARM}/.default`, claims: '{"access_token":{"xms_cc":{"values":["CP1"]}}}' });
      expect(issued.status).toBe(200);
      expect(issued.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
      expect(await verified(issued.body.access_token)).toMatchObject({ aud: ARM, oid: sp.objectId, appid: sp.appId, appidacr: '1', idtyp: 'app', tid: TENANT });

      const basic = Buffer.from(`${encodeURIComponent(sp.appId)}:${encodeURIComponent(sp.secret)}`).toString('base64');
      const viaBasic = await tokenRequest({ grant_type: 'client_credentials', scope: `${ARM}/.default` }, { authorization: `Basic ${basic}` });
      expect(viaBasic.status).toBe(200);

      const wrong = await tokenRequest({ grant_type: 'client_credentials', client_id: sp.appId, client_secret: `${sp.secret}x`, scope: `${ARM}/.default` });
      expect({ status: wrong.status, error: wrong.body.error, token: wrong.body.access_token }).toEqual({ status: 401, error: 'invalid_client', token: undefined });
      const unknown = await tokenRequest({ grant_type: 'client_credentials', client_id: '00000000-0000-0000-0000-00000000dead', client_secret: sp.secret, scope: `${ARM}/.default` });
      expect(unknown.body.error).toBe('invalid_client');
      // A managed identity has no secret to present.
      const mi = await tokenRequest({ grant_type: 'client_credentials', client_id: DEFAULT_MANAGED_IDENTITY.appId!, client_secret: identity.msiSecret, scope: `${ARM}/.default` });
      expect(mi.body.error).toBe('invalid_client');
    });

    it.each([
      ['another grant', { grant_type: 'password', username: 'u', password: 'p' }, 'unsupported_grant_type'],
      ['no grant', { client_id: 'x' }, 'invalid_request'],
      ['no scope', { grant_type: 'client_credentials', client_id: 'x', client_secret: 'y' }, 'invalid_request'],
      ['a scope that is not <resource>/.default', { grant_type: 'client_credentials', client_id: 'x', client_secret: 'y', scope: 'user.read' }, 'invalid_scope'],
    ])('refuses %s', async (_case, fields, error) => {
      const response = await tokenRequest(fields);
      expect({ status: response.status, error: response.body.error }).toEqual({ status: 400, error });
    });

    it('also serves the tenant authority MSAL uses with instance discovery off', async () => {
      const sp = (await createPrincipal({ displayName: 'sdk-client', kind: 'servicePrincipal' })).body;
      const config = await httpsRequest<{ token_endpoint: string; issuer: string }>(`${identity.httpsUrl}/${TENANT}/v2.0/.well-known/openid-configuration`, { ca: tls.caCertPem });
      expect(config.body).toMatchObject({ token_endpoint: `${identity.httpsUrl}/${TENANT}/oauth2/v2.0/token`, issuer: identity.issuer });
      const issued = await tokenRequest({ grant_type: 'client_credentials', client_id: sp.appId, client_secret: sp.secret, scope: 'https://management.azure.com/.default' }, {}, TENANT, 'v2.0/');
      expect(issued.status).toBe(200);
      expect(decodeJwt(issued.body.access_token)).toMatchObject({ aud: 'https://management.azure.com', oid: sp.objectId });
    });

    it('has no device code flow', async () => {
      const response = await http<{ error: string }>(`${identity.httpUrl}/adfs/oauth2/devicecode`, { method: 'POST', body: 'client_id=x' });
      expect({ status: response.status, error: response.body.error }).toEqual({ status: 400, error: 'unsupported_grant_type' });
    });
  });

  describe('browser sign-in (authorization code with PKCE)', () => {
    const CLIENT = '00000000-0000-0000-0000-0000000000d5';
    const REDIRECT = 'http://127.0.0.1:7071/dashboard/';
    const verifier = 'v'.repeat(20) + 'erifier-of-forty-three-chars-or-more';
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const authorizeFields = (overrides: Record<string, string> = {}) => ({
      response_type: 'code',
      client_id: CLIENT,
      redirect_uri: REDIRECT,
      scope: `${ARM}/.default openid profile`,
      state: 'state-1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...overrides,
    });
    const authorizeUrl = (fields: Record<string, string>) => `${identity.httpUrl}/organizations/oauth2/v2.0/authorize?${new URLSearchParams(fields)}`;

    /** Posts the page's form for a user; the code from the redirect. */
    async function pick(user: string, fields = authorizeFields()): Promise<{ status: number; location: string | null; code: string | null }> {
      const response = await fetch(authorizeUrl(fields), { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, user }).toString() });
      const location = response.headers.get('location');
      return { status: response.status, location, code: location === null ? null : new URL(location).searchParams.get('code') };
    }
    const redeem = (code: string, overrides: Record<string, string> = {}) =>
      http<{ access_token: string; scope: string; error?: string; error_description?: string }>(`${identity.httpUrl}/organizations/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://127.0.0.1:7071' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: CLIENT, redirect_uri: REDIRECT, code_verifier: verifier, ...overrides }).toString(),
      });

    it('shows the directory’s users on a page without script, and refuses requests without PKCE or with a redirect off this machine', async () => {
      const created = await createPrincipal({ displayName: 'Backup Reader Rita', kind: 'user' });
      const page = await http<string>(authorizeUrl(authorizeFields()));
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      expect(page.text).toContain(DEFAULT_USER.userPrincipalName);
      expect(page.text).toContain(created.body.objectId);
      expect(page.text).not.toContain(DEFAULT_MANAGED_IDENTITY.objectId);
      expect(page.text).not.toContain('<script');
      for (const fields of [
        authorizeFields({ code_challenge: '' }),
        authorizeFields({ code_challenge_method: 'plain' }),
        authorizeFields({ redirect_uri: 'https://attacker.example/cb' }),
        authorizeFields({ response_type: 'token' }),
      ]) {
        const refused = await http<{ error: string }>(authorizeUrl(fields));
        expect({ status: refused.status, error: refused.body.error }).toEqual({ status: 400, error: 'invalid_request' });
      }
    });

    it('redirects with a code and the state, which redeems once, with its verifier, for the user’s token (CORS for the browser)', async () => {
      const picked = await pick(DEFAULT_USER.objectId);
      expect(picked.status).toBe(302);
      expect(new URL(picked.location!).origin + new URL(picked.location!).pathname).toBe(REDIRECT);
      expect(new URL(picked.location!).searchParams.get('state')).toBe('state-1');
      const token = await redeem(picked.code!);
      expect(token.status).toBe(200);
      expect(token.headers.get('access-control-allow-origin')).toBe('*');
      expect(await verified(token.body.access_token)).toMatchObject({ aud: ARM, oid: DEFAULT_USER.objectId, idtyp: 'user', upn: DEFAULT_USER.userPrincipalName, appid: CLIENT });
      const again = await redeem(picked.code!);
      expect({ status: again.status, error: again.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
      expect(again.headers.get('access-control-allow-origin')).toBe('*');
    });

    it('refuses a code with another verifier, client or redirect URI, and an account that is no user', async () => {
      const mismatches: Array<Record<string, string>> = [{ code_verifier: 'x'.repeat(43) }, { client_id: 'another-client' }, { redirect_uri: 'http://127.0.0.1:7071/other' }];
      for (const overrides of mismatches) {
        const picked = await pick(DEFAULT_USER.objectId);
        const refused = await redeem(picked.code!, overrides);
        expect({ status: refused.status, error: refused.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
      }
      const notAUser = await pick(DEFAULT_MANAGED_IDENTITY.objectId);
      expect(notAUser.status).toBe(400);
    });
  });

  describe('the directory', () => {
    it('lists the defaults and created principals without secrets, finds them by object or app id, and deletes created ones', async () => {
      const user = await createPrincipal({ displayName: 'Ada Lovelace', kind: 'user' });
      expect(user.body).toMatchObject({ kind: 'user', userPrincipalName: 'ada.lovelace@kluis.local' });
      const sp = (await createPrincipal({ displayName: 'listed', kind: 'servicePrincipal', objectId: '11111111-2222-4333-8444-555555555555' })).body;
      expect(sp.objectId).toBe('11111111-2222-4333-8444-555555555555');

      const listed = await http<{ value: Array<Record<string, unknown>> }>(`${identity.httpUrl}/admin/principals`);
      const ids = listed.body.value.map((p) => p.objectId);
      expect(ids).toEqual(expect.arrayContaining([DEFAULT_MANAGED_IDENTITY.objectId, DEFAULT_USER.objectId, user.body.objectId, sp.objectId]));
      expect(listed.text).not.toContain(sp.secret);
      expect(listed.text).not.toContain('secretHash');
      expect((await http(`${identity.httpUrl}/admin/principals/${sp.appId}`)).body).toMatchObject({ objectId: sp.objectId });

      expect((await createPrincipal({ displayName: 'again', kind: 'user', objectId: sp.objectId })).status).toBe(409);
      expect((await createPrincipal({ displayName: 'x', kind: 'group' })).body.error?.code).toBe('Request_BadRequest');
      expect((await createPrincipal({ kind: 'user' })).status).toBe(400);

      expect((await http(`${identity.httpUrl}/admin/principals/${user.body.objectId}`, { method: 'DELETE' })).status).toBe(200);
      expect((await http(`${identity.httpUrl}/admin/principals/${user.body.objectId}`)).status).toBe(404);
      expect((await http(`${identity.httpUrl}/admin/principals/${DEFAULT_USER.objectId}`, { method: 'DELETE' })).status).toBe(400);
    });

    it('keeps service principal secrets only as salted hashes', async () => {
      const sp = (await createPrincipal({ displayName: 'hashed', kind: 'servicePrincipal' })).body;
      const saved = readFileSync(path.join(dir, 'identity', 'principals.json'), 'utf8');
      expect(saved).toContain(sp.appId);
      expect(saved).not.toContain(sp.secret);
      expect(saved).toMatch(/"secretHash": "scrypt\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+"/);
    });
  });

  it('keeps its signing key, MSI secret and created principals across restarts; processes starting at once agree on one key', async () => {
    const sp = (await createPrincipal({ displayName: 'survivor', kind: 'servicePrincipal' })).body;
    const before = await jwks();
    const msiSecret = identity.msiSecret;
    await identity.stop();
    identity = await startIdentityEndpoint({ dataDir: path.join(dir, 'identity'), tls, persistPrincipals: true, adminGate: async () => 'allowed' });
    expect(identity.msiSecret).toBe(msiSecret);
    expect(await jwks()).toEqual(before);
    const issued = await tokenRequest({ grant_type: 'client_credentials', client_id: sp.appId, client_secret: sp.secret, scope: `${ARM}/.default` });
    expect(issued.status).toBe(200);

    const fresh = path.join(dir, 'fresh');
    const [a, b] = await Promise.all([startIdentityEndpoint({ dataDir: fresh, tls }), startIdentityEndpoint({ dataDir: fresh, tls })]);
    try {
      // Without a gate (admin-access.ts) the directory answers nobody: whoever may create principals may choose their ids.
      const refused = await http<{ error: { code: string } }>(`${a.httpUrl}/admin/principals`, { method: 'POST', body: { displayName: 'intruder', kind: 'servicePrincipal', objectId: DEFAULT_USER.objectId } });
      expect([refused.status, refused.body.error.code]).toEqual([401, 'AuthenticationFailed']);
      expect((await http(`${a.httpUrl}/admin/principals`)).status).toBe(401);
      expect((await http(`${a.httpUrl}/admin/principals/${DEFAULT_USER.objectId}`, { method: 'DELETE' })).status).toBe(401);
      expect(a.msiSecret).toBe(b.msiSecret);
      expect(a.msiSecret).not.toBe(msiSecret);
      const keysA = await httpsRequest<JSONWebKeySet>(a.jwksUrl, { ca: tls.caCertPem });
      const keysB = await httpsRequest<JSONWebKeySet>(b.jwksUrl, { ca: tls.caCertPem });
      expect(keysA.body).toEqual(keysB.body);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  describe("Kluis's signing keys client", () => {
    it('reads the keys over HTTPS trusting the local CA for a loopback URL, and names a key id it does not publish as an invalid token', async () => {
      const keys = new RemoteSigningKeys(identity.jwksUrl, { caCertificateFile: tls.caCertPath });
      const { keys: [published] } = await jwks();
      await expect(keys.keyFor({ alg: 'RS256', kid: published.kid })).resolves.toBeDefined();
      await expect(keys.keyFor({ alg: 'RS256', kid: 'not-published' })).rejects.toMatchObject({ code: 'InvalidAuthenticationToken' });
    });

    it('cannot read them without the CA, and says so without a secret', async () => {
      const keys = new RemoteSigningKeys(identity.jwksUrl);
      await expect(keys.keyFor({ alg: 'RS256', kid: 'x' })).rejects.toMatchObject({ code: 'KluisTokenKeysUnavailable', status: 503, message: expect.stringContaining(identity.jwksUrl) });
    });

    it('names a CA file that cannot be read', () => {
      expect(() => new RemoteSigningKeys(identity.jwksUrl, { caCertificateFile: path.join(dir, 'missing.pem') })).toThrow(expect.objectContaining({ code: 'KluisInvalidConfiguration', target: 'KLUIS_CA_FILE' }));
    });
  });
});
