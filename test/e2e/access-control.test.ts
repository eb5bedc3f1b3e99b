/**
 * Access control through the host binary (issue 11): every ARM route (read from the host's own OpenAPI
 * document, `x-kluis-action` / `x-kluis-access`) called by principals holding each built-in role at the
 * vault, the subscription or the resource group, none, or a role on another vault — allowed exactly where
 * the role matrix (test/support/role-matrix.ts) and the assignment's scope say, else 403 AuthorizationFailed
 * naming the action and the scope, with the catalog and the blobs unchanged after every refusal. Then each
 * attack of the "Why", refused as its own test with nothing changed, and the activity log that
 * records who did what — refused attempts included.
 */
import { randomUUID } from 'node:crypto';
import { ROLE_IDS } from '../../lib/domain/authorization/role-definitions';
import { useAzurite } from '../support/azurite';
import { subscriptionEnv } from '../support/arm-tenancy';
import { REPO_ROOT, http, startHostProcess, type HostProcess, type HttpResult } from '../support/host-process';
import { principalWithRoles, type BuiltInRoleKey, type TestPrincipal } from '../support/principals';
import { ROLE_MATRIX, type MatrixRole } from '../support/role-matrix';
import { knownSecretsOf, leaksIn } from '../support/leak-check';
import { storageSnapshot } from '../support/storage-snapshot';
import { appClaims, unsignedToken } from '../support/tokens';
import { isolatedAppSettings, vaultApi, vaultRouteParameters, type ErrorEnvelope } from '../support/vault-api';

const azurite = useAzurite();
const SUB = '5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';
const RG = 'rg-acl';
const VAULT = 'vault-acl';
const OTHER_VAULT = 'vault-other';
const VM = 'web1';
const GONE_VM = 'gone1';
const API = 'api-version=2023-06-01';

const SUB_SCOPE = `/subscriptions/${SUB}`;
const RG_SCOPE = `${SUB_SCOPE}/resourceGroups/${RG}`;
const VAULT_SCOPE = `${RG_SCOPE}/providers/Microsoft.RecoveryServices/vaults/${VAULT}`;
const OTHER_VAULT_SCOPE = `${RG_SCOPE}/providers/Microsoft.RecoveryServices/vaults/${OTHER_VAULT}`;

const ROLE_KEYS: Record<MatrixRole, BuiltInRoleKey> = {
  Owner: 'owner',
  Contributor: 'contributor',
  Reader: 'reader',
  'Backup Contributor': 'backupContributor',
  'Backup Operator': 'backupOperator',
  'Backup Reader': 'backupReader',
};

/** Who calls: one role at one scope (or none). */
interface Subject {
  label: string;
  role?: MatrixRole;
  scope?: string;
}

const SUBJECTS: readonly Subject[] = [
  { label: 'Owner of the subscription', role: 'Owner', scope: SUB_SCOPE },
  { label: 'Contributor of the subscription', role: 'Contributor', scope: SUB_SCOPE },
  { label: 'Backup Contributor of the vault', role: 'Backup Contributor', scope: VAULT_SCOPE },
  { label: 'Backup Operator of the vault', role: 'Backup Operator', scope: VAULT_SCOPE },
  { label: 'Backup Reader of the vault', role: 'Backup Reader', scope: VAULT_SCOPE },
  { label: 'Reader of the vault', role: 'Reader', scope: VAULT_SCOPE },
  { label: 'no role' },
  { label: 'Backup Contributor of another vault', role: 'Backup Contributor', scope: OTHER_VAULT_SCOPE },
  { label: 'Backup Contributor inherited from the resource group', role: 'Backup Contributor', scope: RG_SCOPE },
];

interface Operation {
  operationId: string;
  method: string;
  path: string;
  action: string;
  access: string;
}

