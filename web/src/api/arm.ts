/**
 * The dashboard's only way to the server: Azure Resource Manager's public API at this origin, with
 * the signed-in user's bearer token. Errors become ArmError with ARM's code, message, target and
 * Kluis's recommendation; long operations (202) are followed to their end through
 * Azure-AsyncOperation / Location, as the official clients do.
 */
import type { ArmList } from './types';

export class ArmError extends Error {
  override readonly name = 'ArmError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly target?: string,
    readonly recommendation?: string,
  ) {
    super(message);
  }
}

export type TokenSource = () => Promise<string>;

export interface ArmResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

interface ErrorBody {
  error?: { code?: string; message?: string; target?: string; recommendation?: string };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ArmClient {
  constructor(
    private readonly token: TokenSource,
    /** Called when the API refuses the token (401): the session is over. */
    private readonly onUnauthorized: () => void = () => undefined,
    private readonly base = '',
  ) {}

  /** `path` is an ARM path (`/subscriptions/…`) or an absolute URL of this origin; `apiVersion` is added. */
  async request<T>(method: string, path: string, apiVersion: string, body?: unknown): Promise<ArmResponse<T>> {
    const url = new URL(path, window.location.origin + this.base);
    if (!url.searchParams.has('api-version')) url.searchParams.set('api-version', apiVersion);
    const headers: Record<string, string> = { authorization: `Bearer ${await this.token()}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!response.ok) {
      if (response.status === 401) this.onUnauthorized();
      const error = (parsed as ErrorBody | undefined)?.error;
      throw new ArmError(response.status, error?.code ?? `Http${response.status}`, error?.message ?? `${method} ${url.pathname} answered ${response.status}.`, error?.target, error?.recommendation);
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  async get<T>(path: string, apiVersion: string): Promise<T> {
    return (await this.request<T>('GET', path, apiVersion)).body;
  }

  /** Every page of a list (`nextLink`). */
  async list<T>(path: string, apiVersion: string): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = path;
    while (next !== undefined) {
      const page: ArmList<T> = await this.get<ArmList<T>>(next, apiVersion);
      items.push(...(page.value ?? []));
      next = page.nextLink;
    }
    return items;
  }

  put<T>(path: string, apiVersion: string, body: unknown): Promise<ArmResponse<T>> {
    return this.request<T>('PUT', path, apiVersion, body);
  }

  patch<T>(path: string, apiVersion: string, body: unknown): Promise<ArmResponse<T>> {
    return this.request<T>('PATCH', path, apiVersion, body);
  }

  post<T>(path: string, apiVersion: string, body?: unknown): Promise<ArmResponse<T>> {
    return this.request<T>('POST', path, apiVersion, body ?? {});
  }

  delete<T>(path: string, apiVersion: string): Promise<ArmResponse<T>> {
    return this.request<T>('DELETE', path, apiVersion);
  }

  /**
   * Follows a 202 to its end: polls Azure-AsyncOperation (else Location) until the operation is no
   * longer InProgress (a Location address says so with 204). Returns the operation's body (`properties.jobId` names the job it started).
   */
  async settle(response: ArmResponse<unknown>, apiVersion: string, timeoutInMs = 60_000): Promise<OperationStatusBody> {
    if (response.status !== 202) return { status: 'Succeeded' };
    const statusUrl = response.headers.get('azure-asyncoperation') ?? response.headers.get('location');
    if (statusUrl === null) return { status: 'Succeeded' };
    const deadline = Date.now() + timeoutInMs;
    for (;;) {
      const polled = await this.request<OperationStatusBody | undefined>('GET', statusUrl, apiVersion);
      const body = polled.body;
      // Azure-AsyncOperation answers 200 with a status; Location answers 202 while running and 204 (or 200) once done.
      const done = polled.status !== 202 && body?.status !== 'InProgress';
      if (done) {
        if (body?.status === 'Failed') throw new ArmError(200, body.error?.code ?? 'OperationFailed', body.error?.message ?? 'The operation failed.');
        return body ?? { status: 'Succeeded' };
      }
      if (Date.now() > deadline) throw new ArmError(0, 'OperationTimedOut', 'The operation did not finish in time; see its job.');
      const retryAfter = Number(polled.headers.get('retry-after') ?? '1');
      await sleep(Math.min(Math.max(retryAfter, 0.5), 5) * 1000);
    }
  }
}

export interface OperationStatusBody {
  status?: string;
  error?: { code?: string; message?: string };
  properties?: { jobId?: string; objectType?: string };
}
