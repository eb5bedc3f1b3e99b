/**
 * A stand-in for Azure Resource Manager in unit tests: an `HttpClient` for the Azure SDK pipeline
 * that answers each request from a recorded JSON response under test/fixtures/arm-compute, and a
 * credential that hands out a fixed token. Requests without a recording fail loudly (HTTP 501).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createHttpHeaders, type HttpClient, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';

export const ARM_FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'arm-compute');
export const FAKE_TOKEN = 'recorded-arm-token';

export interface Recording {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH';
  /** The URL path, compared case-insensitively (as ARM does). */
  path: string;
  /** Query parameters that must be present with these values (others are ignored). */
  query?: Record<string, string>;
  status: number;
  /** A file in test/fixtures/arm-compute. */
  fixture: string;
}

export interface SeenRequest {
  method: string;
  url: URL;
  authorization: string | undefined;
}

export class RecordedArm implements HttpClient {
  readonly requests: SeenRequest[] = [];

  constructor(private readonly recordings: readonly Recording[]) {}

  async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    const url = new URL(request.url);
    this.requests.push({ method: request.method, url, authorization: request.headers.get('authorization') });
    const recording = this.recordings.find(
      (r) =>
        r.method === request.method &&
        r.path.toLowerCase() === url.pathname.toLowerCase() &&
        Object.entries(r.query ?? {}).every(([key, value]) => url.searchParams.get(key) === value),
    );
    const headers = createHttpHeaders({ 'content-type': 'application/json; charset=utf-8', 'x-ms-request-id': `req-${this.requests.length}` });
    if (recording === undefined) {
      const body = JSON.stringify({ error: { code: 'NoRecording', message: `No recording for ${request.method} ${url.pathname}${url.search}` } });
      return { request, status: 501, headers, bodyAsText: body };
    }
    return { request, status: recording.status, headers, bodyAsText: readFileSync(path.join(ARM_FIXTURES, recording.fixture), 'utf8') };
  }
}

/** A TokenCredential that always succeeds. */
export const fakeCredential = {
  getToken: async () => ({ token: FAKE_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }),
};
