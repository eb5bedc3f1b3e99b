/**
 * The embedded host's server refuses a request target with a `.` or `..` segment (literal or percent-encoded)
 * before routing: parsed as a URL, `…/backupJobs/../backupPolicies` would be served as `…/backupPolicies`.
 * Raw requests (node:http sends the target as written; fetch would resolve the dots first).
 */
import http from 'node:http';
import { hasDotSegment, startHttpServer, type RunningServer } from '../../emulator/http-server';

function rawGet(port: number, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'GET', path: target }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dot segments in request paths', () => {
  it.each([
    ['/subscriptions/s/backupJobs/../backupPolicies', true],
    ['/a/./b', true],
    ['/a/%2e%2e/b', true],
    ['/a/.%2E/b', true],
    ['/a/%2E/b', true],
    ['/a\\..\\b', true],
    ['/a/..', true],
    ['http://host/a/../b', true],
    ['/a/b?x=/../', false],
    ['/a/...', false],
    ['/a/.hidden/b..c', false],
    ['//metadata/endpoints', false],
    ['/', false],
  ])('%s has a dot segment: %s', (target, expected) => {
    expect(hasDotSegment(target)).toBe(expected);
  });

  describe('the server', () => {
    let server: RunningServer;
    const seen: string[] = [];
    beforeAll(async () => {
      server = await startHttpServer('127.0.0.1', 0, async (request) => {
        seen.push(request.url.pathname);
        return { status: 200, headers: { 'content-type': 'text/plain' }, body: request.url.pathname };
      });
    });
    afterAll(() => server.close());

    it('answers 400 KluisInvalidRequestPath without routing the request, and serves paths without dot segments', async () => {
      for (const target of ['/subscriptions/s/backupJobs/../backupPolicies?api-version=1', '/subscriptions/s/backupJobs/%2e%2e/backupPolicies']) {
        const refused = await rawGet(server.port, target);
        expect(refused.status).toBe(400);
        expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'KluisInvalidRequestPath', message: expect.stringContaining("'..'") } });
      }
      expect(seen).toEqual([]);
      expect(await rawGet(server.port, '/subscriptions/s/backupPolicies')).toEqual({ status: 200, body: '/subscriptions/s/backupPolicies' });
    });
  });
});
