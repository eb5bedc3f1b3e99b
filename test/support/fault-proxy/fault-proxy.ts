/**
 * A fault-injecting reverse proxy for tests: it sits between Kluis and a service it talks to (Blob, Tables,
 * Key Vault, Compute — any HTTP(S) origin) and, as its schedule decides per request, answers in the service's
 * own error shape (503 ServerBusy with Retry-After, 500, 408, 412), resets the TCP connection before, during
 * or after the request body or during the response body, holds the request without an answer, or adds latency.
 * Everything else is forwarded unchanged (path, query and headers, so Shared Key signatures stay valid).
 *
 * Why not a library: Toxiproxy (the usual tool) needs its Go binary, which neither npm nor Debian ships;
 * Mockttp cannot reset a forwarded answer in the middle of its body. Node's http module does all of it with
 * a real RST (`socket.resetAndDestroy()`), which is what a client sees when a load balancer drops it.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { errorBody } from './error-bodies';
import { noFaults, type Fault, type FaultSchedule, type ProxiedRequest } from './faults';

export interface FaultProxyOptions {
  /** The service's origin, e.g. http://127.0.0.1:10000 (Azurite's blob port) or https://127.0.0.1:7445. */
  target: string;
  schedule?: FaultSchedule;
  /** Serve HTTPS with this certificate (for services clients reach over TLS: Key Vault, Compute). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** CA to trust for an https target (the local CA). */
  upstreamCa?: string | Buffer;
  /** Port to listen on (default 0: any free port), on 127.0.0.1. */
  port?: number;
}

/** A fault the proxy injected. */
export interface InjectedFault {
  index: number;
  method: string;
  path: string;
  fault: Fault;
}

export interface FaultProxy {
  /** e.g. http://127.0.0.1:41234 — use it in place of the target's origin. */
  readonly origin: string;
  readonly port: number;
  /** Requests seen so far. */
  requestCount(): number;
  /** Faults injected so far, in order. */
  injected(): InjectedFault[];
  /** Replaces the schedule (e.g. `always({kind:'hang'})` to freeze the service, `noFaults` to heal it). */
  setSchedule(schedule: FaultSchedule): void;
  /** Stops listening and destroys every open connection, held ones included. */
  close(): Promise<void>;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const upstreamModule = target.protocol === 'https:' ? https : http;
  const agent = new upstreamModule.Agent({ keepAlive: true, ...(options.upstreamCa === undefined ? {} : { ca: options.upstreamCa }) });
  let schedule = options.schedule ?? noFaults;
  let count = 0;
  const injected: InjectedFault[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const length = req.headers['content-length'];
    const request: ProxiedRequest = {
      index: count++,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      ...(length === undefined ? {} : { contentLength: Number(length) }),
    };
    const fault = schedule(request);
    if (fault === undefined) return forward(req, res, request);
    injected.push({ index: request.index, method: request.method, path: request.path, fault });
    switch (fault.kind) {
      case 'latency':
        return later(fault.ms, () => forward(req, res, request));
      case 'hang':
        req.resume();
        if (fault.ms !== undefined) later(fault.ms, () => reset(req.socket));
        return;
      case 'status':
        if (fault.forward === true) return forward(req, res, request, { answer: fault });
        req.resume();
        return req.once('end', () => answerError(res, request, fault));
      case 'reset':
        if (fault.at === 'before-request-body' || (fault.at === 'during-request-body' && !(request.contentLength ?? 0))) return reset(req.socket);
        return forward(req, res, request, { reset: fault.at, afterBytes: fault.afterBytes });
    }
  };

  interface ForwardFault {
    /** Answer this error once the service has answered (the request took effect). */
    answer?: Extract<Fault, { kind: 'status' }>;
    reset?: Exclude<Extract<Fault, { kind: 'reset' }>['at'], 'before-request-body'>;
    afterBytes?: number;
  }