/** A value for each route parameter: everything points into VAULT (or names something harmless). */
function parameterValue(name: string): string {
  const values: Record<string, string> = {
    ...vaultRouteParameters(SUB, RG, VAULT, VM),
    recoveryPointId: '1234567890',
    resourceProviderNamespace: 'Microsoft.Compute',
    accountName: 'devstoreaccount1',
    vmName: VM,
    aliasName: 'alias-acl',
    resourceGuardProxyName: 'VaultProxy',
    roleDefinitionId: ROLE_IDS.reader,
  };
  return values[name] ?? (generated[name] ??= randomUUID());
}
/** Names the routes do not find (role assignments, jobs, operations): one GUID per parameter name. */
const generated: Record<string, string> = {};

function segmentsOf(scope: string): string[] {
  return scope
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => segment.toLowerCase());
}

/** Whether an assignment at `outer` applies at `inner` (ARM: the same scope or below it). */
function covers(outer: string, inner: string): boolean {
  const a = segmentsOf(outer);
  const b = segmentsOf(inner);
  return a.length <= b.length && a.every((segment, i) => segment === b[i]);
}

/** What the matrix and the assignment's scope say the subject may do with the operation at `scope`. */
function expectedAllowed(subject: Subject, operation: Operation, scope: string): boolean {
  if (operation.access === 'signedIn' || operation.access === 'filtered') return true;
  if (subject.role === undefined || subject.scope === undefined) return false;
  if (operation.access === 'anyRole') return covers(subject.scope, scope) || covers(scope, subject.scope);
  return covers(subject.scope, scope) && ROLE_MATRIX[operation.operationId].includes(subject.role);
}

