/**
 * `npm start` (emulator/main.ts) end to end, on its own Azurite in a temp data folder (never the
 * repository's .kluis): the first start with --once creates the fabric, the Key Vault kluis-demo-kv (in
 * the Key Vault emulator it starts and stops on exit) and the vault, encrypts the fourth VM with ADE, protects the four VMs
 * and backs each up with the consistency its state allows (the encrypted VM's points marked ADE), prints
 * the URLs, the jobs, a restore and a restoreKeyAndSecret command, and exits 0. The second start (serving) finds everything again, backs up once
 * more, and the restore command it printed works against the running host; Ctrl+C stops it cleanly.
 *
 * Runs the app built into dist/ (KLUIS_E2E_APP names another built copy of the app).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readLines } from '../../emulator/read-lines';
import { http, REPO_ROOT, sleep } from '../support/host-process';

const APP = process.env.KLUIS_E2E_APP ? path.resolve(process.env.KLUIS_E2E_APP) : REPO_ROOT;
const MAIN = path.join(APP, 'dist', 'emulator', 'main.js');
const VMS: Array<[string, string]> = [
  ['win-app01', 'AppConsistent'],
  ['linux-web01', 'FileSystemConsistent'],
  ['linux-db01', 'CrashConsistent'],
  ['linux-enc01', 'FileSystemConsistent'],
];
const ENCRYPTED_VM = 'linux-enc01';
const RESTORE_CURL = /curl -i -X POST '([^']+\/recoveryPoints\/[^/']+\/restore\?[^']*)' -H "Authorization: Bearer \$TOKEN" -H 'content-type: application\/json' -d '([^']+)'/;
const SIGN_IN = /^ {4}export MSI_ENDPOINT=(http:\/\/127\.0\.0\.1:\d+\/msi\/token) MSI_SECRET=\$\(node -p 'require\(("[^"]+identity\.json")\)\.msiSecret'\)$/m;

interface Demo {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  output(): string;
  waitFor(pattern: RegExp, timeoutInMs: number): Promise<RegExpMatchArray>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((child) => killGroup(child, 'SIGKILL')));

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

function startDemo(args: string[]): Demo {
  // Its own process group, as in a terminal: Ctrl+C reaches npm start and the Azurite it started alike.
  const child = spawn(process.execPath, [MAIN, '--port', '0', ...args], { cwd: APP, env: { ...process.env, PORT: '' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.add(child);
  const lines: string[] = [];
  readLines(child.stdout, (line) => lines.push(line));
  readLines(child.stderr, (line) => lines.push(line));
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  let closed = false;
  void exited.then(() => (closed = true));
  const output = () => lines.join('\n');
  const waitFor = async (pattern: RegExp, timeoutInMs: number) => {
    for (const deadline = Date.now() + timeoutInMs; ; ) {
      const match = output().match(pattern);
      if (match) return match;
      if (closed || Date.now() > deadline) throw new Error(`npm start printed no ${pattern}${closed ? ' before it exited' : ''}:\n${output()}`);
      await sleep(100);
    }
  };
  return { child, lines, exited, output, waitFor };
}

/** A token as the printed sign-in lines get one (the App Service managed identity shape). */
async function signedIn(output: string): Promise<Record<string, string>> {
  const [, msiEndpoint, secretsFile] = output.match(SIGN_IN)!;
  const msiSecret = (JSON.parse(readFileSync(JSON.parse(secretsFile) as string, 'utf8')) as { msiSecret: string }).msiSecret;
  const token = await http<{ access_token: string }>(`${msiEndpoint}?resource=https://management.core.windows.net/&api-version=2017-09-01`, { headers: { secret: msiSecret } });
  expect(token.status).toBe(200);
  return { authorization: `Bearer ${token.body.access_token}` };
}

