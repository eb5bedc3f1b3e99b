/**
 * How every ARM-shaped endpoint is declared: one `armRoute` call registers the HTTP function and
 * records the operation (method, path, request schema) for the OpenAPI document. Each operation is
 * served at the root path as ARM serves it (`/subscriptions/…`, host.json's routePrefix is empty) and
 * at the `/api/…` alias (a second function, `<operationId>__api`); the OpenAPI document lists the root
 * path once. Every request proves its caller with a bearer token first (authentication.ts). Handlers
 * receive the caller, the validated body and the route parameters and return a plain result; errors
 * become the ARM envelope `{error:{code,message,target,details}}` with the code's status.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { z } from 'zod';
import type { VaultRef } from '../../../lib/domain/arm-names';
import { errorResponse, readBody } from '../jobs';
import type { RecoveryPointRef } from '../../../lib/services/restore-requests';
import { checkArmScope, type ArmScopeCheck } from './scope';
import type { Caller } from '../../../lib/domain/access-token';
import { publicBaseUrl } from '../../../lib/domain/public-base-url';
import { getConfig } from '../../../lib/config';
import { callerOfRequest } from '../authentication';

export const VAULTS_PROVIDER = 'providers/Microsoft.RecoveryServices/vaults';
export const VAULT_ROUTE = `subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/${VAULTS_PROVIDER}/{vaultName}`;
export const ITEM_ROUTE = `${VAULT_ROUTE}/backupFabrics/{fabricName}/protectionContainers/{containerName}/protectedItems/{protectedItemName}`;

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface ArmRequest<TBody> {
  request: HttpRequest;
  context: InvocationContext;
  params: Record<string, string>;
  query: URLSearchParams;
  body: TBody;
  /**
   * The public base URL clients reach Kluis at (KLUIS_PUBLIC_BASE_URL, else X-Forwarded-Proto/Host,
   * else the request's scheme and host), for absolute URLs such as Location headers; no trailing slash.
   */
  baseUrl: string;
  /** Who called: the principal the request's access token proves. */
  caller: Caller;
}

/** The suffix of the function that serves an operation at its `/api/…` alias. */
export const API_ALIAS_SUFFIX = '__api';

export interface ArmRouteSpec<TBody> {
  /** Function name and OpenAPI operationId, e.g. 'Vaults_CreateOrUpdate'. */
  operationId: string;
  method: HttpMethod;
  route: string;
  summary: string;
  tag: string;
  body?: z.ZodType<TBody>;
  /** Whether the body may be omitted (e.g. POST refreshContainers). */
  bodyOptional?: boolean;
  /** Response codes and what they mean, for the OpenAPI document. */
  responses: Record<number, string>;
  /** Whether the handler needs a durable client (starts or queries orchestrations). */
  durable?: boolean;
  /** Which of the path's subscription and resource group must exist before the handler runs (default 'auto': both). */
  scope?: ArmScopeCheck;
  handler: (request: ArmRequest<TBody>) => Promise<HttpResponseInit>;
}

export interface RegisteredOperation {
  operationId: string;
  method: HttpMethod;
  route: string;
  summary: string;
  tag: string;
  body?: z.ZodType;
  responses: Record<number, string>;
}

const operations: RegisteredOperation[] = [];

export function registeredOperations(): readonly RegisteredOperation[] {
  return operations;
}

export function armRoute<TBody = undefined>(spec: ArmRouteSpec<TBody>): void {
  operations.push({
    operationId: spec.operationId,
    method: spec.method,
    route: spec.route,
    summary: spec.summary,
    tag: spec.tag,
    body: spec.body,
    responses: spec.responses,
  });
  const handler = async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    try {
      const caller = await callerOfRequest(request);
      await checkArmScope(spec.route, spec.scope ?? 'auto', request.params);
      const url = new URL(request.url);
      let body = undefined as TBody;
      if (spec.body) {
        const empty = spec.bodyOptional && (await request.clone().text()).trim() === '';
        body = empty ? spec.body.parse({}) : await readBody(request, spec.body);
      }
      return await spec.handler({ request, context, params: request.params, query: url.searchParams, body, baseUrl: baseUrlOf(request), caller });
    } catch (err) {
      return errorResponse(err, context);
    }
  };
  const registration = { methods: [spec.method], authLevel: 'anonymous' as const, extraInputs: spec.durable ? [df.input.durableClient()] : [], handler };
  app.http(spec.operationId, { ...registration, route: spec.route });
  app.http(`${spec.operationId}${API_ALIAS_SUFFIX}`, { ...registration, route: `api/${spec.route}` });
}

/** The public base URL of a request (see ArmRequest.baseUrl). */
export function baseUrlOf(request: HttpRequest): string {
  return publicBaseUrl({
    configured: getConfig().publicBaseUrl,
    requestUrl: request.url,
    forwardedProto: request.headers.get('x-forwarded-proto'),
    forwardedHost: request.headers.get('x-forwarded-host'),
  });
}

export function ok(body: unknown, status = 200): HttpResponseInit {
  return { status, jsonBody: body };
}

