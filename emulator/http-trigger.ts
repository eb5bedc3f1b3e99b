/** Converts between HTTP exchanges and the worker's RPC shapes for `httpTrigger` functions. */
import type { RegisteredFunction } from './functions-core';
import type { RpcHttpData, RpcInvocationResponse, RpcTypedData } from './functions-core-types';
import type { HostRequest, HostResponse } from './http-types';

export function toRpcHttpRequest(request: HostRequest, params: Record<string, string>): RpcTypedData {
  const headers: Record<string, string> = {};
  request.headers.forEach((value, key) => {
    headers[key] = value;
  });
  const query: Record<string, string> = {};
  request.url.searchParams.forEach((value, key) => {
    query[key] = value;
  });
  const http: RpcHttpData = {
    method: request.method.toUpperCase(),
    url: request.url.toString(),
    headers,
    query,
    params,
    body: request.body.length > 0 ? { bytes: request.body } : undefined,
  };
  return { http };
}

function httpOutputName(fn: RegisteredFunction): string | undefined {
  return Object.entries(fn.metadata.bindings).find(([, b]) => b.direction === 'out' && (b.type ?? '').toLowerCase() === 'http')?.[0];
}

function bodyBytes(body: RpcTypedData | null | undefined): Buffer | undefined {
  if (!body) return undefined;
  if (body.bytes != null) return Buffer.from(body.bytes);
  if (body.string != null) return Buffer.from(body.string, 'utf8');
  if (body.json != null) return Buffer.from(body.json, 'utf8');
  return undefined;
}

export function fromRpcHttpResponse(fn: RegisteredFunction, response: RpcInvocationResponse): HostResponse {
  const name = httpOutputName(fn);
  const data = name === '$return' || name === undefined ? response.returnValue : response.outputData?.find((o) => o.name === name)?.data;
  const http = data?.http;
  if (!http) return { status: 204 };
  const headers: Record<string, string | string[]> = { ...(http.headers ?? {}) };
  const cookies = (http.cookies ?? []) as { name?: string; value?: string; path?: string; httpOnly?: boolean }[];
  if (cookies.length > 0) {
    headers['set-cookie'] = cookies.map((c) => `${c.name}=${c.value}${c.path ? `; Path=${c.path}` : ''}${c.httpOnly ? '; HttpOnly' : ''}`);
  }
  return { status: Number(http.statusCode ?? 200), headers, body: bodyBytes(http.body) };
}
