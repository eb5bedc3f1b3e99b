/**
 * The dashboard as the app serves it (functions/http/dashboard.ts), over HTTP through the embedded host:
 * `/` sends browsers to `/dashboard/`, every page path gets index.html with its Content-Security-Policy,
 * built assets come with their types and caching, `config.json` says how to sign in (the host's local
 * identity endpoint), nothing outside the build is reachable, and the pages need no token while the API
 * still does. And the vault usages the overview reads, checked against the specification.
 * Runs the app built into dist/ (npm run build bundles web/ into dist/web).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { useAzurite } from '../support/azurite';
import { REPO_ROOT, http, startHostProcess, type HostProcess } from '../support/host-process';
import { subscriptionEnv } from '../support/arm-tenancy';
import { isolatedAppSettings, vaultApi, type ArmList } from '../support/vault-api';

const SUB = '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a';
const azurite = useAzurite();

describe('the dashboard, served by the app', () => {
  let host: HostProcess;
  const api = vaultApi(() => host, { subscriptionId: SUB, storage: () => azurite().connectionString });

  beforeAll(async () => {
    const stamp = `d${Date.now().toString(36)}`;
    host = await startHostProcess({ app: REPO_ROOT, storage: azurite().connectionString, hubName: `Dash${stamp}`, env: { ...isolatedAppSettings(stamp), ...subscriptionEnv(SUB) } });
    await api.createResourceGroup();
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
  });

  it('sends a browser at the root to the dashboard', async () => {
    const response = await fetch(`${host.origin}/`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/dashboard/');
  });

  it('answers every page path with the app, under a policy that allows only its own scripts', async () => {
    for (const page of ['/dashboard/', '/dashboard/vaults/new', `/dashboard/vaults/${SUB}/rg/v/items/IaasVMContainer;iaasvmcontainerv2;rg;web.01/VM;iaasvmcontainerv2;rg;web.01`]) {
      const response = await http<string>(`${host.origin}${page}`, { signIn: false });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.text).toMatch(/<script type="module" src="assets\/app-[A-Z0-9]+\.js"><\/script>/);
      const policy = response.headers.get('content-security-policy') ?? '';
      expect(policy).toContain("script-src 'self'");
      expect(policy).toContain(`connect-src 'self' ${host.identity!.httpUrl}`);
    }
  });

  it('serves the built assets, hashed ones cached for good, and nothing else', async () => {
    const script = readdirSync(path.join(REPO_ROOT, 'dist', 'web', 'assets')).find((name) => /^app-[A-Z0-9]+\.js$/.test(name))!;
    const asset = await http<string>(`${host.origin}/dashboard/assets/${script}`, { signIn: false });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await http(`${host.origin}/dashboard/favicon.svg`, { signIn: false })).headers.get('content-type')).toBe('image/svg+xml');
    for (const missing of ['/dashboard/assets/app-NOSUCHFILE.js', '/dashboard/assets/..%2F..%2Fpackage.json', '/dashboard/assets/x/y.js']) {
      expect((await http(`${host.origin}${missing}`, { signIn: false })).status).toBe(404);
    }
  });

  it('tells the browser to sign in at the host’s identity endpoint, for ARM tokens', async () => {
    const config = await http<{ signIn: Record<string, unknown> }>(`${host.origin}/dashboard/config.json`, { signIn: false });
    expect(config.status).toBe(200);
    expect(config.headers.get('cache-control')).toBe('no-store');
    expect(config.body).toEqual({
      signIn: { kind: 'local', clientId: '00000000-0000-0000-0000-0000000000d5', authority: `${host.identity!.httpUrl}/organizations`, scopes: ['https://management.core.windows.net//.default'] },
    });
  });

  it('keeps the API behind tokens: the pages are public, the data is not', async () => {
    expect((await http(`${host.origin}/subscriptions/${SUB}/providers/Microsoft.RecoveryServices/vaults?api-version=2024-04-01`, { signIn: false })).status).toBe(401);
  });

  it("lists the vault's usages as the specification declares them", async () => {
    expect((await api.createVault('dash-vault')).status).toBe(201);
    const usages = await api.arm<ArmList<{ unit: string; currentValue: number; name: { value: string } }>>(`${api.vaultUrl('dash-vault')}/usages`);
    expect(usages.status).toBe(200);
    expect(usages.body.value.map((u) => [u.name.value, u.unit, u.currentValue])).toEqual([
      ['ProtectedItemCount', 'Count', 0],
      ['GRSStorageUsage', 'Bytes', 0],
      ['SnapshotStorageUsage', 'Bytes', 0],
    ]);
    // The specification declares no error status for this list (ARM's default error body); Kluis answers ResourceNotFound.
    const missing = await http<{ error: { code: string } }>(`${api.vaultUrl('no-such-vault')}/usages?api-version=2024-04-01`);
    expect({ status: missing.status, code: missing.body.error.code }).toEqual({ status: 404, code: 'ResourceNotFound' });
  });
});
