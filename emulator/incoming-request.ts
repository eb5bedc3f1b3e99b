/** Reading a Node HTTP request into the hosts' request shape: its headers, and its body up to a limit. */
import type http from 'node:http';

export class BodyTooLarge extends Error {
  constructor(readonly limitInBytes: number) {
    super(`The request body is larger than ${limitInBytes} bytes.`);
  }
}

/** The whole body; rejects with BodyTooLarge past `maxBytes` (the rest is drained so a response can still be sent). */
export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new BodyTooLarge(maxBytes));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function headersOf(req: http.IncomingMessage): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) value.forEach((v) => headers.append(key, v));
    else if (value !== undefined) headers.set(key, value);
  }
  return headers;
}
