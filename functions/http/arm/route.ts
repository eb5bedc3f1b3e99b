/**
 * How every ARM-shaped endpoint is declared: one `armRoute` call registers the HTTP function and
 * records the operation (method, path, request schema) for the OpenAPI document. Each operation is
 * served at the root path as ARM serves it (`/subscriptions/…`, host.json's routePrefix is empty) and
 * at the `/api/…` alias (a second function, `<operationId>__api`); the OpenAPI document lists the root
 * path once. Every request proves its caller with a bearer token first (authentication.ts), then the
 * caller's roles must allow the route's Azure action at the request's scope (its path) — before ARM's
 * checks that the subscription and resource group exist, so a caller without access learns nothing.
 * Handlers receive the caller, what it may do (`access`), the validated body and the route parameters
 * and return a plain result; errors become the ARM envelope `{error:{code,message,target,details}}`
 * with the code's status. Every write and every refused request is recorded in the activity log.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { z } from 'zod';
import type { VaultRef } from '../../../lib/domain/arm-names';
import { errorResponse, readBody } from '../jobs';
import type { RecoveryPointRef } from '../../../lib/services/restore-requests';
import { checkArmScope, type ArmScopeCheck } from './scope';
import type { Caller } from '../../../lib/domain/access-token';
import type { Initiator } from '../../../lib/domain/catalog';
import { publicBaseUrl } from '../../../lib/domain/public-base-url';
import { getConfig } from '../../../lib/config';
import { callerOfRequest } from '../authentication';
import { randomUUID } from 'node:crypto';
import { isAzureActionName } from '../../../lib/domain/authorization/actions';
import { parseScope, scopeOfRoute } from '../../../lib/domain/authorization/scope';
import { describeFailure, errors } from '../../../lib/domain/errors';
import { insecureNoAuth } from '../../../lib/config/host-mode';
import { appNow } from '../../../lib/config/host-clock';
import { requestAccess, unrestrictedAccess, type RequestAccess } from '../../../lib/services/authorization';
import { recordActivity } from '../../../lib/services/activity-log';
import { activityLogDeps, authorizationDeps } from '../../deps';
import { deadlineInMs, requestDeadlineKind, startRequestDeadline, withinDeadline, type RequestDeadlineKind } from './request-deadline';

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
  /** What the caller may do (its role assignments), for checks beyond the route's own action. */
  access: RequestAccess;
  /** The scope the request acts on (its path, e.g. `/subscriptions/…/vaults/v1/backupJobs`). */
  scope: string;
  /** The route's Azure action (placeholders filled in), e.g. for ARM's linked checks (`access.demandLinked`). */
  action: string;
}

/**
 * How a route checks its caller before the handler runs:
 *  - `scope` (default): the caller may perform the route's action at the request's scope;
 *  - `filtered`: a list that shows only what the caller may read (the handler filters with `access`);
 *  - `anyRole`: the caller holds any role at, above or below the scope (ARM shows a subscription so);
 *  - `signedIn`: any signed-in caller (tenant-wide discovery: tenants, providers, one's own permissions).
 */
export type AccessCheck = 'scope' | 'filtered' | 'anyRole' | 'signedIn';

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
  /**
   * The Azure action the operation performs, as Azure RBAC names it (e.g.
   * `Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action`):
   * the caller's roles must allow it at the request's scope (see `access`). Required for every route.
   */
  action: string;
  /** How the caller is checked (default 'scope'). */
  access?: AccessCheck;
  /**
   * Which server-side deadline the request has (request-deadline.ts): by default GET/HEAD `read`, a route that
   * answers 202 `longOperation`, any other `write`; `none` for work that grows with the data.
   */
  deadline?: RequestDeadlineKind | 'none';
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
  action: string;
  access: AccessCheck;
}

const operations: RegisteredOperation[] = [];

export function registeredOperations(): readonly RegisteredOperation[] {
  return operations;
}

