/**
 * Runs the embedded host binary (`bin/kluis-host.js`) as a child process for end-to-end tests, plus the small
 * HTTP helpers the tests drive it with (JSON fetch, Durable management URLs, status polling).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readLines } from '../../emulator/read-lines';
import { identityUrlsOf, managedIdentityTokens, type IdentityEndpointUrls } from './sign-in';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** KLUIS_HOST_BIN runs the suite against another build of the host (e.g. a packed or patched copy). */
const HOST_BIN = process.env.KLUIS_HOST_BIN ? path.resolve(process.env.KLUIS_HOST_BIN) : path.join(REPO_ROOT, 'bin', 'kluis-host.js');
const HOST_ENTRY = path.join(path.dirname(HOST_BIN), '..', 'dist', 'emulator', 'cli.js');
const DEFAULT_STARTUP_TIMEOUT_IN_MS = 30_000;
const STOP_GRACE_IN_MS = 5_000;
const OUTPUT_TAIL_LINES = 40;
const READY_MESSAGE = /^Host started: /;

// Host processes and temp folders this test process made; a forgotten host must not outlive jest.
const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();
process.on('exit', () => {
  running.forEach((child) => child.kill('SIGKILL'));
  tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

/** Absolute path of an app under test/fixtures. */
export function fixtureApp(name: string): string {
  return path.join(REPO_ROOT, 'test', 'fixtures', name);
}

export interface HostSecretsFile {
  masterKey: string;
  functionKeys: Record<string, string>;
  functionSpecific: Record<string, Record<string, string>>;
}

function randomKey(): string {
  return randomBytes(24).toString('base64url');
}

/** Writes a secrets file with fresh keys into a new temp folder; returns its path and keys. */
export function writeSecretsFile(functionSpecific: HostSecretsFile['functionSpecific'] = {}): { file: string; secrets: HostSecretsFile } {
  const secrets: HostSecretsFile = { masterKey: randomKey(), functionKeys: { default: randomKey() }, functionSpecific };
  const dir = mkdtempSync(path.join(tmpdir(), 'kluis-host-secrets-'));
  tempDirs.add(dir);
  const file = path.join(dir, 'secrets.json');
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return { file, secrets };
}

export interface HostProcessOptions {
  /** The Functions app folder (see fixtureApp). */
  app: string;
  /** AzureWebJobsStorage connection string (an in-memory Azurite's). */
  storage: string;
  hubName?: string;
  /** Default: a fresh temp file with generated keys (see HostProcess.secrets). */
  secretsFile?: string;
  /** Extra environment for the host process. */
  env?: Record<string, string>;
  /** Default 0: any free port. */
  port?: number;
  startupTimeoutInMs?: number;
  /** More kluis-host options, e.g. ['--fake-clock', '2026-01-01T00:00:00Z']. */
  extraArgs?: string[];
  /**
   * Send a token from the host's identity endpoint with every `http()` request to the host: the local
   * administrator's (the default managed identity, Owner at the root scope; see sign-in.ts). Default:
   * when the app is Kluis (its API refuses requests without one) and the host started an identity endpoint.
   */
  signIn?: boolean;
}

export interface HostLogRecord {
  time?: string;
  level?: string;
  message: string;
  [field: string]: unknown;
}

export interface HostExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A host process that may or may not have come up; see startHostProcess for one that has. */
export interface SpawnedHost {
  readonly pid: number;
  readonly secretsFile: string;
  stdoutLines(): string[];
  stderrLines(): string[];
  /** stdout lines that are JSON log records. */
  logs(): HostLogRecord[];
  /** Resolves with the first log record (past or future) that matches. */
  waitForLog(predicate: (record: HostLogRecord) => boolean, timeoutInMs?: number): Promise<HostLogRecord>;
  /** Resolves when the process has exited and its output is read. */
  readonly exited: Promise<HostExit>;
  /** Sends the signal (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<HostExit>;
  /** SIGTERM (graceful shutdown), SIGKILL after a grace period; idempotent. */
  stop(): Promise<HostExit>;
  /** The last lines of both streams, for failure messages. */
  outputTail(): string;
}

export interface HostProcess extends SpawnedHost {
  /** e.g. http://127.0.0.1:41234 */
  readonly origin: string;
  /** e.g. https://127.0.0.1:41235, when the host was started with --https-port. */
  readonly httpsOrigin?: string;
  /** The keys the host uses (read from its secrets file). */
  readonly secrets: HostSecretsFile;
  /** The host's identity endpoint, unless started with --no-identity. */
  readonly identity?: IdentityEndpointUrls;
  /** A valid token of the local administrator for the host's API (the one `http()` sends); throws without an identity endpoint. */
  accessToken(): Promise<string>;
}

// Origins whose requests `http()` signs, and how it gets their tokens.
const signedInOrigins = new Map<string, () => Promise<string>>();

function isKluisApp(app: string): boolean {
  try {
    return (JSON.parse(readFileSync(path.join(app, 'package.json'), 'utf8')) as { name?: unknown }).name === 'kluis';
  } catch {
    return false;
  }
}

function assertHostBuilt(): void {
  if (!existsSync(HOST_ENTRY)) {
    throw new Error(
      `The embedded host is not built: ${path.relative(REPO_ROOT, HOST_ENTRY)} is missing. ` +
        'Run `npx tsc -p tsconfig.json` (or `npm run build`) before the e2e tests.',
    );
  }
}


function parseLogLine(line: string): HostLogRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const record = JSON.parse(line) as HostLogRecord;
    return typeof record.message === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the host binary without waiting for it to be ready (use it for apps that must fail to load). */
export function spawnHost(options: HostProcessOptions): SpawnedHost {
  assertHostBuilt();
  const secretsFile = options.secretsFile ?? writeSecretsFile().file;
  const args = [
    HOST_BIN,
    '--app', options.app,
    '--port', String(options.port ?? 0),
    '--secrets', secretsFile,
    '--log-format', 'json',
    '--log-level', 'information',
  ];
  if (options.hubName !== undefined) args.push('--hub-name', options.hubName);
  args.push(...(options.extraArgs ?? []));
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    // The connection string goes by the environment, never the command line (ps shows command lines).
    env: { ...process.env, AzureWebJobsStorage: options.storage, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);

  const stdout: string[] = [];
  const stderr: string[] = [];
  const records: HostLogRecord[] = [];
  const waiters = new Set<(record: HostLogRecord) => void>();
  readLines(child.stdout!, (line) => {
    stdout.push(line);
    const record = parseLogLine(line);
    if (!record) return;
    records.push(record);
    waiters.forEach((waiter) => waiter(record));
  });
  readLines(child.stderr!, (line) => stderr.push(line));

  let exit: HostExit | undefined;
  const exited = new Promise<HostExit>((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      exit = { code, signal };
      resolve(exit);
    });
    child.once('error', (error) => {
      running.delete(child);
      stderr.push(`could not run ${process.execPath}: ${error.message}`);
      exit = { code: null, signal: null };
      resolve(exit);
    });
  });

  const outputTail = () =>
    [
      `--- host stdout (last ${OUTPUT_TAIL_LINES} lines) ---`,
      ...stdout.slice(-OUTPUT_TAIL_LINES),
      `--- host stderr (last ${OUTPUT_TAIL_LINES} lines) ---`,
      ...stderr.slice(-OUTPUT_TAIL_LINES),
    ].join('\n');

  const waitForLog = (predicate: (record: HostLogRecord) => boolean, timeoutInMs = 10_000) =>
    new Promise<HostLogRecord>((resolve, reject) => {
      const past = records.find(predicate);
      if (past) return resolve(past);
      const waiter = (record: HostLogRecord) => {
        if (!predicate(record)) return;
        cleanup();
        resolve(record);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`No matching host log record within ${timeoutInMs} ms.\n${outputTail()}`));
      }, timeoutInMs);
      const onExit = (result: HostExit) => {
        if (!waiters.has(waiter)) return;
        cleanup();
        reject(new Error(`The host exited (${describeExit(result)}) before a matching log record.\n${outputTail()}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(waiter);
      };
      waiters.add(waiter);
      void exited.then(onExit);
    });

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (exit === undefined) child.kill(signal);
    return exited;
  };

  let stopping: Promise<HostExit> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (exit !== undefined) return exit;
      child.kill('SIGTERM');
      const escalation = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_IN_MS);
      const result = await exited;
      clearTimeout(escalation);
      return result;
    })();
    return stopping;
  };

  return {
    pid: child.pid ?? -1,
    secretsFile,
    stdoutLines: () => [...stdout],
    stderrLines: () => [...stderr],
    logs: () => [...records],
    waitForLog,
    exited,
    kill,
    stop,
    outputTail,
  };
}

export function describeExit(result: HostExit): string {
  return result.signal ? `signal ${result.signal}` : `exit code ${result.code}`;
}

/** Starts the host binary and resolves once it logs "Host started" (rejects with its output if it exits first). */
export async function startHostProcess(options: HostProcessOptions): Promise<HostProcess> {
  const host = spawnHost(options);
  let ready: HostLogRecord;
  try {
    ready = await host.waitForLog((r) => READY_MESSAGE.test(r.message), options.startupTimeoutInMs ?? DEFAULT_STARTUP_TIMEOUT_IN_MS);
  } catch (error) {
    await host.kill();
    throw error;
  }
  const origin = typeof ready.origin === 'string' ? ready.origin : /at (http:\/\/\S+)/.exec(ready.message)?.[1];
  if (!origin) {
    await host.kill();
    throw new Error(`The host's ready message names no origin: ${JSON.stringify(ready)}`);
  }
  const httpsOrigin = typeof ready.httpsOrigin === 'string' ? ready.httpsOrigin : undefined;
  const secrets = JSON.parse(readFileSync(host.secretsFile, 'utf8')) as HostSecretsFile;
  const identity = host.logs().map(identityUrlsOf).find((urls) => urls !== undefined);
  const tokens = identity === undefined ? undefined : managedIdentityTokens(identity);
  const accessToken = () => {
    if (tokens === undefined) throw new Error('The host runs no identity endpoint (--no-identity): it cannot issue tokens.');
    return tokens();
  };
  if (tokens !== undefined && (options.signIn ?? isKluisApp(options.app))) {
    const origins = [origin, ...(httpsOrigin === undefined ? [] : [httpsOrigin])];
    origins.forEach((o) => signedInOrigins.set(o, tokens));
    void host.exited.then(() => origins.forEach((o) => signedInOrigins.get(o) === tokens && signedInOrigins.delete(o)));
  }
  return { ...host, origin, ...(httpsOrigin === undefined ? {} : { httpsOrigin }), secrets, ...(identity === undefined ? {} : { identity }), accessToken };
}

/**
 * From now on `http()` to this host sends `tokens` (e.g. a principal with exactly the roles a journey
 * needs, see principals.ts) instead of the local administrator's; returns a function that switches back.
 */
export function signInAs(host: Pick<HostProcess, 'origin' | 'httpsOrigin'>, tokens: () => Promise<string>): () => void {
  const origins = [host.origin, ...(host.httpsOrigin === undefined ? [] : [host.httpsOrigin])];
  const before = origins.map((origin) => signedInOrigins.get(origin));
  origins.forEach((origin) => signedInOrigins.set(origin, tokens));
  return () => origins.forEach((origin, i) => (before[i] === undefined ? signedInOrigins.delete(origin) : signedInOrigins.set(origin, before[i]!)));
}

// ---- HTTP helpers ------------------------------------------------------------------------------------

export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, else the text ('' when empty). */
  body: T;
  text: string;
}