function expectProductShown(output: string): void {
  const api = /API base URL\s+(http:\/\/127\.0\.0\.1:\d+)$/m.exec(output)?.[1];
  expect(api).toBeDefined();
  expect(output).toMatch(new RegExp(`^ {2}OpenAPI +${api}/api/openapi\\.json$`, 'm'));
  expect(output).toMatch(/^ {2}HTTPS +https:\/\/127\.0\.0\.1:\d+ \(trust \S+\/tls\/ca\.pem\)$/m);
  expect(output).toMatch(/^ {2}Identity +http:\/\/127\.0\.0\.1:\d+ and https:\/\/127\.0\.0\.1:\d+ — local sign-in/m);
  expect(output).toMatch(/^ {2}Host +http:\/\/127\.0\.0\.1:\d+ and https:\/\/127\.0\.0\.1:\d+ — \d+ functions/m);
  expect(output).toMatch(/^ {2}Dashboard +http:\/\/127\.0\.0\.1:\d+\/dashboard\/ — open it in your browser and sign in as Kluis local user \(user@kluis\.local\)/m);
  expect(output).toMatch(new RegExp(`^ {2}Dashboard +${api}/dashboard/ \\(in a browser`, 'm'));
  expect(output).toMatch(SIGN_IN);
  // The secret stays in its file: the output names the file.
  expect(output).not.toMatch(/MSI_SECRET=[0-9A-F]{32}/);
  expect(output).toMatch(/^ {4}TOKEN=\$\(curl -s "\$MSI_ENDPOINT\?resource=https:\/\/management\.core\.windows\.net\/&api-version=2017-09-01" -H "secret: \$MSI_SECRET" \| node -pe /m);
  for (const [vm, consistency] of VMS) {
    expect(output).toMatch(new RegExp(`^  ${vm} +Backup +Completed +[\\d.]+ s +${consistency} `, 'm'));
    expect(output).toMatch(new RegExp(`^  ${vm} +\\d+ +.* UTC +${consistency} +snapshot \\+ vault `, 'm'));
    expect(output).toMatch(new RegExp(`^  ✔ ${vm} +Completed in`, 'm'));
  }
  expect(output).toMatch(/(Take Snapshot|Transfer data to vault) +\d+%/);
  expect(output).toMatch(RESTORE_CURL);
  expect(output).toMatch(new RegExp(`^  ${ENCRYPTED_VM} +\\d+ +.* UTC +FileSystemConsistent +snapshot \\+ vault +ADE `, 'm'));
  expect(output).toMatch(/^ {2}win-app01 +\d+ +.* UTC +AppConsistent +snapshot \+ vault +— /m);
  expect(output).toMatch(/^ {2}Key Vault +http:\/\/127\.0\.0\.1:\d+\/vaults\/kluis-demo-kv /m);
  expect(output).toMatch(
    /curl -i -X POST '[^']+linux-enc01\/recoveryPoints\/\d+\/restoreKeyAndSecret\?api-version=[^']+' -H "Authorization: Bearer \$TOKEN" -H 'content-type: application\/json' -d '\{"properties":\{"keyVaultId":"\/subscriptions\/[^"]+\/providers\/Microsoft\.KeyVault\/vaults\/kluis-demo-kv"\}\}'/,
  );
  expect(output).toMatch(/curl '[^']+\/backupJobs\?api-version=[^']+' -H "Authorization: Bearer \$TOKEN"/);
  expect(output).toMatch(/node \S*kluis-fabric\.js vm write --name linux-web01 --percent 5 --host http:\/\/127\.0\.0\.1:\d+/);
  // Clean output: no stack traces, no failures.
  expect(output).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
  expect(output).not.toContain('✖');
}

describe('npm start shows the product', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kluis-npm-start-'));
  let serverPassphrase: string | undefined;

  afterAll(() => {
    children.forEach((child) => killGroup(child, 'SIGKILL'));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the fabric and the vault, encrypts one VM with ADE, protects and backs up four VMs, prints the jobs and how to restore, and exits with --once', async () => {
    chmodSync(dataDir, 0o755); // as a folder made by hand would be: npm start makes it its owner's only
    const demo = startDemo(['--once', '--data-dir', dataDir]);
    const code = await demo.exited;
    const output = demo.output();
    expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining('Done (--once): stopping.') });
    expect(output).toContain('Azurite started, data in');
    expect(output).toMatch(/^ {2}Key Vault http:\/\/127\.0\.0\.1:\d+ — the Key Vault emulator's admin API \(vaults in .*keyvault\)$/m);
    expect(output).toMatch(/^Key Vault kluis-demo-kv: https:\/\/127\.0\.0\.1:\d+\/? \(emulator\) — created$/m);
    expect(output).toMatch(new RegExp(`^  ${ENCRYPTED_VM}: encrypted now with ADE`, 'm'));
    for (const [vm] of VMS) {
      expect(output).toMatch(new RegExp(`^  ${vm} +\\S+ +(running|stopped) .* created$`, 'm'));
      expect(output).toMatch(new RegExp(`^  ${vm} +protected with DefaultPolicy \\(ConfigureBackup job Completed\\)$`, 'm'));
    }
    expect(output).toMatch(/^ {2}linux-db01 +Linux +stopped +OS 64 MiB \+ data LUN 0 64 MiB \(Premium, managed disks\)/m);
    expect(output).toMatch(new RegExp(`^  ${ENCRYPTED_VM} +Linux +running +OS 16 MiB \\(Standard, unmanaged VHDs\\)`, 'm'));
    expect(output).toContain('Vault kluis-vault: resource group kluis-backup, westeurope — created');
    expect(output).toMatch(/DefaultPolicy: Daily at 19:00 UTC/);
    expectProductShown(output);
    // The backup server next to the vault: credentials downloaded, registered, a sample tree protected, first copies made.
    expect(output).toMatch(/^Backup server kluis-server01\.kluis\.local \(machines outside Azure/m);
    expect(output).toMatch(/^ {2}Vault credentials downloaded: \S+\/server\/kluis-vault_\w{3} \w{3} \d{2} \d{4}\.VaultCredentials \(valid 48 hours\)$/m);
    expect(output).toContain('  Registered with kluis-vault as AzureBackupServerEngine (backupManagementType AzureBackupServer)');
    expect(output).toMatch(/^ {2}Local point [0-9a-f]{32} of SampleFiles: \d+ new bytes/m);
    expect(output).toMatch(/^ {2}Vault copy of [0-9a-f]{32}: \d+ chunks sent/m);
    serverPassphrase = /shown once, never stored[^\n]*\n {4}(\S+)$/m.exec(output)?.[1];
    expect(serverPassphrase).toMatch(/^[A-Z2-9]{8}(-[A-Z2-9]{8}){3}$/);
    expect(readdirSync(path.join(dataDir, 'server', 'repository', 'snapshots'))).toHaveLength(1);
    // The Azure CLI: the two lines to run, and the private file they source (it holds the MSI secret, never printed).
    const azEnv = path.join(dataDir, 'az', 'env.sh');
    expect(output).toMatch(/^Use the Azure CLI \(az backup …\) in a second terminal:\n {2}source \S+\/az\/env\.sh\n {2}az login --identity$/m);
    expect(statSync(azEnv).mode & 0o777).toBe(0o600);
    // The data folder (backups in Azurite's files, keys, the signing key, secrets, logs) is its owner's only.
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    const readableByOthers = readdirSync(dataDir, { recursive: true, withFileTypes: true })
      .map((entry) => path.join(entry.parentPath, entry.name))
      .filter((file) => (lstatSync(file).mode & 0o077) !== 0 && !lstatSync(file).isSymbolicLink());
    expect(readableByOthers).toEqual([]);
    expect(readFileSync(azEnv, 'utf8')).toMatch(/^az cloud show -n Kluis .*\|\| az cloud register -n Kluis --endpoint-resource-manager https:\/\/127\.0\.0\.1:\d+\/ /m);
  }, 90_000);

  it('reuses everything on a second start, backs up again, serves the restore it prints, and stops on Ctrl+C', async () => {
    const demo = startDemo(['--data-dir', dataDir]);
    await demo.waitFor(/^Serving at http:\/\/127\.0\.0\.1:\d+ and https:\/\/127\.0\.0\.1:\d+\./m, 90_000);
    const output = demo.output();
    expect(output).toContain('Vault kluis-vault: resource group kluis-backup, westeurope — exists (kept from an earlier run)');
    expect(output).toMatch(/^Key Vault kluis-demo-kv: https:\/\/127\.0\.0\.1:\d+\/? \(emulator\) — exists \(kept from an earlier run\)$/m);
    expect(output).toMatch(new RegExp(`^  ${ENCRYPTED_VM}: encrypted with ADE \\(BEK \\+ KEK in kluis-demo-kv\\)$`, 'm'));
    for (const [vm] of VMS) {
      expect(output).toMatch(new RegExp(`^  ${vm} +.* exists \\(kept from an earlier run\\)$`, 'm'));
      expect(output).toMatch(new RegExp(`^  ${vm} +already protected \\(Protected, DefaultPolicy\\)$`, 'm'));
    }
    expectProductShown(output);
    expect(output).toMatch(/^ {2}registered with kluis-vault since \S+ \(kept from an earlier run\); 1 protection group\(s\), 1 point\(s\) in the vault$/m);
    expect(output).not.toContain('shown once, never stored');
    // The second backup of each VM: two recovery points listed per VM.
    for (const [vm] of VMS) expect(output.match(new RegExp(`^  ${vm} +\\d{10,} `, 'gm'))).toHaveLength(2);

    // The printed restore command works as printed, with the token the printed sign-in lines get (and not without one).
    const [, url, body] = output.match(RESTORE_CURL)!;
    const unsigned = await http<{ error: { code: string } }>(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect({ status: unsigned.status, code: unsigned.body.error.code }).toEqual({ status: 401, code: 'AuthenticationFailed' });
    const authorization = await signedIn(output);
    const accepted = await http(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...authorization } });
    expect(accepted.status).toBe(202);
    let jobId: string | undefined;
    for (const deadline = Date.now() + 30_000; jobId === undefined; await sleep(200)) {
      const operation = await http<{ status: string; properties?: { jobId: string } }>(accepted.headers.get('azure-asyncoperation')!, { headers: authorization });
      if (operation.body.status === 'Succeeded') jobId = operation.body.properties?.jobId;
      else expect(operation.body.status).toBe('InProgress');
      if (Date.now() > deadline) throw new Error(`restore operation still ${operation.text}`);
    }
    const jobUrl = url.replace(/\/backupFabrics\/.*$/, `/backupJobs/${jobId}?api-version=2023-06-01`);
    for (const deadline = Date.now() + 30_000; ; await sleep(200)) {
      const job = await http<{ properties: { operation: string; status: string } }>(jobUrl, { headers: authorization });
      expect(job.status).toBe(200);
      if (job.body.properties.status !== 'InProgress') {
        expect(job.body.properties).toMatchObject({ operation: 'Restore', status: 'Completed' });
        break;
      }
      if (Date.now() > deadline) throw new Error(`restore job still ${job.text}`);
    }

    killGroup(demo.child, 'SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toMatch(/Stopping …$/m);
    // Azurite has closed (and saved its data) before npm start exits.
    const { blobPort } = JSON.parse(readFileSync(path.join(dataDir, 'azurite-ports.json'), 'utf8')) as { blobPort: number };
    await expect(fetch(`http://127.0.0.1:${blobPort}/`)).rejects.toThrow();
    // So has the Key Vault emulator.
    const keyVaultAdmin = /^ {2}Key Vault (http:\/\/127\.0\.0\.1:\d+) — /m.exec(output)![1];
    await expect(fetch(`${keyVaultAdmin}/vaults`)).rejects.toThrow();
    // And the identity endpoint.
    await expect(fetch(`${output.match(SIGN_IN)![1]}?resource=x`)).rejects.toThrow();
  }, 90_000);

  it('npm start -- --role server runs only the backup server: a wrong passphrase is refused, none needed on the machine that remembers the key', async () => {
    const wrong = spawn(process.execPath, [MAIN, '--role', 'server', '--data-dir', dataDir], { cwd: APP, env: { ...process.env, KLUIS_SERVER_PASSPHRASE: 'a passphrase of sixteen+ characters' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const wrongOutput: string[] = [];
    readLines(wrong.stderr!, (line) => wrongOutput.push(line));
    expect(await new Promise((resolve) => wrong.once('close', resolve))).toBe(1);
    expect(wrongOutput.join('\n')).toContain('KluisPassphraseIncorrect');

    expect(serverPassphrase).toBeDefined(); // shown once by the first start; this machine's key unlocks from now on
    delete process.env.KLUIS_SERVER_PASSPHRASE;
    const server = startDemo(['--role', 'server', '--data-dir', dataDir]);
    await server.waitFor(/^Kluis backup server \(data in \S+server\) on the embedded host: daily local points/m, 30_000);
    await server.waitFor(/^Unlocked with this machine's key: the backup server runs on the embedded host \(health: \S+\/health\)/m, 60_000);
    // The app with KLUIS_ROLE=server: its health route answers, as the demo's registered server.
    const health = /\(health: (\S+)\/health\)/.exec(server.output())![1];
    expect(await (await fetch(`${health}/health`)).json()).toMatchObject({ role: 'server', registered: true, serverName: 'kluis-server01.kluis.local' });
    killGroup(server.child, 'SIGINT');
    await server.exited;
    expect(server.output()).not.toContain('✖');
  }, 120_000);
});
