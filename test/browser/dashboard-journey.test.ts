/**
 * The dashboard in real Chromium against the app on the embedded host (issue 14 "Tests"): the demo of
 * `npm start` (its four VMs protected and backed up, over the API) → sign in at the local identity
 * endpoint → the vault overview shows the demo's numbers → protect a new VM → back up now → watch the
 * job complete → restore its disks → the restore job completes; then the other pages (jobs filtered,
 * policies, a retention change previewed, properties, create vault with its name rules), the phone
 * width, and the keyboard; last, a Backup Reader sees the same pages with every action disabled and
 * the reason shown. Before the Reader, a backup server and a MARS machine register with the vault and the
 * Backup servers view shows them (the server's source, its point on disk and in the vault, its jobs, and the
 * jobs list filtered to backup servers); the Reader sees that view too. axe-core checks every page (no serious or critical violation); the main
 * pages are saved as screenshots in dist/screenshots.
 *
 * Steps depend on each other (one browser, one host), in order. Runs the app built into dist/; part of
 * `npm test` (`npm run test:browser` runs it alone). Needs Debian's chromium (`apt-get install -y chromium`).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { ArmClient } from '../../emulator/demo/arm-client';
import { runProductTour } from '../../emulator/demo/product-tour';
import { SAMPLE_VAULT } from '../../emulator/demo/sample-fabric';
import { useAzurite } from '../support/azurite';
import { describeViolations, launchChromium, screenshot, seriousAccessibilityViolations, type RunningBrowser } from '../support/browser';
import { http, REPO_ROOT, startHostProcess, type HostProcess } from '../support/host-process';
import { ROLE_IDS } from '../../lib/domain/authorization/role-definitions';
import { isolatedAppSettings, vaultApi } from '../support/vault-api';
import { downloadVaultCredentials } from '../../emulator/backup-server/vault-credentials-download';
import { registeredDirectMachine, registeredServerWithOnePass } from '../support/backup-server-machines';

const APP = process.env.KLUIS_E2E_APP ? path.resolve(process.env.KLUIS_E2E_APP) : REPO_ROOT;
const NEW_VM = 'web-new01';
const READER = 'Backup Reader Ada';
const SERVER = 'mabs01.contoso.local';
const MARS_MACHINE = 'pc-ada';
const MIB = 1024 * 1024;

const azurite = useAzurite();
// A step may watch a job for up to two minutes on a loaded machine.
jest.setTimeout(180_000);

describe('the dashboard in Chromium: the demo, protect, back up, restore', () => {
  let host: HostProcess;
  let chromium: RunningBrowser;
  let page: Page;
  let client: ArmClient;
  const api = vaultApi(() => host, { subscriptionId: SAMPLE_VAULT.subscriptionId, resourceGroup: SAMPLE_VAULT.resourceGroup, vmResourceGroup: 'kluis-vms', storage: () => azurite().connectionString });
  const pageErrors: string[] = [];

  /** No serious or critical accessibility violation on the page as it is now. */
  async function expectAccessible(name: string): Promise<void> {
    const violations = await seriousAccessibilityViolations(page);
    if (violations.length > 0) throw new Error(`axe-core on ${name}:\n${describeViolations(violations)}`);
  }

  const vaultPath = `/dashboard/vaults/${SAMPLE_VAULT.subscriptionId}/${SAMPLE_VAULT.resourceGroup}/${SAMPLE_VAULT.vaultName}`;

  beforeAll(async () => {
    const stamp = `b${Date.now().toString(36)}`;
    host = await startHostProcess({ app: APP, storage: azurite().connectionString, hubName: `Browser${stamp}`, env: isolatedAppSettings(stamp) });
    // The demo npm start gives, through the API as the tour drives it.
    client = new ArmClient(host.origin, { tokenSource: async () => ({ token: await host.accessToken(), expiresOnInMs: Date.now() + 30 * 60_000 }) });
    const tour = await runProductTour(client, () => undefined, { jobTimeoutInMs: 120_000 });
    expect(tour.failures).toBe(0);
    await api.createVm(NEW_VM, { osType: 'Linux', osDisk: { sizeBytes: 16 * MIB }, initialData: { percent: 20, seed: NEW_VM } });
    chromium = await launchChromium();
    page = await chromium.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 240_000);

  afterAll(async () => {
    await chromium?.close();
    await host?.stop();
  });

  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  it('signs in at the local identity endpoint and lists the vaults', async () => {
    await page.goto(`${host.origin}/`);
    await expect(page.getByRole('button', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    await expectAccessible('the sign-in page');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: /Kluis local user/ }).click();
    await page.getByRole('link', { name: SAMPLE_VAULT.vaultName }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/dashboard/');
    await expect(page.getByTestId('signed-in-user').textContent()).resolves.toContain('user@kluis.local');
    await expectAccessible('the vault list');
    await screenshot(page, 'vaults');
  });

  it("shows the demo's numbers on the vault overview", async () => {
    await page.getByRole('link', { name: SAMPLE_VAULT.vaultName }).click();
    const items = page.getByTestId('tile-items');
    await items.waitFor();
    await expect(page.getByTestId('items-Healthy').textContent()).resolves.toBe('Healthy4');
    for (const status of ['Warning', 'IRPending', 'Failed', 'SoftDeleted']) await expect(page.getByTestId(`items-${status}`).textContent()).resolves.toMatch(/0$/);
    // Four ConfigureBackup jobs and four backups, all in the last 24 hours.
    await expect(page.getByTestId('jobs-Completed').textContent()).resolves.toBe('Completed8');
    await expect(page.getByTestId('jobs-Failed').textContent()).resolves.toBe('Failed0');
    const vaultBytes = await page.getByTestId('storage-vault').textContent();
    expect(vaultBytes).toMatch(/^\d+(\.\d)? (KiB|MiB)$/);
    expect(await page.getByRole('table', { name: 'Next scheduled backups' }).getByRole('row').count()).toBe(5);
    await expectAccessible('the vault overview');
    await screenshot(page, 'overview');
  });

  it('protects a new VM from the discovery list', async () => {
    await page.getByRole('link', { name: 'Protect VMs' }).click();
    const row = page.getByTestId('protectable-vm').filter({ hasText: NEW_VM });
    await row.waitFor({ timeout: 30_000 });
    await expectAccessible('protect VMs');
    await row.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Enable backup (1)' }).click();
    await page.getByText(`Protection enabled: ${NEW_VM}`).waitFor({ timeout: 60_000 });
    await screenshot(page, 'protect');
  });

  it('backs the VM up now and follows the job to its end', async () => {
    await page.getByRole('link', { name: 'Backup items' }).click();
    await page.getByRole('link', { name: NEW_VM }).click();
    await page.getByRole('button', { name: 'Back up now' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Retain backup till (UTC)').waitFor();
    await expectAccessible('the back-up-now dialog');
    await dialog.getByRole('button', { name: 'Back up' }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]+$/);
    await page.getByRole('heading', { level: 1, name: `Backup · ${NEW_VM}` }).waitFor();
    await page.getByTestId('job-status').getByText('Completed').waitFor({ timeout: 120_000 });
    expect(await page.getByRole('table', { name: 'Tasks' }).getByText('Transfer data to vault').isVisible()).toBe(true);
    await expectAccessible('a job');
    await screenshot(page, 'backup-job');
  });

  it('shows the new recovery point on the item’s timeline and restores its disks', async () => {
    await page.goBack();
    await page.getByRole('link', { name: 'Backup items' }).click();
    await page.getByRole('link', { name: NEW_VM }).click();
    const point = page.getByTestId('recovery-point').first();
    await point.waitFor({ timeout: 30_000 });
    // Kept until the end of the day the dialog offered by default (30 days ahead, UTC).
    const retainUntilDay = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    await expect(point.textContent()).resolves.toMatch(new RegExp(`File-system consistent.*Snapshot Valid.*Vault Valid.*${retainUntilDay} 23:59 UTC`));
    await expectAccessible('an item');
    await screenshot(page, 'item');
    await point.getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('radio', { name: /Restore disks/ }).waitFor();
    await expect(page.getByLabel('Target storage account').inputValue()).resolves.toMatch(/devstoreaccount1$/);
    await expectAccessible('the restore wizard');
    await screenshot(page, 'restore');
    await page.getByRole('button', { name: 'Restore', exact: true }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]+$/);
    await page.getByRole('heading', { level: 1, name: `Restore · ${NEW_VM}` }).waitFor();
    await page.getByTestId('job-status').getByText('Completed').waitFor({ timeout: 120_000 });
    await expect(page.getByRole('table', { name: 'Job details' }).textContent()).resolves.toContain('devstoreaccount1');
  });

  it('filters the jobs list from the URL', async () => {
    await page.goto(`${host.origin}${vaultPath}/jobs?operation=Restore&range=24h`);
    await page.getByTestId('job-row').first().waitFor();
    expect(await page.getByTestId('job-row').count()).toBe(1);
    await page.getByLabel('Operation').selectOption('Backup');
    await page.waitForURL(/operation=Backup/);
    expect(await page.getByTestId('job-row').count()).toBe(5);
    await expectAccessible('the jobs list');
    await screenshot(page, 'jobs');
  });

  it('previews what a shorter retention would do to existing points, and shows the API’s refusal at its field', async () => {
    await page.getByRole('link', { name: 'Backup policies' }).click();
    await page.getByRole('link', { name: 'DefaultPolicy' }).click();
    const daily = page.getByLabel('Daily backup point: keep (days, 7–9999)');
    await daily.waitFor();
    await daily.fill('7');
    await daily.press('Tab');
    await page.getByTestId('preview-summary').waitFor();
    expect(await page.getByTestId('preview-row').count()).toBeGreaterThan(0);
    await expectAccessible('a policy');
    await screenshot(page, 'policy');
    await daily.fill('3');
    await daily.press('Tab');
    await page.getByRole('button', { name: 'Save' }).click();
    // The API's refusal (target properties.retentionPolicy.dailySchedule.retentionDuration.count) at the daily field.
    await daily.and(page.locator('[aria-invalid="true"]')).waitFor();
    const messageId = String(await daily.getAttribute('aria-describedby')).split(' ')[0];
    await expect(page.locator(`[id="${messageId}"]`).textContent()).resolves.toContain('Daily retention keeps points 7–9999 days, not 3.');
    await expectAccessible('a policy with an error');
  });

  it('shows the vault properties with the redundancy locked, and the create-vault rules inline', async () => {
    await page.getByRole('link', { name: 'Properties' }).click();
    await page.getByText('Locked', { exact: true }).waitFor();
    await expectAccessible('the vault properties');
    await page.goto(`${host.origin}/dashboard/vaults/new`);
    await page.getByLabel('Vault name').fill('1bad_name');
    await page.getByText(/must start with a letter/).waitFor();
    await expectAccessible('create vault');
  });

  it('is readable at phone width, without sideways scrolling of the page', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${host.origin}${vaultPath}`);
    await page.getByTestId('tile-items').waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await expectAccessible('the overview at phone width');
    await screenshot(page, 'overview-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('works from the keyboard: Tab reaches the vault navigation, Enter follows it', async () => {
    await page.goto(`${host.origin}${vaultPath}`);
    await page.getByTestId('tile-items').waitFor();
    let focused = '';
    for (let i = 0; i < 20 && focused !== 'Backup jobs'; i += 1) {
      await page.keyboard.press('Tab');
      focused = String(await page.evaluate('document.activeElement?.textContent ?? ""'));
    }
    expect(focused).toBe('Backup jobs');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/jobs$/);
  });

  it('shows a registered backup server and a MARS machine, read-only: sources, points on disk and in the vault, jobs', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'kluis-dash-servers-'));
    try {
      const credentials = (await downloadVaultCredentials(client, SAMPLE_VAULT)).text;
      const [pass] = await Promise.all([registeredServerWithOnePass(credentials, SERVER, path.join(work, 'server')), registeredDirectMachine(credentials, MARS_MACHINE, path.join(work, 'pc'))]);
      expect({ copies: pass.vaultCopies.length, copyError: pass.vaultCopyError, reportError: pass.vaultReportError }).toEqual({ copies: 1, copyError: undefined, reportError: undefined });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    // The page is still the vault's (the keyboard step left it on its jobs): its navigation leads there.
    await page.getByRole('link', { name: 'Backup servers' }).click();
    const rows = page.getByTestId('server-row');
    await rows.nth(1).waitFor();
    expect(await rows.count()).toBe(2);
    await expect(rows.filter({ hasText: SERVER }).textContent()).resolves.toMatch(/Backup server.*UTC.*Connected.*Active.*Running.*1 source/);
    await expect(rows.filter({ hasText: MARS_MACHINE }).textContent()).resolves.toMatch(/MARS agent \(direct\).*Connected.*No items reported/);
    await page.getByText('Read-only here').waitFor();
    await expectAccessible('the backup servers');
    await screenshot(page, 'servers');

    await page.getByRole('link', { name: SERVER }).click();
    await page.getByTestId('server-source').waitFor();
    await expect(page.getByTestId('server-source').textContent()).resolves.toMatch(/\/srv\/notes.*Files.*Protected.*Completed.*UTC1 on disk.*UTC1 in the vault/);
    expect(await page.getByTestId('server-point').count()).toBe(1);
    await expect(page.getByTestId('server-point').textContent()).resolves.toContain('Disk and online');
    expect((await page.getByTestId('server-job').allTextContents()).map((text) => /LocalBackup|VaultCopy/.exec(text)?.[0]).sort()).toEqual(['LocalBackup', 'VaultCopy']);
    expect(await page.locator('button[data-action]').count()).toBe(0);
    await expectAccessible('a backup server');
    await screenshot(page, 'server');

    await page.getByRole('link', { name: 'All its jobs' }).click();
    await page.waitForURL(/type=AzureBackupServer/);
    await page.getByTestId('job-row').first().waitFor();
    expect(await page.getByTestId('job-row').count()).toBe(2);
    await expect(page.getByTestId('job-row').first().textContent()).resolves.toContain(`on ${SERVER}`);
  });

  /** A user of the identity endpoint's directory with one role at one scope, made by the local administrator. */
  async function userWithRole(displayName: string, roleId: string, scope: string): Promise<void> {
    const identity = host.identity;
    if (identity === undefined) throw new Error('the host runs no identity endpoint');
    const admin = { authorization: `Bearer ${await host.accessToken()}` };
    const created = await http<{ objectId: string }>(`${identity.httpUrl}/admin/principals`, { method: 'POST', headers: admin, body: { displayName, kind: 'user' } });
    expect(created.status).toBe(201);
    const roleDefinitionId = `/subscriptions/${SAMPLE_VAULT.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`;
    const assigned = await http(`${host.origin}${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`, {
      method: 'PUT',
      headers: admin,
      body: { properties: { roleDefinitionId, principalId: created.body.objectId, principalType: 'User' } },
    });
    expect(assigned.status).toBe(201);
  }

  /** Every action button on the page is disabled, and each shows why. */
  async function expectEveryActionDisabled(name: string, expectedActions: number): Promise<void> {
    await page.getByTestId('permission-reason').first().waitFor();
    const buttons = page.locator('button[data-action]');
    expect(await buttons.count()).toBeGreaterThanOrEqual(expectedActions);
    for (const button of await buttons.all()) expect(await button.isDisabled()).toBe(true);
    expect(await page.getByTestId('permission-reason').count()).toBe(await buttons.count());
    await expect(page.getByTestId('permission-reason').first().textContent()).resolves.toMatch(/^Your roles on vault kluis-vault do not allow you to .+ \(Microsoft\.RecoveryServices\/.+\)\. .+ grants? it\.$/);
    await expectAccessible(`${name} for a Backup Reader`);
  }

  it('shows a Backup Reader the same pages with every action disabled and the reason', async () => {
    await userWithRole(READER, ROLE_IDS.backupReader, `/subscriptions/${SAMPLE_VAULT.subscriptionId}/resourceGroups/${SAMPLE_VAULT.resourceGroup}/providers/Microsoft.RecoveryServices/vaults/${SAMPLE_VAULT.vaultName}`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: new RegExp(READER) }).click();
    await page.getByTestId('signed-in-user').getByText(READER).waitFor();

    await page.goto(`${host.origin}${vaultPath}`);
    await page.getByTestId('items-Healthy').getByText('5').waitFor();
    await page.getByRole('link', { name: 'Backup items' }).click();
    await page.getByRole('link', { name: NEW_VM }).click();
    await page.getByTestId('recovery-point').first().waitFor();
    // Back up now, Change policy, Stop backup, and Restore on each point.
    await expectEveryActionDisabled('an item', 4);
    await screenshot(page, 'item-backup-reader');
    await page.getByRole('link', { name: 'Protect VMs' }).click();
    await page.getByRole('heading', { level: 2, name: 'Virtual machines you can protect' }).waitFor();
    await expectEveryActionDisabled('protect VMs', 1);
    await page.getByRole('link', { name: 'Backup policies' }).click();
    await page.getByRole('link', { name: 'DefaultPolicy' }).click();
    await page.getByLabel('Daily backup point: keep (days, 7–9999)').waitFor();
    await expectEveryActionDisabled('a policy', 1);
    await page.getByRole('link', { name: 'Properties' }).click();
    await page.getByText('Locked', { exact: true }).waitFor();
    await expectEveryActionDisabled('the vault properties', 1);
    // The servers view is read-only for everyone; a Reader sees it whole.
    await page.getByRole('link', { name: 'Backup servers' }).click();
    await page.getByTestId('server-row').nth(1).waitFor();
    await expect(page.getByTestId('server-row').filter({ hasText: SERVER }).textContent()).resolves.toMatch(/Connected.*Active/);
  });
});
