import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import path from 'node:path';
import { azuriteConnectionString, azuriteEndpoint } from './connection-string';
import { readLines } from './read-lines';

export interface AzuriteOptions {
  /** Persistent data folder; default `.kluis/azurite` under process.cwd(). Ignored when `inMemory`. */
  location?: string;
  /** `--inMemoryPersistence`: nothing touches the disk (use for tests). */
  inMemory?: boolean;
  /** Default: a port the OS picks (Azurite binds port 0 and reports the port it got). */
  blobPort?: number;
  queuePort?: number;
  tablePort?: number;
  /** Absolute paths of JS modules preloaded into the Azurite process with `node --require`. */
  extensions?: string[];
  /** Extra environment for the Azurite process, on top of this process's environment. */
  env?: Record<string, string>;
  /** Default true: Azurite's output (without access log) is captured and shown only if startup fails. */
  silent?: boolean;
  /** `--debug <path>`: Azurite's own debug log file. */
  debugLogPath?: string;
  /** How long to wait for all three services to answer HTTP; default 30 000. */
  startupTimeoutInMs?: number;
  /** Serve HTTPS with this certificate and key (PEM files; `--cert`/`--key`), e.g. the local CA's server certificate. */
  https?: { certPath: string; keyPath: string };
  /**
   * `--oauth basic` (needs `https`): bearer tokens are accepted besides keys and SAS; Azurite checks their
   * issuer, audience and lifetime, not their signature. Add the azurite-token-issuers extension to accept
   * the local identity endpoint's issuer.
   */
  oauth?: 'basic';
}

export interface RunningAzurite {
  connectionString: string;
  blobEndpoint: string;
  queueEndpoint: string;
  tableEndpoint: string;
  blobPort: number;
  queuePort: number;
  tablePort: number;
  /** `http` unless started with `https`; the connection string and endpoints use it. */
  protocol: 'http' | 'https';
  pid: number;
  /** SIGTERM, wait for exit (SIGKILL after 5 s); idempotent. */
  stop(): Promise<void>;
}

/** Startup failed: the message ends with the last lines Azurite printed. */
export class AzuriteStartupError extends Error {
  readonly code = 'AzuriteStartupFailed';
  constructor(
    reason: string,
    readonly outputTail: readonly string[],
  ) {
    super(
      `Azurite did not start: ${reason}\n` +
        `--- last ${outputTail.length} lines of Azurite output ---\n${outputTail.join('\n')}`,
    );
    this.name = 'AzuriteStartupError';
  }
}

const HOST = '127.0.0.1';
const DEFAULT_STARTUP_TIMEOUT_IN_MS = 30_000;
const STOP_GRACE_IN_MS = 5_000;
const PROBE_INTERVAL_IN_MS = 100;
const PROBE_TIMEOUT_IN_MS = 1_000;
const OUTPUT_LINES_SHOWN = 40;
const ORPHAN_CHECK_INTERVAL_IN_MS = 1_000;
const ORPHAN_GRACE_TICKS = 10;

type Service = 'Blob' | 'Queue' | 'Table';
const SERVICES: readonly Service[] = ['Blob', 'Queue', 'Table'];
const LISTENING_LINE = /Azurite (Blob|Queue|Table) service is successfully listening at https?:\/\/[^\s]+:(\d+)/;

/** Azurite's CLI entry point inside the pinned `azurite` package (its `bin.azurite`). */
export function azuriteEntryPoint(): string {
  const packageJsonPath = require.resolve('azurite/package.json');
  const packageJson = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { bin?: { azurite?: string } };
  const relative = packageJson.bin?.azurite ?? './dist/src/azurite.js';
  return path.resolve(path.dirname(packageJsonPath), relative);
}

export function defaultAzuriteLocation(): string {
  return path.join(process.cwd(), '.kluis', 'azurite');
}

