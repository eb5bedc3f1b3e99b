/**
 * The HTTP client `npm start` drives the product with: JSON requests to the host's ARM-shaped API
 * (at the root path as ARM's, with `api-version`) and to the local VM fabric (`/fabric/…`). Requests
 * to the host carry a bearer token from the token source (the identity endpoint's managed identity
 * shape, see msiTokenSource), refreshed before it expires; other origins never see it. An error answer
 * becomes an ArmRequestError carrying the ARM envelope's code, message and recommendation; a 202 is
 * followed through its `Azure-AsyncOperation` to the job the operation names (or, when it has only a
 * `Location`, as for a container refresh, until that answers something other than 202).
 */
import type { ArmJobResource } from '../../lib/domain/arm/job-resource';
import type { ArmOperationStatus } from '../../lib/domain/arm/operation-resource';

export const API_VERSION = '2023-06-01';

const DEFAULT_POLL_INTERVAL_IN_MS = 250;
const DEFAULT_OPERATION_TIMEOUT_IN_MS = 60_000;

export interface ArmResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

interface ErrorEnvelope {
  error?: { code?: string; message?: string; target?: string; recommendation?: string };
}

/** An error answer of the API: the ARM envelope's code, message, target and recommendation. */
export class ArmRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly recommendation?: string,
    readonly target?: string,
  ) {
    super(message);
    this.name = 'ArmRequestError';
  }
}

/** Where a client gets access tokens: a token and its expiry (ms since the epoch). */
export type TokenSource = () => Promise<{ token: string; expiresOnInMs: number }>;

export interface ArmClientOptions {
  pollIntervalInMs?: number;
  operationTimeoutInMs?: number;
  /** Tokens for the host's API; without one, requests carry no Authorization header. */
  tokenSource?: TokenSource;
  /** Other origins that get the same token (the Key Vault emulator's admin API); every other origin never sees it. */
  signedInOrigins?: readonly string[];
}

/** Asks for a new token this long before the current one expires. */
const TOKEN_REFRESH_MARGIN_IN_MS = 5 * 60_000;

/** The resource (audience) tokens for Kluis's ARM API are asked for, as az asks for ARM's. */
export const ARM_RESOURCE = 'https://management.core.windows.net/';

/**
 * Tokens from the identity endpoint's App Service managed identity shape (what `az login --identity`
 * uses with MSI_ENDPOINT, MSI_SECRET and APPSETTING_WEBSITE_SITE_NAME).
 */
export function msiTokenSource(msiEndpoint: string, msiSecret: string, resource = ARM_RESOURCE): TokenSource {
  return async () => {
    const url = `${msiEndpoint}?${new URLSearchParams({ resource, 'api-version': '2019-08-01' }).toString()}`;
    const response = await fetch(url, { headers: { 'x-identity-header': msiSecret } });
    const body = parseJson(await response.text()) as { access_token?: string; expires_on?: string; error_description?: string } | undefined;
    if (response.status !== 200 || typeof body?.access_token !== 'string') {
      throw new ArmRequestError(response.status, 'SignInFailed', `The identity endpoint gave no token (HTTP ${response.status}${body?.error_description ? `: ${body.error_description}` : ''}).`);
    }
    return { token: body.access_token, expiresOnInMs: Number(body.expires_on) * 1000 };
  };
}

export class ArmClient {
  private readonly pollIntervalInMs: number;
  private readonly operationTimeoutInMs: number;
  private readonly tokenSource?: TokenSource;
  private token?: Promise<{ token: string; expiresOnInMs: number }>;

  constructor(
    /** scheme://host:port of the embedded host. */
    readonly origin: string,
    options: ArmClientOptions = {},
  ) {
    this.pollIntervalInMs = options.pollIntervalInMs ?? DEFAULT_POLL_INTERVAL_IN_MS;
    this.operationTimeoutInMs = options.operationTimeoutInMs ?? DEFAULT_OPERATION_TIMEOUT_IN_MS;
    this.tokenSource = options.tokenSource;
    this.signedIn = new Set([new URL(origin).origin, ...(options.signedInOrigins ?? []).map((other) => new URL(other).origin)]);
  }

  private readonly signedIn: Set<string>;

