/** A node:http server that hands every request to one async handler in the host's own request shape. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostRequest, HostResponse } from './http-types';

export type RequestHandler = (request: HostRequest) => Promise<HostResponse>;

export interface RunningServer {
  port: number;
  origin: string;
  close(): Promise<void>;
}

const maxBodyBytes = 100 * 1024 * 1024;

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        reject(new Error('Request body exceeds 100 MB (the Functions host limit).'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startHttpServer(host: string, port: number, handler: RequestHandler): Promise<RunningServer> {
  let origin = '';
  const server = http.createServer((req, res) => {
    void (async () => {
      let response: HostResponse;
      try {
        const headers = new Headers();
        for (const [key, value] of Object.entries(req.headers)) {
          if (Array.isArray(value)) value.forEach((v) => headers.append(key, v));
          else if (value !== undefined) headers.set(key, value);
        }
        const body = await readBody(req);
        response = await handler({ method: req.method ?? 'GET', url: new URL(req.url ?? '/', origin), headers, body });
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
