/**
 * Pointing the Azure CLI at a running Kluis: the cloud registration (`az cloud register -n Kluis …`),
 * the environment `az login --identity` needs (an App Service-style managed identity endpoint), the CA
 * the CLI must trust for Kluis's HTTPS endpoint, a config folder of its own (a user's real `az login`
 * stays untouched) and the proxy settings that keep every call on this machine.
 *
 * One source for both users and tests: `npm start` writes the shell file (`<data>/az/env.sh`) that a
 * user sources in a second terminal, `node bin/kluis.js az-env` writes it again from `<data>/az/env.json`,
 * and the `az` e2e suite runs az with exactly `azEnvironment()` and `azCloudRegisterArgs()`.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { registerCheckCommand } from './check-command';

export const AZ_CLOUD_NAME = 'Kluis';
/** The token audience az asks for: ARM's resource id, which Kluis's token check accepts. */
export const ARM_AUDIENCE = 'https://management.core.windows.net/';
/** az 2.45 requires a graph resource id for a cloud; nothing of Kluis uses it. */
export const GRAPH_RESOURCE_ID = 'https://graph.windows.net/';
/** A closed loopback port: with HTTP(S)_PROXY pointing there, nothing az sends can leave the machine. */
export const CLOSED_PROXY = 'http://127.0.0.1:9';
export const LOOPBACK_NO_PROXY = '127.0.0.1,localhost';
/** What az takes as the App Service site name (it only checks that one is set). */
export const SITE_NAME = 'kluis';

export interface AzEnvInfo {
  /** Kluis's HTTPS root, e.g. https://127.0.0.1:7443/ (az refuses bearer tokens over plain HTTP). */
  armUrl: string;
  /** PEM of the local CA that signed Kluis's certificate (REQUESTS_CA_BUNDLE). */
  caFile: string;
  /** App Service-style managed identity endpoint (MSI_ENDPOINT) and its secret (MSI_SECRET). */
  msiEndpoint: string;
  msiSecret: string;
  /** The login authority registered for the cloud (an ADFS-shaped authority never leaves the machine). */
  loginEndpoint: string;
  /** AZURE_CONFIG_DIR: az's own folder for this cloud (profile, token cache, cloud list). */
  configDir: string;
}

/** The environment every az call needs: config folder, CA, managed identity, no telemetry, no way out. */
export function azEnvironment(info: AzEnvInfo): Record<string, string> {
  return {
    AZURE_CONFIG_DIR: info.configDir,
    REQUESTS_CA_BUNDLE: info.caFile,
    MSI_ENDPOINT: info.msiEndpoint,
    MSI_SECRET: info.msiSecret,
    APPSETTING_WEBSITE_SITE_NAME: SITE_NAME,
    AZURE_CORE_COLLECT_TELEMETRY: 'no',
    HTTP_PROXY: CLOSED_PROXY,
    HTTPS_PROXY: CLOSED_PROXY,
    NO_PROXY: LOOPBACK_NO_PROXY,
    http_proxy: CLOSED_PROXY,
    https_proxy: CLOSED_PROXY,
    no_proxy: LOOPBACK_NO_PROXY,
  };
}

/**
 * `az cloud register` with the four endpoints az 2.45 requires (resource manager, active directory,
 * its resource id, graph resource id). With only `--endpoint-resource-manager`, az reads the rest from
 * Kluis's `/metadata/endpoints` instead.
 */
export function azCloudRegisterArgs(info: Pick<AzEnvInfo, 'armUrl' | 'loginEndpoint'>): string[] {
  return [
    'cloud',
    'register',
    '-n',
    AZ_CLOUD_NAME,
    '--endpoint-resource-manager',
    withSlash(info.armUrl),
    '--endpoint-active-directory',
    info.loginEndpoint,
    '--endpoint-active-directory-resource-id',
    ARM_AUDIENCE,
    '--endpoint-active-directory-graph-resource-id',
    GRAPH_RESOURCE_ID,
  ];
}

