/**
 * Runs the embedded host (`bin/kluis-host.js`) as a child process for a benchmark: the
 * `@azure/functions-core` injection patches `Module.prototype.require`, so each app gets its own process.
 * Logs are JSON at level warning, so logging does not weigh on the measurement.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../emulator/ports';
import { readLines } from '../../emulator/read-lines';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const HOST_BIN = path.join(REPO_ROOT, 'bin', 'kluis-host.js');
const HOST_ENTRY = path.join(REPO_ROOT, 'dist', 'emulator', 'cli.js');
const READY_MESSAGE = /^Host started: /;
const STARTUP_TIMEOUT_IN_MS = 60_000;
const STOP_GRACE_IN_MS = 5_000;
const OUTPUT_TAIL_LINES = 30;

export interface BenchHostOptions {
  /** The Functions app folder. */
  app: string;
  /** AzureWebJobsStorage connection string. */
  storage: string;
  env?: Record<string, string>;
  /** More kluis-host options, e.g. ['--fake-clock', '2026-03-02T02:00:00Z']. */
  args?: string[];
  /**
   * Run the identity endpoint on a known port with its own folder, so the benchmark can sign in
   * through its managed identity shape (msiEndpoint, msiSecret): Kluis's API needs a token.
   */
  signIn?: boolean;
}

export interface BenchHost {
  readonly pid: number;
  /** e.g. http://127.0.0.1:41234 */
  readonly origin: string;
  /** The host's master key (`?code=…` for /admin endpoints such as /admin/clock). */
  readonly masterKey: string;
  /** With signIn: MSI_ENDPOINT and MSI_SECRET of the host's identity endpoint. */
  readonly msiEndpoint?: string;
  readonly msiSecret?: string;
  /** SIGTERM, SIGKILL after a grace period; idempotent. */
  stop(): Promise<void>;
  outputTail(): string;
}

const live = new Set<ChildProcess>();
process.on('exit', () => live.forEach((child) => child.kill('SIGKILL')));

/** Starts the host and resolves once it prints its ready line (with the origin). */
export async function startBenchHost(options: BenchHostOptions): Promise<BenchHost> {
  if (!existsSync(HOST_ENTRY)) throw new Error(`The embedded host is not built (${HOST_ENTRY} is missing): run \`npm run build\`.`);
  const secretsDir = mkdtempSync(path.join(tmpdir(), 'kluis-bench-secrets-'));
  const secretsFile = path.join(secretsDir, 'secrets.json');
  const key = () => randomBytes(24).toString('base64url');
  const masterKey = key();
  writeFileSync(secretsFile, JSON.stringify({ masterKey, functionKeys: { default: key() }, functionSpecific: {} }), { mode: 0o600 });
  const identityDir = path.join(secretsDir, 'identity');
  const identityPort = options.signIn ? await freePort() : undefined;
  const identityArgs = identityPort === undefined ? [] : ['--identity-port', String(identityPort), '--identity-dir', identityDir];

  const child = spawn(
    process.execPath,
    [HOST_BIN, '--app', options.app, '--port', '0', '--secrets', secretsFile, '--log-format', 'json', '--log-level', 'warning', ...identityArgs, ...(options.args ?? [])],
    // The connection string goes by the environment, never the command line (ps shows command lines).
    { cwd: REPO_ROOT, env: { ...process.env, AzureWebJobsStorage: options.storage, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);
  const output: string[] = [];
  const remember = (line: string) => {
    output.push(line);
    if (output.length > OUTPUT_TAIL_LINES * 4) output.splice(0, output.length - OUTPUT_TAIL_LINES);
  };
  const outputTail = () => output.slice(-OUTPUT_TAIL_LINES).join('\n');
  const exited = new Promise<void>((resolve) => child.once('close', () => {
    live.delete(child);
    rmSync(secretsDir, { recursive: true, force: true });
    resolve();
  }));

  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`The host did not start within ${STARTUP_TIMEOUT_IN_MS} ms.\n${outputTail()}`)), STARTUP_TIMEOUT_IN_MS);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`The host exited during startup.\n${outputTail()}`));
    });
    readLines(child.stderr, remember);
    readLines(child.stdout, (line) => {
      remember(line);
      const record = parseJson(line);
      if (record && typeof record.message === 'string' && READY_MESSAGE.test(record.message) && typeof record.origin === 'string') {
        clearTimeout(timer);
        resolve(record.origin);
      }
    });
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw error;
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const escalation = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_IN_MS);
      await exited;
      clearTimeout(escalation);
    })();
    return stopping;
  };
  const signIn =
    identityPort === undefined
      ? {}
      : { msiEndpoint: `http://127.0.0.1:${identityPort}/msi/token`, msiSecret: (JSON.parse(readFileSync(path.join(identityDir, 'identity.json'), 'utf8')) as { msiSecret: string }).msiSecret };
  return { pid: child.pid as number, origin, masterKey, ...signIn, stop, outputTail };
}

function parseJson(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

