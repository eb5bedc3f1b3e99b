/**
 * `kluis-host --insecure-no-auth`: the one documented way to run Kluis without tokens and roles — refused
 * on any bind address but loopback, and then really open (no token needed) on loopback.
 */
import { useAzurite } from '../support/azurite';
import { subscriptionEnv } from '../support/arm-tenancy';
import { REPO_ROOT, http, spawnHost, startHostProcess, type HostProcess } from '../support/host-process';
import { isolatedAppSettings } from '../support/vault-api';

const azurite = useAzurite();
const SUB = '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f';

describe('kluis-host --insecure-no-auth', () => {
  it('refuses to start on a non-loopback bind, naming why', async () => {
    const host = spawnHost({ app: REPO_ROOT, storage: azurite().connectionString, extraArgs: ['--insecure-no-auth', '--listen-host', '0.0.0.0'] });
    const exit = await host.exited;
    expect(exit.code).not.toBe(0);
    expect(host.stderrLines().join('\n')).toContain('--insecure-no-auth refuses to listen on 0.0.0.0');
  }, 60_000);

  describe('on loopback', () => {
    let host: HostProcess;
    beforeAll(async () => {
      host = await startHostProcess({
        app: REPO_ROOT,
        storage: azurite().connectionString,
        env: { ...isolatedAppSettings(`n${Date.now().toString(36)}`), ...subscriptionEnv(SUB) },
        extraArgs: ['--insecure-no-auth'],
      });
    }, 60_000);
    afterAll(async () => {
      await host?.stop();
    });

    it('answers without a token, as anyone', async () => {
      const listed = await http<{ value: unknown[] }>(`${host.origin}/subscriptions/${SUB}/providers/Microsoft.RecoveryServices/vaults?api-version=2023-06-01`, { signIn: false });
      expect([listed.status, listed.body.value]).toEqual([200, []]);
      const group = await http(`${host.origin}/subscriptions/${SUB}/resourcegroups/rg-open?api-version=2022-09-01`, { method: 'PUT', signIn: false, body: { location: 'westeurope' } });
      expect(group.status).toBe(201);
    });
  });
});
