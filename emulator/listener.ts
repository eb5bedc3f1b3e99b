/**
 * An HTTP or HTTPS listener on 127.0.0.1 that hands each request, body read, to one async handler in
 * the host's request shape. Bodies over the limit get 413 without reaching the handler. close() ends
 * open keep-alive connections too, so stopping never waits for idle clients.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { HostRequest, HostResponse } from './http-types';
import { BodyTooLarge, headersOf, readBody } from './incoming-request';

export const LISTEN_HOST = '127.0.0.1';
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface Listener {
  port: number;
  origin: string;
  close(): Promise<void>;
}

export interface ListenOptions {
  port: number;
  /** PEM key and certificate: HTTPS; absent: plain HTTP. */
  tls?: { key: string; cert: string };
}


const tooLarge: HostResponse = {
  status: 413,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify({ error: { code: 'RequestTooLarge', message: `The request body is larger than ${MAX_BODY_BYTES} bytes.` } }),
};

export async function listen(options: ListenOptions, handler: (request: HostRequest) => Promise<HostResponse>): Promise<Listener> {
  const scheme = options.tls ? 'https' : 'http';
  let origin = '';
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    void (async () => {
      let response: HostResponse;
      try {
        const body = await readBody(req, MAX_BODY_BYTES);
        response = await handler({ method: req.method ?? 'GET', url: new URL(req.url ?? '/', origin), headers: headersOf(req), body });
      } catch (err) {
        response = err instanceof BodyTooLarge ? tooLarge : { status: 500, headers: { 'content-type': 'text/plain' }, body: 'Internal server error' };
      }
      res.writeHead(response.status, response.headers);
      res.end(response.body);
    })();
  };
  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, onRequest) : http.createServer(onRequest);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, LISTEN_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  origin = `${scheme}://${LISTEN_HOST}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    port,
    origin,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
