/** A node:http (or, given a key and certificate, node:https) server that hands every request to one async handler in the host's own request shape. */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HostRequest, HostResponse } from './http-types';
import { headersOf, readBody } from './incoming-request';
import { errors, toErrorBody } from '../lib/domain/errors';

export type RequestHandler = (request: HostRequest) => Promise<HostResponse>;

export interface RunningServer {
  port: number;
  origin: string;
  close(): Promise<void>;
}

/** The Functions host's request size limit. */
const MAX_BODY_BYTES = 100 * 1024 * 1024;

/** PEM key and certificate of an HTTPS server. */
export interface ServerTls {
  key: string;
  cert: string;
}

/**
 * The origin a request was sent to, as the Functions host shows it in the request URL: the server's
 * scheme with the Host header's host and port when that header is a plain `host[:port]`, else the
 * address the server listens on.
 */
export function requestOrigin(serverOrigin: string, hostHeader: string | undefined): string {
  if (hostHeader === undefined || !/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(hostHeader)) return serverOrigin;
  try {
    return new URL(`${new URL(serverOrigin).protocol}//${hostHeader}`).origin;
  } catch {
    return serverOrigin;
  }
}

/**
 * The URL of a request line's target. Joined as text, not resolved: a path starting with `//` (az
 * builds `https://host:port//metadata/endpoints` from an endpoint with a trailing slash) stays a path
 * instead of naming another host.
 */
export function requestUrl(origin: string, target: string | undefined): URL {
  const path = target === undefined || target === '' ? '/' : target;
  if (path.startsWith('/')) return new URL(`${origin}${path}`);
  // An absolute-form target (as sent to proxies): its path and query, at this server's origin.
  const absolute = new URL(path, origin);
  return new URL(`${origin}${absolute.pathname}${absolute.search}`);
}

/**
 * Whether a request target's path has a `.` or `..` segment, literal or percent-encoded (`%2e`, `.%2E`, …), between
 * slashes or backslashes: parsing it as a URL would resolve it into another resource
 * (`…/backupJobs/../backupPolicies`), so such a request is refused before routing.
 */
export function hasDotSegment(target: string | undefined): boolean {
  const path = (target ?? '/').split(/[?#]/)[0];
  return path.split(/[/\\]/).some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment));
}

/** The answer to a target with a dot segment (ARM's error envelope). */
function dotSegmentRefusal(): HostResponse {
  return { status: 400, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(toErrorBody(errors.invalidRequestPath())) };
}

/**
 * A request Node's parser refuses before it reaches the handler (headers over `http.maxHeaderSize`, a character
 * HTTP does not allow in a header or the request line): ARM's error envelope, as for every other refusal, instead of
 * Node's bare `400 Bad Request`.
 */
function answerUnparsable(err: Error & { code?: string }, socket: Duplex): void {
  // As Node's own handler: no answer once an answer on this connection has started (it would corrupt that one).
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (!socket.writable || inFlight?.headersSent === true || (err.code !== undefined && ['ECONNRESET', 'EPIPE'].includes(err.code))) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const refusal = tooLarge ? errors.requestHeadersTooLarge(http.maxHeaderSize) : errors.invalidRequest('request', 'The request is not valid HTTP: its request line or a header has a character HTTP does not allow.');
  const body = JSON.stringify(toErrorBody(refusal));
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  // The answer to HEAD has no body (its client would read one as the start of a next answer).
  const head = (err as { rawPacket?: unknown }).rawPacket;
  const toHead = Buffer.isBuffer(head) && head.toString('latin1', 0, 5) === 'HEAD ';
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${toHead ? '' : body}`);
}

export async function startHttpServer(host: string, port: number, handler: RequestHandler, tls?: ServerTls): Promise<RunningServer> {
  let origin = '';
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    void (async () => {
      let response: HostResponse;
      try {
        const body = await readBody(req, MAX_BODY_BYTES);
        response = hasDotSegment(req.url) ? dotSegmentRefusal() : await handler({ method: req.method ?? 'GET', url: requestUrl(requestOrigin(origin, req.headers.host), req.url), headers: headersOf(req), body });
      } catch (err) {
        response = { status: 500, headers: { 'content-type': 'text/plain' }, body: `Internal server error: ${(err as Error).message}` };
      }
      res.writeHead(response.status, response.headers);
      res.end(response.body);
    })();
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, onRequest) : http.createServer(onRequest);
  server.keepAliveTimeout = 5000;
  server.on('clientError', answerUnparsable);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  origin = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  return {
    port: address.port,
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