/** Starts blob, queue and table Azurite services in one child process and waits until all answer. */
export async function startAzurite(opts: AzuriteOptions = {}): Promise<RunningAzurite> {
  const silent = opts.silent ?? true;
  if (opts.oauth !== undefined && opts.https === undefined) throw new Error('Azurite accepts OAuth tokens over HTTPS only: pass https with oauth');
  const protocol = opts.https === undefined ? 'http' : 'https';
  const extensions = opts.extensions ?? [];
  for (const extension of extensions) {
    if (!path.isAbsolute(extension)) throw new Error(`Azurite extension path must be absolute: ${extension}`);
  }

  const args = [
    ...extensions.flatMap((extension) => ['--require', extension]),
    '--eval',
    azuriteBootstrap(azuriteEntryPoint()),
    '--',
    ...azuriteArguments(opts, silent),
  ];
  const child = spawn(process.execPath, args, {
    cwd: process.cwd(),
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl+C in a terminal must not signal Azurite directly. Azurite 3.35 exits
    // without saving when it gets a second close (the terminal's SIGINT, then our SIGTERM); only stop()
    // signals it, and the watchdog ends it if this process dies.
    detached: true,
  });
  const azurite = watchChild(child, silent);

  try {
    const ports = await waitUntilReady(azurite, opts.startupTimeoutInMs ?? DEFAULT_STARTUP_TIMEOUT_IN_MS, protocol);
    // Don't let a forgotten instance keep this process alive; the exit hook still ends it.
    azurite.unref();
    const endpoints = { host: HOST, blobPort: ports.Blob, queuePort: ports.Queue, tablePort: ports.Table };
    const withProtocol = (url: string) => (protocol === 'https' ? url.replace(/^http:/, 'https:') : url);
    return {
      connectionString: protocol === 'https' ? azuriteConnectionString(endpoints).replace(/http:/g, 'https:').replace('DefaultEndpointsProtocol=http;', 'DefaultEndpointsProtocol=https;') : azuriteConnectionString(endpoints),
      blobEndpoint: withProtocol(azuriteEndpoint(HOST, ports.Blob)),
      queueEndpoint: withProtocol(azuriteEndpoint(HOST, ports.Queue)),
      tableEndpoint: withProtocol(azuriteEndpoint(HOST, ports.Table)),
      blobPort: ports.Blob,
      queuePort: ports.Queue,
      tablePort: ports.Table,
      protocol,
      pid: child.pid as number,
      stop: azurite.stop,
    };
  } catch (error) {
    await azurite.stop();
    const reason = error instanceof Error ? error.message : String(error);
    throw new AzuriteStartupError(reason, azurite.output.slice(-OUTPUT_LINES_SHOWN));
  }
}

/**
 * Runs Azurite's CLI entry point with two guards added:
 * - a closed stdout/stderr pipe (this process gone) must not crash Azurite before it saves its data;
 * - if this process dies without its exit hook running (SIGKILL, a force-killed jest worker), Azurite
 *   notices its parent changed and shuts down gracefully instead of holding its ports forever.
 */
function azuriteBootstrap(entryPoint: string): string {
  return `
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
const parentPid = process.ppid;
let orphanTicks = 0;
setInterval(() => {
  if (process.ppid === parentPid) return;
  orphanTicks += 1;
  // Azurite's own once('SIGTERM') handler shuts it down; emitting never triggers the default kill.
  if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM', 'SIGTERM');
  if (orphanTicks > ${ORPHAN_GRACE_TICKS}) process.exit(1);
}, ${ORPHAN_CHECK_INTERVAL_IN_MS}).unref();
process.argv.splice(1, 0, ${JSON.stringify(entryPoint)});
require(${JSON.stringify(entryPoint)});
`;
}

const KEEP_ALIVE_TIMEOUT_SECONDS = 120;

function azuriteArguments(opts: AzuriteOptions, silent: boolean): string[] {
  const args = [
    '--blobHost', HOST, '--blobPort', String(opts.blobPort ?? 0),
    '--queueHost', HOST, '--queuePort', String(opts.queuePort ?? 0),
    '--tableHost', HOST, '--tablePort', String(opts.tablePort ?? 0),
    '--loose',
    '--skipApiVersionCheck',
    '--disableProductStyleUrl',
    '--disableTelemetry',
    // Azurite closes idle keep-alive connections after 5 s; a client reusing one at that moment gets
    // ECONNRESET (seen under load in tests that turn SDK retries off). Azure Storage keeps them far longer.
    '--blobKeepAliveTimeout', String(KEEP_ALIVE_TIMEOUT_SECONDS),
    '--queueKeepAliveTimeout', String(KEEP_ALIVE_TIMEOUT_SECONDS),
    '--tableKeepAliveTimeout', String(KEEP_ALIVE_TIMEOUT_SECONDS),
  ];
  // Azurite rejects --location together with --inMemoryPersistence.
  if (opts.inMemory) args.push('--inMemoryPersistence');
  else args.push('--location', path.resolve(opts.location ?? defaultAzuriteLocation()));
  if (silent) args.push('--silent'); // access log off; startup and error lines are still printed
  if (opts.debugLogPath !== undefined) args.push('--debug', path.resolve(opts.debugLogPath));
  if (opts.https !== undefined) args.push('--cert', path.resolve(opts.https.certPath), '--key', path.resolve(opts.https.keyPath));
  if (opts.oauth !== undefined) args.push('--oauth', opts.oauth);
  return args;
}

