/** A node:http server that hands every request to one async handler in the host's own request shape. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostRequest, HostResponse } from './http-types';
import { headersOf, readBody } from './incoming-request';

export type RequestHandler = (request: HostRequest) => Promise<HostResponse>;

export interface RunningServer {
  port: number;
  origin: string;
  close(): Promise<void>;
}

/** The Functions host's request size limit. */
const MAX_BODY_BYTES = 100 * 1024 * 1024;

export async function startHttpServer(host: string, port: number, handler: RequestHandler): Promise<RunningServer> {
  let origin = '';
  const server = http.createServer((req, res) => {
    void (async () => {
      let response: HostResponse;
      try {
        const body = await readBody(req, MAX_BODY_BYTES);
        response = await handler({ method: req.method ?? 'GET', url: new URL(req.url ?? '/', origin), headers: headersOf(req), body });
      } catch (err) {
        response = { status: 500, headers: { 'content-type': 'text/plain' }, body: `Internal server error: ${(err as Error).message}` };
      }
      res.writeHead(response.status, response.headers);
      res.end(response.body);
    })();
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  origin = `http://${host}:${address.port}`;
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
