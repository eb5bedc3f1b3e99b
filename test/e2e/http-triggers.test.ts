import { useAzurite } from '../support/azurite';
import { fixtureApp, http, HostProcess, startHostProcess, writeSecretsFile } from '../support/host-process';

describe('HTTP triggers, keys and hooks through the host binary', () => {
  const azurite = useAzurite();
  const { file: secretsFile, secrets } = writeSecretsFile({ Secured: { ownKey: 'secured-own-key-1234567890' } });
  let host: HostProcess;
  let api: string;

  beforeAll(async () => {
    host = await startHostProcess({ app: fixtureApp('features'), storage: azurite().connectionString, secretsFile });
    api = `${host.origin}/fx`;
  });
  afterAll(async () => {
    await host?.stop();
  });

  describe('auth levels', () => {
    it('serves anonymous functions without a key', async () => {
      const response = await http(`${api}/public`);
      expect(response.status).toBe(200);
      expect(response.text).toBe('public ok');
    });

    it('requires a key for function level: 401 without or with a wrong key', async () => {
      expect((await http(`${api}/secured`)).status).toBe(401);
      expect((await http(`${api}/secured`, { headers: { 'x-functions-key': 'wrong' } })).status).toBe(401);
      expect((await http(`${api}/secured?code=wrong`)).status).toBe(401);
    });

    it('accepts the host function key (header or code), the function\'s own key and the master key at function level', async () => {
      const hostKey = secrets.functionKeys.default;
      expect((await http(`${api}/secured`, { headers: { 'x-functions-key': hostKey } })).status).toBe(200);
      expect((await http(`${api}/secured?code=${encodeURIComponent(hostKey)}`)).status).toBe(200);
      expect((await http(`${api}/secured?code=secured-own-key-1234567890`)).status).toBe(200);
      const master = await http<{ level: string }>(`${api}/secured`, { headers: { 'x-functions-key': secrets.masterKey } });
      expect(master.status).toBe(200);
      expect(master.body).toEqual({ level: 'function' });
    });

    it('does not accept a function-specific key for another function', async () => {
      expect((await http(`${api}/admin-only?code=secured-own-key-1234567890`)).status).toBe(401);
    });

    it('requires the master key at admin level', async () => {
      expect((await http(`${api}/admin-only`)).status).toBe(401);
      expect((await http(`${api}/admin-only`, { headers: { 'x-functions-key': secrets.functionKeys.default } })).status).toBe(401);
      const admin = await http<{ level: string }>(`${api}/admin-only`, { headers: { 'x-functions-key': secrets.masterKey } });
      expect(admin.status).toBe(200);
      expect(admin.body).toEqual({ level: 'admin' });
    });

    it('guards the host admin API with the master key but not the ping', async () => {
      expect((await http(`${host.origin}/admin/host/ping`)).status).toBe(200);
      expect((await http(`${host.origin}/admin/host/status`)).status).toBe(401);
      expect((await http(`${host.origin}/admin/host/status`, { headers: { 'x-functions-key': secrets.masterKey } })).status).toBe(200);
    });
  });

  describe('routes and methods', () => {
    it('binds route parameters, with an optional one, and the query', async () => {
      const withName = await http(`${api}/items/42/widget?color=red`);
      expect(withName.status).toBe(200);
      expect(withName.body).toEqual({ id: '42', name: 'widget', color: 'red' });
      const withoutName = await http(`${api}/items/7`);
      expect(withoutName.status).toBe(200);
      expect(withoutName.body).toEqual({ id: '7', name: null, color: null });
    });

    it('answers 404 when a route constraint does not match or no route exists', async () => {
      expect((await http(`${api}/items/abc`)).status).toBe(404);
      expect((await http(`${api}/items/1/2/3`)).status).toBe(404);
      expect((await http(`${api}/no-such-route`)).status).toBe(404);
      // The route prefix is part of every route.
      expect((await http(`${host.origin}/api/public`)).status).toBe(404);
    });

    it('matches literal route segments case-insensitively', async () => {
      expect((await http(`${api}/ITEMS/5`)).body).toEqual({ id: '5', name: null, color: null });
    });

    it('serves a function without a route at its name', async () => {
      const response = await http(`${api}/DefaultRoute`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ functionName: 'DefaultRoute' });
    });

    it('answers 404 for a method the function does not allow', async () => {
      expect((await http(`${api}/echo`)).status).toBe(404);
      expect((await http(`${api}/echo`, { method: 'DELETE' })).status).toBe(404);
      expect((await http(`${api}/public`, { method: 'POST', body: 'x' })).status).toBe(404);
    });
  });

  describe('requests and responses', () => {
    it('passes the JSON body, method and headers in, and status, headers and JSON body out', async () => {
      const response = await http(`${api}/echo`, { method: 'POST', body: { hello: 'world', n: 1 }, headers: { 'x-test-header': 'from-test' } });
      expect(response.status).toBe(201);
      expect(response.headers.get('x-echo-method')).toBe('POST');
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.body).toEqual({ method: 'POST', body: { hello: 'world', n: 1 }, header: 'from-test' });

      const put = await http(`${api}/echo`, { method: 'PUT', body: [1, 2, 3] });
      expect(put.status).toBe(201);
      expect(put.body).toEqual({ method: 'PUT', body: [1, 2, 3], header: null });
    });

    it('returns the status code the function chose, with or without a body', async () => {
      const teapot = await http(`${api}/status/418`);
      expect(teapot.status).toBe(418);
      expect(teapot.text).toBe('status 418');
      const noContent = await http(`${api}/status/204`);
      expect(noContent.status).toBe(204);
      expect(noContent.text).toBe('');
    });

    it('answers 500 when the handler throws (a bad JSON body)', async () => {
      const response = await http(`${api}/echo`, { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } });
      expect(response.status).toBe(500);
    });
  });

  describe('hooks', () => {
    it('runs preInvocation and postInvocation hooks around a function, sharing hookData', async () => {
      const response = await http(`${api}/hooked`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ handledBy: 'Hooked' });
      expect(response.headers.get('x-handler')).toBe('Hooked');
      expect(response.headers.get('x-invocation-hooks')).toBe('pre-and-post');
      const record = await host.waitForLog((r) => r.message.includes('preInvocation hook ran for Hooked'));
      expect(record.functionName).toBe('Hooked');
    });

    it('does not apply the hook\'s header to other functions', async () => {
      expect((await http(`${api}/public`)).headers.get('x-invocation-hooks')).toBeNull();
    });

    it('ran the appStart hook once, before the first request', async () => {
      const response = await http(`${api}/app-info`);
      expect(response.body).toEqual({ appStartCount: 1, appStartedBeforeFirstRequest: true });
    });
  });
});