  const forward = (req: IncomingMessage, res: ServerResponse, request: ProxiedRequest, fault: ForwardFault = {}) => {
    const headers: http.OutgoingHttpHeaders = { ...req.headers, host: target.host };
    HOP_BY_HOP.forEach((name) => delete headers[name]);
    const upstream = upstreamModule.request({
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      method: request.method,
      path: request.path,
      headers,
      agent,
    });
    upstream.on('error', () => reset(req.socket));
    upstream.on('response', (answer) => {
      if (fault.answer !== undefined || fault.reset === 'after-request-body') {
        answer.resume();
        answer.once('end', () => (fault.answer !== undefined ? answerError(res, request, fault.answer) : reset(req.socket)));
        return;
      }
      const responseHeaders = { ...answer.headers };
      HOP_BY_HOP.forEach((name) => delete responseHeaders[name]);
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, responseHeaders);
      if (fault.reset !== 'during-response-body') {
        answer.pipe(res);
        return;
      }
      const total = Number(answer.headers['content-length'] ?? NaN);
      const cut = fault.afterBytes ?? (Number.isFinite(total) ? Math.floor(total / 2) : 0);
      let sent = 0;
      answer.on('data', (chunk: Buffer) => {
        if (sent >= cut) return;
        const part = chunk.subarray(0, cut - sent);
        sent += part.length;
        res.write(part);
        if (sent >= cut) {
          answer.destroy();
          // Let the bytes written so far leave before the RST.
          setImmediate(() => reset(req.socket));
        }
      });
      answer.once('end', () => reset(req.socket));
      if (cut === 0) {
        answer.destroy();
        res.flushHeaders();
        setImmediate(() => reset(req.socket));
      }
    });
    if (fault.reset !== 'during-request-body') {
      req.pipe(upstream);
      return;
    }
    const cut = fault.afterBytes ?? Math.floor((request.contentLength ?? 0) / 2);
    let sent = 0;
    req.on('data', (chunk: Buffer) => {
      if (sent > cut) return;
      const part = chunk.subarray(0, cut - sent);
      sent += part.length;
      if (part.length > 0) upstream.write(part);
      if (sent >= cut) {
        sent = cut + 1;
        upstream.destroy();
        reset(req.socket);
      }
    });
  };

  const server = options.tls === undefined ? http.createServer(handle) : https.createServer({ key: options.tls.key, cert: options.tls.cert }, handle);
  server.keepAliveTimeout = 5_000;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  server.on(options.tls === undefined ? 'connection' : 'secureConnection', track);
  // A client that resets first must not crash the proxy.
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  return {
    origin: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    port,
    requestCount: () => count,
    injected: () => [...injected],
    setSchedule: (next) => {
      schedule = next;
    },
    close: async () => {
      timers.forEach((timer) => clearTimeout(timer));
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      sockets.forEach((socket) => socket.destroy());
      agent.destroy();
      await closed;
    },
  };
}

/** A TCP reset: the peer sees ECONNRESET, not an orderly end. */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    if (typeof socket.resetAndDestroy === 'function' && !socket.connecting) return void socket.resetAndDestroy();
  } catch {
    // A TLS socket has no TCP handle of its own to reset (ERR_INVALID_HANDLE_TYPE): the client sees it closed mid-exchange.
  }
  socket.destroy();
}

function answerError(res: ServerResponse, request: ProxiedRequest, fault: Extract<Fault, { kind: 'status' }>): void {
  if (res.headersSent || res.destroyed) return;
  const body = errorBody(request, fault.code, `Injected by the fault proxy: ${fault.code} (HTTP ${fault.status}).`);
  const headers: Record<string, string | number> = {
    'content-type': body.contentType,
    'content-length': Buffer.byteLength(body.text),
    'x-ms-error-code': fault.code,
    'x-ms-request-id': `fault-proxy-${request.index}`,
  };
  if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = fault.retryAfterSeconds;
  res.writeHead(fault.status, headers);
  res.end(body.text);
}
