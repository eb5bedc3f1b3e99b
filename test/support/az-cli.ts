/**
 * Runs the real Azure CLI (`az`, Debian's azure-cli 2.45) for the az e2e suite: every call with the
 * environment `kluis az-env` writes for users (emulator/az-env.ts: its own AZURE_CONFIG_DIR, the local CA,
 * the local managed identity, proxies on a closed loopback port), `-o json`, its exit code, stdout and
 * stderr kept, and the JSON parsed.
 */
import { execFile } from 'node:child_process';
import { azEnvironment, type AzEnvInfo } from '../../emulator/az-env';

export const AZ_INSTALL_HINT = 'Install the Azure CLI (Debian: `apt-get install -y azure-cli`) and run `npm run test:az` again.';
const DEFAULT_TIMEOUT_IN_MS = 120_000;

export interface AzResult<T = unknown> {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as JSON (undefined when empty or not JSON). */
  json: T;
}

function runAz(args: string[], env: Record<string, string>, timeoutInMs: number): Promise<AzResult> {
  return new Promise((resolve) => {
    execFile('az', args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env }, timeout: timeoutInMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 127;
      let json: unknown;
      try {
        json = stdout.trim() === '' ? undefined : JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ args, code, stdout, stderr, json });
    });
  });
}

/** The installed az's version, or an error saying how to install it. */
export async function azVersion(): Promise<string> {
  const result = await runAz(['version', '-o', 'json'], { AZURE_CORE_COLLECT_TELEMETRY: 'no' }, 60_000);
  const version = (result.json as { 'azure-cli'?: string } | undefined)?.['azure-cli'];
  if (result.code !== 0 || version === undefined) throw new Error(`The Azure CLI is not available (az exited ${result.code}: ${result.stderr.trim().slice(0, 200)}). ${AZ_INSTALL_HINT}`);
  return version;
}

export interface AzCli {
  /** Runs `az <args> -o json`; never throws for a non-zero exit (assert `code`). */
  run<T = unknown>(args: string[], options?: { timeoutInMs?: number; output?: boolean }): Promise<AzResult<T>>;
  /** Runs and fails with az's stderr unless it exits 0; returns the parsed JSON. */
  json<T = unknown>(args: string[], options?: { timeoutInMs?: number }): Promise<T>;
  readonly env: Record<string, string>;
}

export function azCli(info: AzEnvInfo): AzCli {
  const env = azEnvironment(info);
  const cli: AzCli = {
    env,
    async run<T>(args: string[], options: { timeoutInMs?: number; output?: boolean } = {}) {
      const full = options.output === false ? args : [...args, '-o', 'json'];
      return (await runAz(full, env, options.timeoutInMs ?? DEFAULT_TIMEOUT_IN_MS)) as AzResult<T>;
    },
    async json<T>(args: string[], options: { timeoutInMs?: number } = {}) {
      const result = await cli.run<T>(args, options);
      if (result.code !== 0) throw new Error(`az ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
      return result.json;
    },
  };
  return cli;
}