export function noContent(): HttpResponseInit {
  return { status: 204 };
}

/** A list in ARM's `{value:[…]}` envelope. */
export function list(value: unknown[]): HttpResponseInit {
  return { status: 200, jsonBody: { value } };
}

/**
 * The absolute URL of an ARM path (`subscriptions/…`, no leading slash) under the request's public base
 * URL (ArmRequest.baseUrl), at the root path as ARM serves it. Every URL Kluis hands out (Location,
 * Azure-AsyncOperation) is built here and nowhere else.
 */
export function armUrl(baseUrl: string, armPath: string): string {
  return `${baseUrl}/${armPath}`;
}

/**
 * Where a 202 points, as Azure points it for that operation: `status` (Azure-AsyncOperation, the
 * operation's status body) and `result` (Location, 202 while running and then the result). Every one
 * resolves the same vault-scoped operation record.
 */
export interface AsyncOperationPaths {
  status?: string;
  result: string;
}

export const asyncOperationPaths = {
  /** Vault-scoped: DELETE of a protected item (and Kluis's own long operations). */
  vault: (vaultPath: string, operationId: string): AsyncOperationPaths => ({
    status: `${vaultPath}/backupOperations/${operationId}`,
    result: `${vaultPath}/backupOperationResults/${operationId}`,
  }),
  /** Protected item PUT, backup now, restore: `{item}/operationsStatus/{id}` and `{item}/operationResults/{id}`. */
  item: (itemPath: string, operationId: string): AsyncOperationPaths => ({
    status: `${itemPath}/operationsStatus/${operationId}`,
    result: `${itemPath}/operationResults/${operationId}`,
  }),
  /** An operation on a protection container: Location `{container}/operationResults/{id}`. */
  container: (containerPath: string, operationId: string): AsyncOperationPaths => ({ result: `${containerPath}/operationResults/${operationId}` }),
  /** Container refresh: Location `{vault}/backupFabrics/{fabric}/operationResults/{id}` only. */
  fabric: (fabricPath: string, operationId: string): AsyncOperationPaths => ({ result: `${fabricPath}/operationResults/${operationId}` }),
  /** Job cancel: Location `{vault}/backupJobs/{job}/operationResults/{id}` only. */
  job: (jobPath: string, operationId: string): AsyncOperationPaths => ({ result: `${jobPath}/operationResults/${operationId}` }),
};

/** 202 Accepted for a long-running operation, pointing where Azure points for it; `Retry-After` says when to poll. */
export function accepted(baseUrl: string, paths: AsyncOperationPaths, retryAfterSeconds = 2): HttpResponseInit {
  const headers: Record<string, string> = { Location: armUrl(baseUrl, paths.result), 'Retry-After': String(retryAfterSeconds) };
  if (paths.status !== undefined) headers['Azure-AsyncOperation'] = armUrl(baseUrl, paths.status);
  return { status: 202, headers };
}

/** `subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/{name}` of a request. */
export function vaultPathOf(params: Record<string, string>): string {
  return `subscriptions/${params.subscriptionId}/resourceGroups/${params.resourceGroupName}/${VAULTS_PROVIDER}/${params.vaultName}`;
}

/** A route parameter back in a path; `;` (container and item names) stays as Azure writes it. */
const pathSegment = (value: string | undefined) => encodeURIComponent(value ?? '').replace(/%3B/gi, ';');

/** `{vault}/backupFabrics/{fabric}` of a request, as the client spelled it. */
export function fabricPathOf(params: Record<string, string>): string {
  return `${vaultPathOf(params)}/backupFabrics/${pathSegment(params.fabricName)}`;
}

/** `{vault}/backupFabrics/{fabric}/protectionContainers/{container}` of a request. */
export function containerPathOf(params: Record<string, string>): string {
  return `${fabricPathOf(params)}/protectionContainers/${pathSegment(params.containerName)}`;
}

/** `{container}/protectedItems/{item}` of a request. */
export function itemPathOf(params: Record<string, string>): string {
  return `${containerPathOf(params)}/protectedItems/${pathSegment(params.protectedItemName)}`;
}

/** `{vault}/backupJobs/{job}` of a request. */
export function jobPathOf(params: Record<string, string>): string {
  return `${vaultPathOf(params)}/backupJobs/${pathSegment(params.jobName)}`;
}

/** The vault a request's route names (VAULT_ROUTE's parameters; the services validate them). */
export function vaultRefOf(params: Record<string, string>): VaultRef {
  return { subscriptionId: params.subscriptionId ?? '', resourceGroup: params.resourceGroupName ?? '', vaultName: params.vaultName ?? '' };
}

/** The recovery point a request's route names (`{ITEM_ROUTE}/recoveryPoints/{recoveryPointId}/…`). */
export function recoveryPointRefOf(params: Record<string, string>): RecoveryPointRef {
  return {
    ...vaultRefOf(params),
    fabricName: params.fabricName ?? '',
    containerName: params.containerName ?? '',
    itemName: params.protectedItemName ?? '',
    recoveryPointId: params.recoveryPointId ?? '',
  };
}
