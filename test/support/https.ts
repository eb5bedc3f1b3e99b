/**
 * HTTPS requests that trust one CA for this request only (Node's global fetch cannot be given a CA),
 * as each client of the local CA is pointed at ca.pem — nothing is installed in a trust store.
 */
import https from 'node:https';
import { rootCertificates } from 'node:tls';

export interface HttpsResult<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

export interface HttpsOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** PEM of the CA to trust (with Node's roots); without it only Node's roots are trusted. */
  ca?: string;
}

export function httpsRequest<T = unknown>(url: string, options: HttpsOptions = {}): Promise<HttpsResult<T>> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, ...(options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca] }), agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text === '' ? '' : JSON.parse(text);
          } catch {
            body = text;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: body as T, text });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}
