/**
 * The ARM front door through the embedded host running this repository's app: every operation at the
 * root path and at its /api alias, HTTP and HTTPS (the local CA trusted per client, refused without
 * it), Location and Azure-AsyncOperation under the public base URL (configured, from X-Forwarded-*, or
 * the request's own), ARM's cloud metadata, and the bearer token every request to Kluis's API must
 * carry — refused as ARM refuses it, with its error body and WWW-Authenticate challenge — while the
 * host's own endpoints (admin, fabric, Durable webhooks) keep their own auth.
 *
 * KLUIS_E2E_APP runs the suite against another build of the app.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { uniqueTableName, useAzurite } from '../support/azurite';
import { createResourceGroups, subscriptionEnv } from '../support/arm-tenancy';
import { http, REPO_ROOT, startHostProcess, type HostProcess, type HttpResult } from '../support/host-process';
import { httpsRequest } from '../support/https';
import { appClaims, identityEndpointKey, newSigningKey, signedToken, unsignedToken, type SigningKey } from '../support/tokens';

const APP = process.env.KLUIS_E2E_APP ?? REPO_ROOT;
const SUB = '5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e';
const RG = 'rg-front-door';
const VAULT_PATH = `subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.RecoveryServices/vaults/vault-front`;
const V = 'api-version=2023-06-01';
const ARM = 'https://management.core.windows.net/';

interface ErrorEnvelope {
  error: { code: string; message: string };
}

const azurite = useAzurite();

function appSettings(stamp: string): Record<string, string> {
  return {
    KLUIS_SOURCE_STORAGE: '',
    KLUIS_VAULT_STORAGE: '',
    KLUIS_RESTORE_STORAGE: '',
    KLUIS_CATALOG_TABLE: uniqueTableName('Points'),
    KLUIS_CATALOG_TABLE_PREFIX: `F${stamp}`,
    KLUIS_INVENTORY_TABLE: uniqueTableName('Vms'),
    KLUIS_VAULT_CONTAINER: `vault-${stamp.toLowerCase()}`,
    ...subscriptionEnv(SUB),
  };
}

describe('the ARM front door (embedded host)', () => {
  let host: HostProcess;
  let dataDir: string;
  let ca: string;
  let endpointKey: SigningKey;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'kluis-front-door-'));
    const stamp = Date.now().toString(36);
    host = await startHostProcess({
      app: APP,
      storage: azurite().connectionString,
      hubName: `Front${stamp}`,
      env: appSettings(stamp),
      extraArgs: ['--https-port', '0', '--tls-dir', path.join(dataDir, 'tls'), '--identity-dir', path.join(dataDir, 'identity'), '--no-keyvault'],
    });
    ca = readFileSync(path.join(dataDir, 'tls', 'ca.pem'), 'utf8');
    endpointKey = await identityEndpointKey(path.join(dataDir, 'identity'));
    await createResourceGroups(host, SUB, [RG]);
    expect((await http(`${host.origin}/${VAULT_PATH}?${V}`, { method: 'PUT', body: { location: 'westeurope', properties: {} } })).status).toBe(201);
  }, 90_000);

  afterAll(async () => {
    await host?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const bearer = async () => ({ authorization: `Bearer ${await host.accessToken()}` });

  describe('paths', () => {
    it('serves every ARM operation at the root path and at its /api alias', async () => {
      const root = await http<{ id: string; name: string }>(`${host.origin}/${VAULT_PATH}?${V}`);
      const alias = await http<{ id: string; name: string }>(`${host.origin}/api/${VAULT_PATH}?${V}`);
      expect(root.status).toBe(200);
      expect(alias.status).toBe(200);
      expect(alias.body).toEqual(root.body);
      expect(root.body.id).toBe(`/${VAULT_PATH}`);
      const list = `subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.RecoveryServices/vaults?${V}`;
      expect((await http<{ value: unknown[] }>(`${host.origin}/${list}`)).body.value).toHaveLength(1);
      expect((await http<{ value: unknown[] }>(`${host.origin}/api/${list}`)).body.value).toHaveLength(1);
    });

    it('keeps the engine endpoints (admin key only) and the OpenAPI document under /api only', async () => {
      const adminKey = { 'x-functions-key': host.secrets.masterKey };
      expect((await http(`${host.origin}/api/items/vm-none/recoveryPoints`, { headers: adminKey })).status).toBe(200);
      expect((await http(`${host.origin}/api/items/vm-none/recoveryPoints`)).status).toBe(401);
      expect((await http(`${host.origin}/items/vm-none/recoveryPoints`, { headers: adminKey })).status).toBe(404);
      const openapi = await http<{ servers: Array<{ url: string }>; paths: Record<string, unknown> }>(`${host.origin}/api/openapi.json`, { signIn: false });
      expect(openapi.status).toBe(200);
      expect(openapi.body.servers).toEqual([{ url: '/' }]);
      const paths = Object.keys(openapi.body.paths);
      expect(paths).toContain('/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.RecoveryServices/vaults/{vaultName}');
      expect(paths.filter((p) => p.startsWith('/api/'))).toEqual([]);
      expect((await http(`${host.origin}/openapi.json`)).status).toBe(404);
    });

    it("leaves the host's own endpoints to their own auth: admin and the Durable webhooks take keys, the VM fabric a key or an Owner's token", async () => {
      expect((await http(`${host.origin}/admin/host/ping`, { signIn: false })).status).toBe(200);
      expect((await http(`${host.origin}/admin/functions`, { signIn: false })).status).toBe(401);
      expect((await http(`${host.origin}/admin/functions`, { signIn: false, headers: { 'x-functions-key': host.secrets.masterKey } })).status).toBe(200);
      const vms = `${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/rg-vms/virtualMachines`;
      expect((await http(vms, { signIn: false })).status).toBe(401);
      expect((await http(vms, { signIn: false, headers: { 'x-functions-key': host.secrets.masterKey } })).status).toBe(200);
      expect((await http(vms)).status).toBe(200);
      const instances = await http(`${host.origin}/runtime/webhooks/durabletask/instances?code=${encodeURIComponent(host.secrets.masterKey)}`, { signIn: false });
      expect(instances.status).toBe(200);
    });
  });

  describe('HTTPS', () => {
    it('serves the same API over HTTPS to a client that trusts the local CA', async () => {
      expect(host.httpsOrigin).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const response = await httpsRequest<{ id: string }>(`${host.httpsOrigin}/${VAULT_PATH}?${V}`, { ca, headers: await bearer() });
      expect(response.status).toBe(200);
      expect(response.body.id).toBe(`/${VAULT_PATH}`);
      const viaLocalhost = await httpsRequest(`${host.httpsOrigin!.replace('127.0.0.1', 'localhost')}/api/${VAULT_PATH}?${V}`, { ca, headers: await bearer() });
      expect(viaLocalhost.status).toBe(200);
    });

    it('is refused by a client that does not trust it (nothing is installed globally)', async () => {
      await expect(httpsRequest(`${host.httpsOrigin}/${VAULT_PATH}?${V}`, { headers: await bearer() })).rejects.toMatchObject({ code: expect.stringMatching(/CERT|SIGNATURE|ISSUER/) });
      await expect(fetch(`${host.httpsOrigin}/admin/host/ping`)).rejects.toThrow();
    });

    it("answers ARM's cloud metadata anonymously, also at the double slash az sends", async () => {
      for (const target of ['/metadata/endpoints?api-version=2015-01-01', '//metadata/endpoints?api-version=2015-01-01']) {
        const metadata = await httpsRequest<{ authentication: Record<string, unknown> }>(`${host.httpsOrigin}${target}`, { ca });
        expect(metadata.status).toBe(200);
        expect(metadata.body.authentication).toEqual({
          loginEndpoint: host.identity!.authority,
          audiences: [ARM, 'https://management.azure.com/'],
          tenant: 'adfs',
          identityProvider: 'ADFS',
        });
      }
    });
  });

  describe('Location and Azure-AsyncOperation', () => {
    const refresh = `${VAULT_PATH}/backupFabrics/Azure/refreshContainers?${V}`;
    const operationHeaders = (headers: Headers | Record<string, unknown>) => {
      const get = (name: string) => (headers instanceof Headers ? headers.get(name) : (headers[name] as string | undefined));
      return { status: get('azure-asyncoperation'), result: get('location') };
    };

    it("point at the root path under the request's own scheme and host, whichever path was called", async () => {
      for (const called of [`${host.origin}/${refresh}`, `${host.origin}/api/${refresh}`]) {
        const accepted = await http(called, { method: 'POST' });
        expect(accepted.status).toBe(202);
        // A container refresh answers with a Location only, as Azure's.
        const { result } = operationHeaders(accepted.headers);
        expect(result).toMatch(new RegExp(`^${host.origin}/${VAULT_PATH}/backupFabrics/Azure/operationResults/[0-9a-f-]{36}$`));
        expect([202, 204]).toContain((await http(result!)).status);
      }
      const overHttps = await httpsRequest(`${host.httpsOrigin}/api/${refresh}`, { method: 'POST', ca, headers: await bearer() });
      expect(overHttps.status).toBe(202);
      expect(operationHeaders(overHttps.headers).result).toMatch(new RegExp(`^${host.httpsOrigin}/${VAULT_PATH}/backupFabrics/Azure/operationResults/`));
      const result = await httpsRequest(operationHeaders(overHttps.headers).result!, { ca, headers: await bearer() });
      expect([202, 204]).toContain(result.status);
    });

    it('follow the first X-Forwarded-Proto and X-Forwarded-Host values of a reverse proxy, and ignore invalid ones', async () => {
      const forwarded = await http(`${host.origin}/${refresh}`, { method: 'POST', headers: { 'X-Forwarded-Proto': 'https, http', 'X-Forwarded-Host': 'backup.example.com, 10.0.0.7' } });
      expect(operationHeaders(forwarded.headers).result).toMatch(new RegExp(`^https://backup\\.example\\.com/${VAULT_PATH}/backupFabrics/Azure/operationResults/`));
      const invalid = await http(`${host.origin}/${refresh}`, { method: 'POST', headers: { 'X-Forwarded-Proto': 'gopher', 'X-Forwarded-Host': 'evil.example/path' } });
      expect(operationHeaders(invalid.headers).result).toMatch(new RegExp(`^${host.origin}/${VAULT_PATH}/`));
    });

    it('use the configured public base URL over anything the request says', async () => {
      const stamp = `${Date.now().toString(36)}b`;
      const configured = await startHostProcess({
        app: APP,
        storage: azurite().connectionString,
        hubName: `Base${stamp}`,
        env: { ...appSettings(stamp), KLUIS_PUBLIC_BASE_URL: 'https://kluis.example.org/' },
        extraArgs: ['--tls-dir', path.join(dataDir, 'tls'), '--identity-dir', path.join(dataDir, 'identity'), '--no-keyvault'],
      });
      try {
        await createResourceGroups(configured, SUB, [RG]);
        expect((await http(`${configured.origin}/${VAULT_PATH}?${V}`, { method: 'PUT', body: { location: 'westeurope', properties: {} } })).status).toBe(201);
        const accepted = await http(`${configured.origin}/api/${refresh}`, { method: 'POST', headers: { 'X-Forwarded-Host': 'proxy.example' } });
        expect(accepted.status).toBe(202);
        expect(operationHeaders(accepted.headers).result).toMatch(new RegExp(`^https://kluis\\.example\\.org/${VAULT_PATH}/backupFabrics/Azure/operationResults/[0-9a-f-]{36}$`));
      } finally {
        await configured.stop();
      }
    }, 60_000);
  });

  describe('tokens', () => {
    const vault = () => `${host.origin}/${VAULT_PATH}?${V}`;
    const claims = (overrides: Record<string, unknown> = {}) => appClaims({ issuer: host.identity!.issuer, tenantId: host.identity!.tenantId }, overrides);
    const challenge = (description: string) => `Bearer authorization_uri="${host.identity!.authority}", error="invalid_token", error_description="${description}"`;

    async function refused(authorization: string | undefined, url = vault(), method = 'GET'): Promise<HttpResult<ErrorEnvelope>> {
      return http<ErrorEnvelope>(url, { method, signIn: false, ...(authorization === undefined ? {} : { headers: { authorization } }) });
    }

    it('accepts the tokens the identity endpoint issues (the default managed identity’s, the Cloud Shell user’s, any it signed); roles decide what they may do', async () => {
      expect((await http(vault())).status).toBe(200);
      const msi = await http<{ access_token: string }>(`${host.identity!.msiEndpoint}?resource=${ARM}&api-version=2017-09-01`, { headers: { secret: JSON.parse(readFileSync(path.join(dataDir, 'identity', 'identity.json'), 'utf8')).msiSecret as string } });
      expect((await refused(`Bearer ${msi.body.access_token}`)).status).toBe(200);
      // Signed in, but without a role: 403 naming the principal, the action and the scope (not 401).
      const shell = await http<{ access_token: string }>(host.identity!.msiEndpoint, { method: 'POST', body: `resource=${encodeURIComponent(ARM)}`, headers: { Metadata: 'true', 'content-type': 'application/x-www-form-urlencoded' } });
      const user = await refused(`Bearer ${shell.body.access_token}`);
      expect([user.status, user.body.error.code]).toEqual([403, 'AuthorizationFailed']);
      expect(user.body.error.message).toBe(
        `The client 'Kluis local user' with object id '00000000-0000-0000-0000-0000000000a2' does not have authorization to perform action 'Microsoft.RecoveryServices/Vaults/read' over scope '/${VAULT_PATH}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      );
      const other = claims();
      const app = await refused(`Bearer ${await signedToken(other, endpointKey)}`);
      expect([app.status, app.body.error.message]).toEqual([403, expect.stringContaining(`with object id '${other.oid}'`)]);
    });

    it("refuses a request without a token with ARM's AuthenticationFailed and challenge; the raw engine routes take no token at all", async () => {
      for (const [url, method] of [[`${host.origin}/api/backups`, 'POST'], [`${host.origin}/api/restores/some-job`, 'GET'], [`${host.origin}/api/items/vm1/recoveryPoints`, 'GET']]) {
        expect((await refused(undefined, url, method)).status).toBe(401);
        expect((await refused(`Bearer ${await host.accessToken()}`, url, method)).status).toBe(401);
      }
      for (const [url, method] of [[vault(), 'GET'], [`${host.origin}/api/${VAULT_PATH}?${V}`, 'GET']]) {
        const response = await refused(undefined, url, method);
        expect({ url, status: response.status, body: response.body }).toEqual({
          url,
          status: 401,
          body: { error: { code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing.", recommendation: expect.any(String) } },
        });
        expect(response.headers.get('www-authenticate')).toBe(challenge("The authentication failed because of missing 'Authorization' header."));
      }
    });

    it.each([
      ['a malformed header', async () => 'Bearer', 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is provided in an invalid format."],
      ['a malformed token', async () => 'Bearer not.a.jwt', 'InvalidAuthenticationToken', 'The access token is invalid.'],
      ['a signature by a key not in the JWKS', async () => `Bearer ${await signedToken(claims(), await newSigningKey())}`, 'InvalidAuthenticationToken', 'The access token is invalid.'],
      ["another key under the endpoint's key id", async () => `Bearer ${await signedToken(claims(), await newSigningKey(), { keyId: endpointKey.keyId })}`, 'InvalidAuthenticationToken', 'The access token is invalid.'],
      ['alg none', async () => `Bearer ${unsignedToken(claims())}`, 'InvalidAuthenticationToken', "The access token is invalid: it is signed with 'none'; only RS256 is accepted."],
      ['an expired token', async () => `Bearer ${await signedToken(claims({ exp: Math.floor(Date.now() / 1000) - 3600 }), endpointKey)}`, 'ExpiredAuthenticationToken', expect.stringMatching(/^The access token expiry UTC time '.+' is earlier than current UTC time '.+'\.$/)],
      ['a token not yet valid', async () => `Bearer ${await signedToken(claims({ nbf: Math.floor(Date.now() / 1000) + 3600 }), endpointKey)}`, 'InvalidAuthenticationToken', expect.stringMatching(/^The access token is not valid before UTC time '.+'; current UTC time is '.+'\.$/)],
      ['a token for Key Vault', async () => `Bearer ${await signedToken(claims({ aud: 'https://vault.azure.net' }), endpointKey)}`, 'InvalidAuthenticationTokenAudience', expect.stringContaining("wrong audience or resource 'https://vault.azure.net'")],
      ['another issuer', async () => `Bearer ${await signedToken(claims({ iss: 'https://sts.windows.net/00000000-0000-0000-0000-00000000c0de/' }), endpointKey)}`, 'InvalidAuthenticationTokenTenant', expect.stringContaining("wrong issuer 'https://sts.windows.net/")],
    ])('refuses %s with 401, ARM’s body and challenge', async (_case, authorization, code, message) => {
      const response = await refused(await authorization());
      expect({ status: response.status, code: response.body.error.code, message: response.body.error.message }).toEqual({ status: 401, code, message });
      expect(response.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer authorization_uri="${host.identity!.authority.replace(/[.]/g, '\\.')}", error="invalid_token", error_description="`));
    });

    it('checks the token before anything else: a refused request changes nothing', async () => {
      const other = VAULT_PATH.replace('vault-front', 'vault-never');
      expect((await refused(`Bearer ${unsignedToken(claims())}`, `${host.origin}/${other}?${V}`, 'PUT')).status).toBe(401);
      expect((await http(`${host.origin}/${other}?${V}`)).status).toBe(404);
    });
  });
});