/** A POSIX shell word: single-quoted, with embedded quotes escaped. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:,=@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The file a user sources: the environment, then the cloud registered (once) and selected. */
export function azEnvScript(info: AzEnvInfo): string {
  const env = azEnvironment(info);
  return [
    `# Point the Azure CLI at Kluis (${withSlash(info.armUrl)}). Source this file, then: az login --identity`,
    '# A config folder of its own (your usual az login is untouched), the local CA, the local managed identity,',
    '# and proxies on a closed loopback port, so nothing az sends can leave this machine.',
    ...Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}`),
    `az cloud show -n ${AZ_CLOUD_NAME} >/dev/null 2>&1 || az ${azCloudRegisterArgs(info).map(shellQuote).join(' ')} >/dev/null`,
    `az cloud set -n ${AZ_CLOUD_NAME} >/dev/null`,
    '',
  ].join('\n');
}

export interface AzEnvFiles {
  /** The shell file to source. */
  script: string;
  /** What it was made from (kept so `kluis az-env` can write it again). */
  info: string;
}

export function azEnvFiles(dataDir: string): AzEnvFiles {
  const dir = path.join(path.resolve(dataDir), 'az');
  return { script: path.join(dir, 'env.sh'), info: path.join(dir, 'env.json') };
}

/** Writes `<data>/az/env.json` and `<data>/az/env.sh` (mode 600: they hold the MSI secret). */
export function writeAzEnv(dataDir: string, info: AzEnvInfo, scriptFile?: string): AzEnvFiles {
  const files = azEnvFiles(dataDir);
  const script = scriptFile === undefined ? files.script : path.resolve(scriptFile);
  mkdirSync(path.dirname(files.info), { recursive: true });
  mkdirSync(info.configDir, { recursive: true });
  writeSecretFile(files.info, `${JSON.stringify(info, null, 2)}\n`);
  writeSecretFile(script, azEnvScript(info));
  return { script, info: files.info };
}

/** The two lines `npm start` prints for the Azure CLI. */
export function azEnvLines(scriptFile: string, shownPath: (file: string) => string = (file) => file): string[] {
  return [`source ${shellQuote(shownPath(scriptFile))}`, 'az login --identity'];
}

function writeSecretFile(file: string, content: string): void {
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function readInfo(file: string): AzEnvInfo {
  let parsed: Partial<AzEnvInfo>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<AzEnvInfo>;
  } catch (err) {
    throw new Error(`${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): start Kluis with \`npm start\` first, it writes it.`, { cause: err });
  }
  for (const key of ['armUrl', 'caFile', 'msiEndpoint', 'msiSecret', 'loginEndpoint', 'configDir'] as const) {
    if (typeof parsed[key] !== 'string' || parsed[key] === '') throw new Error(`${file} lacks '${key}': start Kluis with \`npm start\` again.`);
  }
  return parsed as AzEnvInfo;
}

/** `node bin/kluis.js az-env [--data-dir .kluis] [--out <file>]`: writes the shell file again and says how to use it. */
export async function main(argv: string[], out: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<void> {
  const program = new Command()
    .name('kluis')
    .description('Kluis command line')
    .exitOverride()
    .showHelpAfterError();
  program
    .command('az-env')
    .description('Writes the shell file that points the Azure CLI at the Kluis `npm start` runs (source it, then az login --identity).')
    .option('--data-dir <dir>', 'the data folder of that npm start', '.kluis')
    .option('--out <file>', 'where to write the shell file (default: <data-dir>/az/env.sh)')
    .action((options: { dataDir: string; out?: string }) => {
      const info = readInfo(azEnvFiles(options.dataDir).info);
      const files = writeAzEnv(options.dataDir, info, options.out);
      out(`Wrote ${files.script}. In a second terminal:`);
      for (const line of azEnvLines(files.script, (file) => path.relative(process.cwd(), file) || file)) out(`  ${line}`);
    });
  registerCheckCommand(program, out);
  await program.parseAsync(argv);
}