describe('access control: roles, scopes and the side doors (host binary)', () => {
  let host: HostProcess;
  const api = vaultApi(() => host, { subscriptionId: SUB, resourceGroup: RG, storage: () => azurite().connectionString });
  const principals = new Map<string, TestPrincipal>();
  let operations: Operation[] = [];

  const as = async (label: string) => `Bearer ${await principals.get(label)!.tokens()}`;
  const snapshot = () => storageSnapshot(azurite().connectionString);

  async function call(operation: Operation, authorization: string): Promise<{ url: string; scope: string; response: HttpResult<ErrorEnvelope> }> {
    const path = operation.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_match, name: string) => encodeURIComponent(parameterValue(name)));
    const scope = decodeURIComponent(path);
    const url = `${host.origin}${path}?${API}`;
    const response = await http<ErrorEnvelope>(url, { method: operation.method, headers: { authorization }, signIn: false });
    return { url, scope, response };
  }

  beforeAll(async () => {
    const stamp = `acl${Date.now().toString(36)}`;
    host = await startHostProcess({
      app: REPO_ROOT,
      storage: azurite().connectionString,
      hubName: `Acl${Date.now().toString(36)}`,
      env: { ...isolatedAppSettings(stamp), ...subscriptionEnv(SUB) },
      extraArgs: ['--fake-clock', '2026-05-04T10:00:00Z'],
    });
    // The local administrator (Owner by KLUIS_OWNER_PRINCIPAL_IDS) sets the stage.
    await api.createResourceGroup();
    await api.createResourceGroup('rg-vms');
    expect((await api.createVault(VAULT)).status).toBe(201);
    expect((await api.createVault(OTHER_VAULT)).status).toBe(201);
    for (const vm of [VM, GONE_VM]) {
      await api.createVm(vm, { osType: 'Linux', osDisk: { sizeBytes: 1024 * 1024 }, initialData: { percent: 5, seed: vm } });
    }
    expect((await api.settle(await api.arm(`${api.vaultUrl(VAULT)}/backupFabrics/Azure/refreshContainers`, { method: 'POST' }))).status).toBe('Succeeded');
    for (const vm of [VM, GONE_VM]) expect((await api.enable(VAULT, vm)).status).toBeLessThan(300);
    // gone1 is stopped with delete: soft delete keeps it (and would keep its points) for 14 days.
    expect((await api.arm(api.itemUrl(VAULT, GONE_VM), { method: 'DELETE' })).status).toBeLessThan(300);

    for (const [i, subject] of SUBJECTS.entries()) {
      const grants = subject.role === undefined ? [] : [{ role: ROLE_KEYS[subject.role], scope: subject.scope! }];
      principals.set(subject.label, await principalWithRoles(host, `acl-${i}`, grants));
    }
    const document = await http<{ paths: Record<string, Record<string, { operationId: string; 'x-kluis-action': string; 'x-kluis-access': string }>> }>(`${host.origin}/api/openapi.json`);
    operations = Object.entries(document.body.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, entry]) => ({
        operationId: entry.operationId,
        method: method.toUpperCase(),
        path,
        action: entry['x-kluis-action'].replace('{resourceProviderNamespace}', parameterValue('resourceProviderNamespace')),
        access: entry['x-kluis-access'],
      })),
    );
  }, 180_000);

  afterAll(async () => {
    await host?.stop();
  });

  it('serves every operation of the matrix, and the matrix names every operation it serves', () => {
    expect(operations.map((operation) => operation.operationId).sort()).toEqual(Object.keys(ROLE_MATRIX).sort());
  });

  it('refuses each subject exactly where its role and scope do not allow the route, naming the action and scope, and changes nothing', async () => {
    const before = await snapshot();
    const refusedAs: string[] = [];
    for (const subject of SUBJECTS) {
      const authorization = await as(subject.label);
      for (const operation of operations) {
        const scope = decodeURIComponent(operation.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_match, name: string) => encodeURIComponent(parameterValue(name))));
        if (expectedAllowed(subject, operation, scope)) continue;
        const { response } = await call(operation, authorization);
        const what = `${subject.label} → ${operation.operationId}`;
        expect([what, response.status]).toEqual([what, 403]);
        if (operation.method !== 'HEAD') {
          expect([what, response.body.error.code]).toEqual([what, 'AuthorizationFailed']);
          expect(response.body.error.message).toContain(`with object id '${principals.get(subject.label)!.objectId}' does not have authorization to perform action '${operation.action}' over scope '${scope}'`);
        }
        refusedAs.push(what);
      }
    }
    // Every subject is refused something (the subscription's Owner: the root scope); nothing stored changed.
    expect(new Set(refusedAs.map((what) => what.split(' → ')[0])).size).toBe(SUBJECTS.length);
    expect(await snapshot()).toEqual(before);
  }, 300_000);

  describe("the attacks of the issue's Why, each refused with nothing changed", () => {
    const V = `?${API}`;
    const item = () => api.itemUrl(VAULT, VM).replace('/api/', '/');
    const forged = () => `Bearer ${unsignedToken(appClaims({ issuer: host.identity!.issuer, tenantId: host.identity!.tenantId }, { oid: '00000000-0000-0000-0000-00000000bac0', sub: '00000000-0000-0000-0000-00000000bac0' }))}`;
    /** What an intruder tries first: read every vault, job and point; start a backup and a restore. */
    const firstTries = () => [
      ['GET', `${host.origin}${SUB_SCOPE}/providers/Microsoft.RecoveryServices/vaults${V}`],
      ['GET', `${host.origin}${VAULT_SCOPE}/backupJobs${V}`],
      ['GET', `${item()}/recoveryPoints${V}`],
      ['POST', `${item()}/backup${V}`],
      ['POST', `${item()}/recoveryPoints/1234567890/restore${V}`],
      ['DELETE', `${item()}${V}`],
    ];

    async function unchangedAfter(attack: () => Promise<void>): Promise<void> {
      const before = await snapshot();
      await attack();
      expect(await snapshot()).toEqual(before);
    }

    it('without any credentials: 401 for every read and write', async () => {
      await unchangedAfter(async () => {
        for (const [method, url] of firstTries()) expect([method, url, (await http(url, { method, signIn: false, body: method === 'POST' ? {} : undefined })).status]).toEqual([method, url, 401]);
      });
    });

    it('with a forged, unsigned token naming the backup identity: 401', async () => {
      await unchangedAfter(async () => {
        for (const [method, url] of firstTries()) {
          const response = await http<ErrorEnvelope>(url, { method, headers: { authorization: forged() }, signIn: false, body: method === 'POST' ? {} : undefined });
          expect([method, url, response.status, response.body.error.code]).toEqual([method, url, 401, 'InvalidAuthenticationToken']);
        }
      });
    });

    it('soft delete off, then delete the item: a Backup Operator may do neither; a Backup Contributor cannot turn it off while it holds items', async () => {
      const config = `${host.origin}${VAULT_SCOPE}/backupconfig/vaultconfig${V}`;
      const off = { properties: { softDeleteFeatureState: 'Disabled' } };
      await unchangedAfter(async () => {
        const operator = await as('Backup Operator of the vault');
        for (const method of ['PATCH', 'PUT']) {
          const refused = await http<ErrorEnvelope>(config, { method, headers: { authorization: operator }, signIn: false, body: off });
          expect([refused.status, refused.body.error.code]).toEqual([403, 'AuthorizationFailed']);
        }
        const deleted = await http<ErrorEnvelope>(`${item()}${V}`, { method: 'DELETE', headers: { authorization: operator }, signIn: false });
        expect([deleted.status, deleted.body.error.message]).toEqual([403, expect.stringContaining("'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/delete'")]);

        const contributor = await as('Backup Contributor of the vault');
        const held = await http<ErrorEnvelope>(config, { method: 'PATCH', headers: { authorization: contributor }, signIn: false, body: off });
        expect([held.status, held.body.error.code, held.body.error.message]).toEqual([409, 'BMSUserErrorDisablingSoftDeleteStateNotAllowed', expect.stringContaining(`'${GONE_VM}'`)]);
        const byVault = await http<ErrorEnvelope>(`${host.origin}${VAULT_SCOPE}${V}`, {
          method: 'PUT',
          headers: { authorization: contributor },
          signIn: false,
          body: { location: 'westeurope', properties: { securitySettings: { softDeleteSettings: { softDeleteState: 'Disabled' } } } },
        });
        expect([byVault.status, byVault.body.error.code]).toEqual([409, 'BMSUserErrorDisablingSoftDeleteStateNotAllowed']);
      });
    });

    it('the raw engine API (forge a point, restore into any container): the host key only, never a bearer token', async () => {
      await unchangedAfter(async () => {
        const owner = await as('Owner of the subscription');
        const tries: Array<[string, string, unknown]> = [
          ['POST', '/api/backups', { itemId: 'item-web1', vm: { id: 'other', disks: [] }, consistency: 'CrashConsistent' }],
          ['POST', '/api/restores', { itemId: 'item-web1', recoveryPointId: '1', targetContainer: 'anything' }],
          ['GET', '/api/items/item-web1/recoveryPoints', undefined],
        ];
        for (const [method, path, body] of tries) {
          for (const headers of [{}, { authorization: owner }] as Array<Record<string, string>>) {
            const response = await http(`${host.origin}${path}`, { method, headers, signIn: false, body });
            expect([method, path, Object.keys(headers).length, response.status]).toEqual([method, path, Object.keys(headers).length, 401]);
          }
        }
      });
    });

    it("the fabric (any VM's disks) and the Key Vault emulator's admin API: the host key or an Owner, nobody else", async () => {
      const keyVaultAdmin = String((await host.waitForLog((record) => typeof record.keyVaultAdminUrl === 'string')).keyVaultAdminUrl);
      await unchangedAfter(async () => {
        const contributor = await as('Backup Contributor inherited from the resource group');
        const write = `${host.origin}/fabric/subscriptions/${SUB}/resourceGroups/rg-vms/virtualMachines/${VM}/writeData`;
        expect((await http(write, { method: 'POST', signIn: false, body: { disk: 0, percent: 50, seed: 'intruder' } })).status).toBe(401);
        expect((await http(write, { method: 'POST', headers: { authorization: contributor }, signIn: false, body: { disk: 0, percent: 50, seed: 'intruder' } })).status).toBe(403);
        const grant = `${keyVaultAdmin}/vaults/kv1/accessPolicies`;
        const policy = { objectId: principals.get('no role')!.objectId, permissions: { keys: ['all'], secrets: ['all'], certificates: [] } };
        expect((await http(grant, { method: 'PUT', signIn: false, body: policy })).status).toBe(401);
        expect((await http(grant, { method: 'PUT', headers: { authorization: contributor }, signIn: false, body: policy })).status).toBe(403);
      });
    });

    it('records who did what: writes and refused attempts in the activity log, readable by a Reader of the subscription only', async () => {
      const log = `${host.origin}${SUB_SCOPE}/providers/Microsoft.Insights/eventtypes/management/values${V}&$filter=${encodeURIComponent("eventTimestamp ge '2026-05-01T00:00:00Z'")}`;
      const events = await http<{ value: Array<{ caller: string; claims: { oid: string }; authorization: { action: string; scope: string }; status: { value: string }; httpRequest: { method: string } }> }>(log);
      expect(events.status).toBe(200);
      const operator = principals.get('Backup Operator of the vault')!.objectId;
      expect(events.body.value).toContainEqual(
        expect.objectContaining({
          claims: expect.objectContaining({ oid: operator }),
          authorization: { action: 'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/delete', scope: decodeURIComponent(item().slice(host.origin.length)) },
          status: expect.objectContaining({ value: 'Failed' }),
        }),
      );
      expect(JSON.stringify(events.body)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
      const refused = await http<ErrorEnvelope>(log, { headers: { authorization: await as('Backup Operator of the vault') }, signIn: false });
      expect([refused.status, refused.body.error.code]).toEqual([403, 'AuthorizationFailed']);
    });

    it('lists show only what the caller may read', async () => {
      const vaults = `${host.origin}${SUB_SCOPE}/providers/Microsoft.RecoveryServices/vaults${V}`;
      const names = async (label: string) => (await http<{ value: Array<{ name: string }> }>(vaults, { headers: { authorization: await as(label) }, signIn: false })).body.value.map((vault) => vault.name).sort();
      expect(await names('Owner of the subscription')).toEqual([OTHER_VAULT, VAULT].sort());
      expect(await names('Backup Reader of the vault')).toEqual([VAULT]);
      expect(await names('Backup Contributor of another vault')).toEqual([OTHER_VAULT]);
      expect(await names('Backup Contributor inherited from the resource group')).toEqual([OTHER_VAULT, VAULT].sort());
      expect(await names('no role')).toEqual([]);
      const subscriptions = async (label: string) => (await http<{ value: Array<{ subscriptionId: string }> }>(`${host.origin}/subscriptions?api-version=2022-12-01`, { headers: { authorization: await as(label) }, signIn: false })).body.value.map((s) => s.subscriptionId);
      expect(await subscriptions('Backup Reader of the vault')).toEqual([SUB]);
      expect(await subscriptions('no role')).toEqual([]);
    });
  });

  it("an immutable vault over the API: Locked cannot be undone, retention cannot be shortened (Azure's codes)", async () => {
    const vault = `${host.origin}${OTHER_VAULT_SCOPE}?${API}`;
    const put = (state: string) => http<ErrorEnvelope & { properties: { securitySettings: { immutabilitySettings: { state: string } } } }>(vault, { method: 'PUT', body: { location: 'westeurope', properties: { securitySettings: { immutabilitySettings: { state } } } } });
    expect((await put('Unlocked')).body.properties.securitySettings.immutabilitySettings.state).toBe('Unlocked');
    expect((await put('Locked')).body.properties.securitySettings.immutabilitySettings.state).toBe('Locked');
    for (const state of ['Unlocked', 'Disabled']) {
      const refused = await put(state);
      expect([state, refused.status, refused.body.error.code]).toEqual([state, 400, 'UserErrorUnsupportedVaultImmutabilityStateChange']);
    }
    const policy = `${host.origin}${OTHER_VAULT_SCOPE}/backupPolicies/DefaultPolicy?${API}`;
    const current = await http<{ properties: Record<string, unknown> & { retentionPolicy: { dailySchedule: { retentionDuration: { count: number } } } } }>(policy);
    const shorter = structuredClone(current.body.properties);
    shorter.retentionPolicy.dailySchedule.retentionDuration.count = 7;
    const refused = await http<ErrorEnvelope>(policy, { method: 'PUT', body: { properties: shorter } });
    expect([refused.status, refused.body.error.code]).toEqual([409, 'KluisImmutableVaultOperationBlocked']);
    expect((await http<typeof current.body>(policy)).body.properties.retentionPolicy.dailySchedule.retentionDuration.count).toBe(current.body.properties.retentionPolicy.dailySchedule.retentionDuration.count);
  });

  it('gives no caller a management URL with the Durable system key, and the job names who started it (a backup by a Backup Operator)', async () => {
    const started = await http(`${api.itemUrl(VAULT, VM).replace('/api/', '/')}/backup?${API}`, {
      method: 'POST',
      headers: { authorization: await as('Backup Operator of the vault') },
      signIn: false,
      body: { properties: { objectType: 'IaasVMBackupRequest' } },
    });
    expect(started.status).toBe(202);
    const everything = `${[...started.headers.entries()].join('\n')}\n${started.text}`;
    expect(everything).not.toMatch(/systemKey|[?&]code=|runtime\/webhooks/i);
    expect(everything).not.toContain(host.secrets.masterKey);

    // Who did it: the job names the principal that started it.
    const operator = { authorization: await as('Backup Operator of the vault') };
    const operation = await api.until(
      'the backup operation',
      () => http<{ status: string; properties?: { jobId?: string } }>(started.headers.get('azure-asyncoperation')!, { headers: operator, signIn: false }),
      (body) => body.properties?.jobId !== undefined,
    );
    const job = await http<{ properties: { extendedInfo: { propertyBag: Record<string, string> } } }>(`${host.origin}${VAULT_SCOPE}/backupJobs/${operation.properties!.jobId!}?${API}`, { headers: operator, signIn: false });
    expect(job.body.properties.extendedInfo.propertyBag).toMatchObject({ 'Initiated By': principals.get('Backup Operator of the vault')!.objectId, 'Initiator Object Id': principals.get('Backup Operator of the vault')!.objectId });
  });

  it('lets each subject through exactly where its role and scope allow the route (deletes last)', async () => {
    const ordered = [...operations].sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
    for (const subject of SUBJECTS) {
      const authorization = await as(subject.label);
      for (const operation of ordered) {
        const scope = decodeURIComponent(operation.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_match, name: string) => encodeURIComponent(parameterValue(name))));
        if (!expectedAllowed(subject, operation, scope)) continue;
        const { response } = await call(operation, authorization);
        const what = `${subject.label} → ${operation.operationId}`;
        expect([what, response.status === 401 || (response.status === 403 && response.body.error?.code === 'AuthorizationFailed' && response.body.error.message.includes(`'${operation.action}'`))]).toEqual([what, false]);
      }
    }
  }, 300_000);

  it('wrote no token, secret or key into any log line of the whole run (refused requests included)', () => {
    const lines = [...host.stdoutLines(), ...host.stderrLines()];
    expect(lines.length).toBeGreaterThan(100);
    expect(leaksIn(lines, knownSecretsOf(host))).toEqual([]);
  });
});