interface WatchedChild {
  readonly output: string[];
  readonly ports: Partial<Record<Service, number>>;
  /** Set once the process has exited and its output is fully read. */
  exit(): string | undefined;
  unref(): void;
  stop(): Promise<void>;
}

function watchChild(child: ChildProcess, silent: boolean): WatchedChild {
  const output: string[] = [];
  const ports: Partial<Record<Service, number>> = {};
  let exitDescription: string | undefined;
  let stopping: Promise<void> | undefined;

  const closed = new Promise<void>((resolve) => {
    child.once('close', (code, signal) => {
      exitDescription = signal ? `exited on signal ${signal}` : `exited with code ${code}`;
      resolve();
    });
    child.once('error', (error) => {
      exitDescription = `could not run ${process.execPath}: ${error.message}`;
      resolve();
    });
  });
  const killOnParentExit = (): void => {
    child.kill('SIGTERM');
  };
  process.on('exit', killOnParentExit);
  void closed.then(() => process.off('exit', killOnParentExit));

  const onLine = (line: string, sink: NodeJS.WriteStream): void => {
    output.push(line);
    if (output.length > OUTPUT_LINES_SHOWN * 5) output.splice(0, output.length - OUTPUT_LINES_SHOWN);
    const match = LISTENING_LINE.exec(line);
    if (match) ports[match[1] as Service] = Number(match[2]);
    if (!silent) sink.write(`[azurite] ${line}\n`);
  };
  readLines(child.stdout, (line) => onLine(line, process.stdout));
  readLines(child.stderr, (line) => onLine(line, process.stderr));

  const setRef = (on: boolean): void => {
    for (const handle of [child, child.stdout as Socket | null, child.stderr as Socket | null]) {
      if (on) handle?.ref();
      else handle?.unref();
    }
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitDescription !== undefined) return;
      setRef(true);
      child.kill('SIGTERM');
      let escalation: NodeJS.Timeout | undefined;
      const escalated = new Promise<void>((resolve) => {
        escalation = setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, STOP_GRACE_IN_MS);
      });
      await Promise.race([closed, escalated]);
      clearTimeout(escalation);
      await closed;
    })();
    return stopping;
  };

  return {
    output,
    ports,
    exit: () => exitDescription,
    unref: () => setRef(false),
    stop,
  };
}


async function waitUntilReady(child: WatchedChild, timeoutInMs: number, protocol: 'http' | 'https'): Promise<Record<Service, number>> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const exit = child.exit();
    if (exit !== undefined) throw new Error(`the Azurite process ${exit} during startup`);
    const ports = child.ports;
    if (SERVICES.every((service) => ports[service] !== undefined)) {
      const answers = await Promise.all(SERVICES.map((service) => answersHttp(HOST, ports[service] as number, protocol)));
      if (answers.every(Boolean)) return ports as Record<Service, number>;
    }
    if (Date.now() >= deadline) {
      const missing = SERVICES.filter((service) => ports[service] === undefined);
      const detail = missing.length > 0 ? `${missing.join(', ')} not listening` : 'services not answering HTTP';
      throw new Error(`timed out after ${timeoutInMs} ms (${detail})`);
    }
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_IN_MS));
  }
}

/** True when something on host:port answers an HTTP request with any status. */
function answersHttp(host: string, port: number, protocol: 'http' | 'https' = 'http'): Promise<boolean> {
  return new Promise((resolve) => {
    // Only whether it answers: the certificate is the caller's to trust, not the probe's.
    const options = { host, port, method: 'GET', path: '/', agent: false, timeout: PROBE_TIMEOUT_IN_MS };
    const onResponse = (res: IncomingMessage) => {
      res.resume();
      resolve(typeof res.statusCode === 'number');
    };
    const req = protocol === 'https' ? httpsRequest({ ...options, rejectUnauthorized: false }, onResponse) : request(options, onResponse);
    req.on('timeout', () => req.destroy(new Error('probe timed out')));
    req.on('error', () => resolve(false));
    req.end();
  });
}