export interface HttpOptions {
  method?: string;
  /** Strings and Buffers are sent as they are; anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** false: send no token even to a signed-in host (see HostProcessOptions.signIn). An explicit Authorization header always wins. */
  signIn?: boolean;
}

/** fetch with JSON in and out; never throws for HTTP error statuses. Requests to a signed-in host carry its token. */
export async function http<T = unknown>(url: string, options: HttpOptions = {}): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  const tokens = options.signIn === false ? undefined : signedInOrigins.get(new URL(url).origin);
  if (tokens !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) headers.authorization = `Bearer ${await tokens()}`;
  let body: string | Buffer | undefined;
  if (options.body !== undefined) {
    if (typeof options.body === 'string' || Buffer.isBuffer(options.body)) {
      body = options.body;
    } else {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
  }
  const response = await fetch(url, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** The payload of `createCheckStatusResponse` (Durable management URLs with the system key). */
export interface ManagementUrls {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
  terminatePostUri: string;
  purgeHistoryDeleteUri: string;
  suspendPostUri: string;
  resumePostUri: string;
  [name: string]: string;
}

export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Terminated' | 'Suspended';

export interface HistoryEventView {
  EventType: string;
  EventId?: number;
  FunctionName?: string;
  Timestamp?: string;
  Input?: unknown;
  Result?: unknown;
  [field: string]: unknown;
}

export interface OrchestrationStatus<TOutput = unknown> {
  name: string;
  instanceId: string;
  runtimeStatus: RuntimeStatus;
  input: unknown;
  customStatus: unknown;
  output: TOutput;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: HistoryEventView[];
}

export const terminalStatuses: readonly RuntimeStatus[] = ['Completed', 'Failed', 'Terminated'];

export interface StartOptions {
  input?: unknown;
  instanceId?: string;
  /** The app's host.json routePrefix; default 'api'. */
  routePrefix?: string;
}

/**
 * Starts an orchestration through the fixture apps' HTTP starter (`POST /<prefix>/orchestrators/{name}/{instanceId?}`)
 * and returns the management URLs from its `createCheckStatusResponse`.
 */
export async function startOrchestration(origin: string, name: string, options: StartOptions = {}): Promise<ManagementUrls> {
  const url = starterUrl(origin, name, options);
  const response = await http<ManagementUrls>(url, { method: 'POST', body: options.input === undefined ? '' : JSON.stringify(options.input) });
  if (response.status !== 202) throw new Error(`Starting '${name}' answered ${response.status}: ${response.text}`);
  return response.body;
}

export function starterUrl(origin: string, name: string, options: Pick<StartOptions, 'instanceId' | 'routePrefix'> = {}): string {
  const prefix = options.routePrefix ?? 'api';
  const id = options.instanceId === undefined ? '' : `/${encodeURIComponent(options.instanceId)}`;
  return `${origin}/${prefix}/orchestrators/${encodeURIComponent(name)}${id}`;
}

/** Adds (or replaces) query parameters on a URL. */
export function withQuery(url: string, params: Record<string, string | boolean | number>): string {
  const parsed = new URL(url);
  for (const [key, value] of Object.entries(params)) parsed.searchParams.set(key, String(value));
  return parsed.toString();
}

/** Fills a management URL template's `{text}` (reason) or `{eventName}` placeholder. */
export function fillTemplate(template: string, values: { reason?: string; eventName?: string }): string {
  let url = template;
  if (values.reason !== undefined) url = url.replace('{text}', encodeURIComponent(values.reason));
  if (values.eventName !== undefined) url = url.replace('{eventName}', encodeURIComponent(values.eventName));
  return url;
}

/** The Durable list endpoint (`.../instances?code=...`) derived from an instance's status URL. */
export function instancesUrl(urls: ManagementUrls): string {
  const parsed = new URL(urls.statusQueryGetUri);
  parsed.pathname = parsed.pathname.replace(/\/instances\/[^/]+$/, '/instances');
  return parsed.toString();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * GETs a status URL until `until` accepts the body (or the timeout passes, which throws with the last answer).
 */
export async function pollStatus<TOutput = unknown>(
  url: string,
  until: (status: OrchestrationStatus<TOutput>, httpStatus: number) => boolean,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<OrchestrationStatus<TOutput>> {
  const deadline = Date.now() + timeoutMs;
  let last: HttpResult<OrchestrationStatus<TOutput>> | undefined;
  for (;;) {
    last = await http<OrchestrationStatus<TOutput>>(url);
    if (typeof last.body === 'object' && last.body !== null && until(last.body, last.status)) return last.body;
    if (Date.now() >= deadline) {
      throw new Error(`Status at ${new URL(url).pathname} did not reach the expected state within ${timeoutMs} ms; last answer ${last.status}: ${last.text}`);
    }
    await sleep(intervalMs);
  }
}

/** Polls until the instance is Completed, Failed or Terminated. */
export function waitForTerminal<TOutput = unknown>(urls: ManagementUrls, timeoutMs = 20_000, query: Record<string, string | boolean> = {}): Promise<OrchestrationStatus<TOutput>> {
  return pollStatus<TOutput>(withQuery(urls.statusQueryGetUri, query), (s) => terminalStatuses.includes(s.runtimeStatus), timeoutMs);
}

/** Polls until the instance has the given runtime status. */
export function waitForStatus<TOutput = unknown>(urls: ManagementUrls, status: RuntimeStatus, timeoutMs = 20_000): Promise<OrchestrationStatus<TOutput>> {
  return pollStatus<TOutput>(urls.statusQueryGetUri, (s) => s.runtimeStatus === status, timeoutMs);
}

/** Raises an external event through the instance's sendEventPostUri. */
export function raiseEvent(urls: ManagementUrls, eventName: string, data?: unknown): Promise<HttpResult> {
  return http(fillTemplate(urls.sendEventPostUri, { eventName }), { method: 'POST', body: data === undefined ? '' : JSON.stringify(data), headers: { 'content-type': 'application/json' } });
}

/** A caller-visible unique suffix for instance ids and table keys. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export { sleep };