export function armRoute<TBody = undefined>(spec: ArmRouteSpec<TBody>): void {
  if (typeof spec.action !== 'string' || !isAzureActionName(actionOf(spec.action, {}))) throw new Error(`Route ${spec.operationId} declares no Azure action (got '${String(spec.action)}').`);
  const check = spec.access ?? 'scope';
  const deadlineKind = requestDeadlineKind(spec.method, spec.responses, spec.deadline);
  operations.push({
    operationId: spec.operationId,
    method: spec.method,
    route: spec.route,
    summary: spec.summary,
    tag: spec.tag,
    body: spec.body,
    responses: spec.responses,
    action: spec.action,
    access: check,
  });
  const handler = async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const scope = scopeOfRoute(spec.route, request.params);
    const action = actionOf(spec.action, request.params);
    let caller: Caller | undefined;
    let failure: unknown;
    let response: HttpResponseInit;
    const deadline = startRequestDeadline(deadlineKind === 'none' ? undefined : configuredDeadlineInMs(deadlineKind), deadlineKind);
    const work = async (): Promise<HttpResponseInit> => {
      caller = await callerOf(request);
      const access = await accessOf(caller);
      await authorize(check, action, scope, access);
      await checkArmScope(spec.route, spec.scope ?? 'auto', request.params);
      const url = new URL(request.url);
      let body = undefined as TBody;
      if (spec.body) {
        const empty = spec.bodyOptional && (await request.clone().text()).trim() === '';
        body = empty ? spec.body.parse({}) : await readBody(request, spec.body);
      }
      return spec.handler({ request, context, params: request.params, query: url.searchParams, body, baseUrl: baseUrlOf(request), caller, access, scope, action });
    };
    try {
      response = await withinDeadline(work(), deadline, (err) => context.warn(`${spec.operationId} failed after its deadline had passed: ${describeFailure(err).code}.`));
    } catch (err) {
      failure = err;
      response = errorResponse(err, context);
    }
    const status = response.status ?? 200;
    if (caller !== undefined && (!['GET', 'HEAD'].includes(spec.method) || status === 403)) {
      const parsed = parseScope(scope);
      const recorded = recordActivity(
        activityLogDeps(),
        {
          eventId: randomUUID(),
          time: appNow().toISOString(),
          ...(parsed?.subscriptionId === undefined ? {} : { subscriptionId: parsed.subscriptionId }),
          ...(parsed?.resourceGroup === undefined ? {} : { resourceGroup: parsed.resourceGroup }),
          resourceId: scope,
          action,
          method: spec.method,
          httpStatus: status,
          ...(failure === undefined ? {} : { errorCode: describeFailure(failure).code }),
          caller: { objectId: caller.objectId, tenantId: caller.tenantId, principalType: caller.principalType, ...(caller.name === undefined ? {} : { name: caller.name }), ...(caller.applicationId === undefined ? {} : { applicationId: caller.applicationId }) },
          correlationId: correlationIdOf(request),
          ...(clientAddressOf(request) === undefined ? {} : { clientIpAddress: clientAddressOf(request) }),
        },
        (err) => context.warn(`Activity log: the event of ${spec.operationId} was not recorded (${err instanceof Error ? err.name : 'error'}).`),
      );
      // The record waits for the catalog too: past the deadline it is written in the background.
      await Promise.race([recorded, deadline.expired.catch(() => undefined)]);
    }
    deadline.clear();
    return response;
  };
  const registration = { methods: [spec.method], authLevel: 'anonymous' as const, extraInputs: spec.durable ? [df.input.durableClient()] : [], handler };
  app.http(spec.operationId, { ...registration, route: spec.route });
  app.http(`${spec.operationId}${API_ALIAS_SUFFIX}`, { ...registration, route: `api/${spec.route}` });
}

/** The configured deadline of a kind of route; none while the settings are invalid (the request answers that error itself). */
function configuredDeadlineInMs(kind: RequestDeadlineKind): number | undefined {
  try {
    return deadlineInMs(kind, getConfig().requestDeadlines);
  } catch {
    return undefined;
  }
}

/** A route's action with its `{parameter}` placeholders filled in (`{resourceProviderNamespace}/register/action`). */
function actionOf(template: string, params: Record<string, string>): string {
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, (_match, name: string) => params[name] ?? 'Microsoft.Unknown');
}

/** Who calls with `--insecure-no-auth` (kluis-host on a loopback bind only). */
export const ANONYMOUS_CALLER: Caller = { objectId: '00000000-0000-0000-0000-000000000000', tenantId: '00000000-0000-0000-0000-000000000000', name: 'anonymous (--insecure-no-auth)', principalType: 'User' };

function callerOf(request: HttpRequest): Promise<Caller> {
  return insecureNoAuth() ? Promise.resolve(ANONYMOUS_CALLER) : callerOfRequest(request);
}

async function accessOf(caller: Caller): Promise<RequestAccess> {
  return insecureNoAuth() ? unrestrictedAccess(caller) : requestAccess(await authorizationDeps(), caller);
}

/** The route's check of its caller (AccessCheck) at the request's scope; AuthorizationFailed when refused. */
async function authorize(check: AccessCheck, action: string, scope: string, access: RequestAccess): Promise<void> {
  if (check === 'scope') return access.demand(action, scope);
  if (check === 'anyRole' && !(await access.holdsAnyRoleAround(scope))) throw errors.authorizationFailed(access.caller, action, scope);
}

const CORRELATION_ID = /^[A-Za-z0-9-]{1,64}$/;

/** The client's correlation id (x-ms-correlation-request-id / x-ms-client-request-id) when well-formed, else a new one. */
function correlationIdOf(request: HttpRequest): string {
  const given = request.headers.get('x-ms-correlation-request-id') ?? request.headers.get('x-ms-client-request-id') ?? '';
  return CORRELATION_ID.test(given) ? given : randomUUID();
}

function clientAddressOf(request: HttpRequest): string | undefined {
  const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim();
  return forwarded !== undefined && /^[0-9a-fA-F:.]{2,45}$/.test(forwarded) ? forwarded : undefined;
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

/** Who a job or operation started by this request names as its initiator. */
export function initiatorOf(caller: Caller): Initiator {
  return { objectId: caller.objectId, ...(caller.name === undefined ? {} : { name: caller.name }), principalType: caller.principalType };
}

/** The items of a list the caller may read: `action` allowed at each item's id (lists with access 'filtered'). */
export async function readableBy<T>(access: RequestAccess, action: string, items: readonly T[], idOf: (item: T) => string): Promise<T[]> {
  const allowed = await Promise.all(items.map((item) => access.permits(action, idOf(item))));
  return items.filter((_item, i) => allowed[i]);
}