  /** The API base URL: the root path, as Azure Resource Manager's (`/api/…` is an alias). */
  get apiBase(): string {
    return this.origin;
  }

  /** A valid token for the host's API (undefined without a token source). */
  async accessToken(): Promise<string | undefined> {
    if (this.tokenSource === undefined) return undefined;
    const current = this.token === undefined ? undefined : await this.token.catch(() => undefined);
    if (current !== undefined && current.expiresOnInMs - TOKEN_REFRESH_MARGIN_IN_MS > Date.now()) return current.token;
    const next = this.tokenSource();
    this.token = next;
    return (await next).token;
  }

  /** `{apiBase}/{path}?api-version=…` (query parameters kept). */
  apiUrl(path: string, query: Record<string, string> = {}): string {
    const params = new URLSearchParams({ 'api-version': API_VERSION, ...query });
    return `${this.apiBase}/${path.replace(/^\/+/, '')}?${params.toString()}`;
  }

  /** `{origin}/fabric/{path}` */
  fabricUrl(path: string): string {
    return `${this.origin}/fabric/${path.replace(/^\/+/, '')}`;
  }

  /** Sends JSON, parses JSON; throws ArmRequestError for 4xx/5xx answers. */
  async send<T>(method: string, url: string, body?: unknown): Promise<ArmResponse<T>> {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    const token = this.signedIn.has(new URL(url).origin) ? await this.accessToken() : undefined;
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    const parsed = parseJson(text);
    if (response.status >= 400) throw requestError(response.status, parsed, `${method} ${new URL(url).pathname}`);
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  get<T>(url: string): Promise<ArmResponse<T>> {
    return this.send<T>('GET', url);
  }

  /** GET that answers undefined for 404. */
  async find<T>(url: string): Promise<T | undefined> {
    try {
      return (await this.get<T>(url)).body;
    } catch (err) {
      if (err instanceof ArmRequestError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * Follows a 202's `Azure-AsyncOperation` until the operation ends; returns the job it names (if
   * any). A failed operation throws its error.
   */
  async followOperation(accepted: ArmResponse<unknown>): Promise<string | undefined> {
    if (accepted.status !== 202) return undefined;
    const statusUrl = accepted.headers.get('azure-asyncoperation');
    const deadline = Date.now() + this.operationTimeoutInMs;
    if (statusUrl === null) {
      const resultUrl = accepted.headers.get('location');
      // A failed result answers its error, which send() throws.
      while (resultUrl !== null && (await this.get<unknown>(resultUrl)).status === 202) {
        if (Date.now() > deadline) throw new ArmRequestError(200, 'OperationTimedOut', `${resultUrl} still answers 202 after ${this.operationTimeoutInMs / 1000} s.`);
        await this.pause();
      }
      return undefined;
    }
    for (;;) {
      const { body } = await this.get<ArmOperationStatus>(statusUrl);
      if (body.status === 'Failed' || body.status === 'Canceled') {
        throw new ArmRequestError(200, body.error?.code ?? 'OperationFailed', body.error?.message ?? `The operation ${body.name} ended ${body.status}.`);
      }
      if (body.status !== 'InProgress') return body.properties?.jobId;
      if (Date.now() > deadline) throw new ArmRequestError(200, 'OperationTimedOut', `The operation ${body.name} is still in progress after ${this.operationTimeoutInMs / 1000} s.`);
      await this.pause();
    }
  }

  /** `{vaultPath}/backupJobs/{jobId}` */
  async job(vaultPath: string, jobId: string): Promise<ArmJobResource> {
    return (await this.get<ArmJobResource>(this.apiUrl(`${vaultPath}/backupJobs/${jobId}`))).body;
  }

  pause(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.pollIntervalInMs));
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function requestError(status: number, body: unknown, request: string): ArmRequestError {
  const error = typeof body === 'object' && body !== null ? (body as ErrorEnvelope).error : undefined;
  if (error?.code === undefined) {
    const detail = typeof body === 'string' && body !== '' ? `: ${body.slice(0, 200)}` : '';
    return new ArmRequestError(status, `Http${status}`, `${request} answered HTTP ${status}${detail}`);
  }
  return new ArmRequestError(status, error.code, error.message ?? `${request} answered HTTP ${status}`, error.recommendation, error.target);
}
