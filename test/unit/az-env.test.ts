/**
 * The Azure CLI environment file: what it exports, that it registers the cloud once and selects it,
 * that it is private (it holds the MSI secret), and that `kluis az-env` writes it again from the saved info.
 * The file is sourced by a real bash with `az` replaced by a function that records its arguments.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { azCloudRegisterArgs, azEnvLines, azEnvScript, main, shellQuote, writeAzEnv, type AzEnvInfo } from '../../emulator/az-env';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kluis-az-env-'));
  dirs.push(dir);
  return dir;
}

function info(dataDir: string): AzEnvInfo {
  return {
    armUrl: 'https://127.0.0.1:7443',
    caFile: path.join(dataDir, 'tls', 'ca.pem'),
    msiEndpoint: 'http://127.0.0.1:7444/msi/token',
    msiSecret: "s3cr3t'with quote",
    loginEndpoint: 'https://127.0.0.1:7445/adfs',
    configDir: path.join(dataDir, 'az', 'config'),
  };
}

/** Sources the script in bash with a recording `az`, returns the recorded calls and the exported env. */
function source(script: string, cloudExists: boolean): { calls: string[]; env: Record<string, string> } {
  const program = [
    `az() { printf '%s\\n' "$*" >> "$AZ_LOG"; if [ "$1 $2" = "cloud show" ]; then return ${cloudExists ? 0 : 1}; fi; }`,
    `source ${shellQuote(script)}`,
    'env -0',
  ].join('\n');
  const log = path.join(tempDir(), 'az.log');
  const output = execFileSync('bash', ['-c', program], { env: { PATH: process.env.PATH, AZ_LOG: log }, encoding: 'utf8' });
  const env = Object.fromEntries(
    output
      .split('\0')
      .filter((entry) => entry.includes('='))
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
  let calls: string[];
  try {
    calls = readFileSync(log, 'utf8').trim().split('\n');
  } catch {
    calls = [];
  }
  return { calls, env };
}

describe('the Azure CLI environment file', () => {
  it('exports the config folder, CA, managed identity and closed proxies, then registers and selects the cloud', () => {
    const data = tempDir();
    const files = writeAzEnv(data, info(data));
    expect(statSync(files.script).mode & 0o777).toBe(0o600);
    expect(statSync(files.info).mode & 0o777).toBe(0o600);
    const { calls, env } = source(files.script, false);
    expect(env).toMatchObject({
      AZURE_CONFIG_DIR: path.join(data, 'az', 'config'),
      REQUESTS_CA_BUNDLE: path.join(data, 'tls', 'ca.pem'),
      MSI_ENDPOINT: 'http://127.0.0.1:7444/msi/token',
      MSI_SECRET: "s3cr3t'with quote",
      APPSETTING_WEBSITE_SITE_NAME: 'kluis',
      HTTP_PROXY: 'http://127.0.0.1:9',
      HTTPS_PROXY: 'http://127.0.0.1:9',
      NO_PROXY: '127.0.0.1,localhost',
      AZURE_CORE_COLLECT_TELEMETRY: 'no',
    });
    expect(calls).toEqual([
      'cloud show -n Kluis',
      'cloud register -n Kluis --endpoint-resource-manager https://127.0.0.1:7443/ --endpoint-active-directory https://127.0.0.1:7445/adfs --endpoint-active-directory-resource-id https://management.core.windows.net/ --endpoint-active-directory-graph-resource-id https://graph.windows.net/',
      'cloud set -n Kluis',
    ]);
    expect(source(files.script, true).calls).toEqual(['cloud show -n Kluis', 'cloud set -n Kluis']);
  });

  it('prints the two lines a user needs, never the secret', () => {
    const data = tempDir();
    const lines = azEnvLines(writeAzEnv(data, info(data)).script);
    expect(lines).toEqual([`source ${path.join(data, 'az', 'env.sh')}`, 'az login --identity']);
    expect(lines.join('\n')).not.toContain('s3cr3t');
    expect(azEnvScript(info(data))).toContain("MSI_SECRET='s3cr3t'\\''with quote'");
    expect(azCloudRegisterArgs(info(data))).toContain('https://127.0.0.1:7443/');
  });

  it('writes the file again from the saved info with `kluis az-env`, and says what is missing otherwise', async () => {
    const data = tempDir();
    writeAzEnv(data, info(data));
    const out: string[] = [];
    const target = path.join(tempDir(), 'kluis-az.sh');
    await main(['node', 'kluis', 'az-env', '--data-dir', data, '--out', target], (line) => out.push(line));
    expect(out[0]).toBe(`Wrote ${target}. In a second terminal:`);
    expect(readFileSync(target, 'utf8')).toBe(azEnvScript(info(data)));
    await expect(main(['node', 'kluis', 'az-env', '--data-dir', tempDir()], () => undefined)).rejects.toThrow(/start Kluis with `npm start` first/);
  });
});
