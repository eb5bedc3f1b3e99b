/**
 * The activity log: who did what, when, with what result — every write (PUT, PATCH, DELETE, POST) and
 * every refused request — in the shape of Azure Monitor's activity log
 * (`GET /subscriptions/{s}/providers/Microsoft.Insights/eventtypes/management/values`, EventData of
 * api-version 2015-04-01): `caller`, `authorization {action, scope}`, `operationName`, `status`,
 * `subStatus`, `eventTimestamp`, `resourceId`, `httpRequest {method}`, `properties {statusCode}`.
 * A token, key or request body is never part of an event.
 */
import type { Caller } from './access-token';
import { parseFilterTime } from './arm/odata-filter';
import { errors } from './errors';

export interface ActivityEventRecord {
  eventId: string;
  /** ISO time the request finished. */
  time: string;
  subscriptionId?: string;
  resourceGroup?: string;
  /** The scope the request acted on (its path). */
  resourceId: string;
  /** The Azure action the route performs. */
  action: string;
  method: string;
  httpStatus: number;
  /** The error code of a failed request (AuthorizationFailed for a refused one). */
  errorCode?: string;
  caller: Pick<Caller, 'objectId' | 'tenantId' | 'principalType'> & { name?: string; applicationId?: string };
  correlationId: string;
  clientIpAddress?: string;
}

/** Rows sort newest first: the row key starts with the time counted down from the year 2286. */
export function activityRowKey(time: Date, eventId: string): string {
  return `${String(9_999_999_999_999 - time.getTime()).padStart(13, '0')}-${eventId}`;
}

export function activityPartition(subscriptionId: string | undefined): string {
  return subscriptionId === undefined ? 'tenant' : subscriptionId.toLowerCase();
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'NoContent',
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};

function providerOf(action: string): string {
  return action.split('/')[0] ?? '';
}

function resourceTypeOf(action: string): string {
  const parts = action.split('/');
  return parts.slice(0, parts.length > 2 ? -1 : parts.length).join('/');
}

/** One event as Azure Monitor's activity log answers it. */
export function activityEventResource(event: ActivityEventRecord): Record<string, unknown> {
  const succeeded = event.httpStatus < 400;
  const status = event.httpStatus === 202 ? 'Accepted' : succeeded ? 'Succeeded' : 'Failed';
  const caller = event.caller.name ?? event.caller.objectId;
  const ticks = BigInt(Date.parse(event.time)) * 10_000n + 621_355_968_000_000_000n;
  return {
    authorization: { action: event.action, scope: event.resourceId },
    caller,
    channels: 'Operation',
    claims: {
      oid: event.caller.objectId,
      tid: event.caller.tenantId,
      ...(event.caller.applicationId === undefined ? {} : { appid: event.caller.applicationId }),
      ...(event.caller.name === undefined ? {} : { name: event.caller.name }),
      idtyp: event.caller.principalType === 'User' ? 'user' : 'app',
    },
    correlationId: event.correlationId,
    description: '',
    eventDataId: event.eventId,
    eventName: { value: 'EndRequest', localizedValue: 'End request' },
    category: { value: 'Administrative', localizedValue: 'Administrative' },
    eventTimestamp: event.time,
    id: `${event.resourceId}/events/${event.eventId}/ticks/${ticks}`,
    level: succeeded ? 'Informational' : event.httpStatus === 403 || event.httpStatus === 401 ? 'Warning' : 'Error',
    operationId: event.correlationId,
    operationName: { value: event.action, localizedValue: event.action },
    ...(event.resourceGroup === undefined ? {} : { resourceGroupName: event.resourceGroup }),
    resourceProviderName: { value: providerOf(event.action), localizedValue: providerOf(event.action) },
    resourceType: { value: resourceTypeOf(event.action), localizedValue: resourceTypeOf(event.action) },
    resourceId: event.resourceId,
    status: { value: status, localizedValue: status },
    subStatus: { value: STATUS_TEXT[event.httpStatus] ?? String(event.httpStatus), localizedValue: STATUS_TEXT[event.httpStatus] ?? String(event.httpStatus) },
    submissionTimestamp: event.time,
    ...(event.subscriptionId === undefined ? {} : { subscriptionId: event.subscriptionId }),
    tenantId: event.caller.tenantId,
    httpRequest: { clientRequestId: event.correlationId, clientIpAddress: event.clientIpAddress ?? '', method: event.method },
    properties: { statusCode: STATUS_TEXT[event.httpStatus] ?? String(event.httpStatus), ...(event.errorCode === undefined ? {} : { statusMessage: event.errorCode }) },
  };
}

export interface ActivityFilter {
  from: Date;
  to?: Date;
  resourceGroupName?: string;
  resourceUri?: string;
  caller?: string;
  correlationId?: string;
}

const CLAUSE = /^(eventTimestamp)\s+(ge|le)\s+'([^']*)'$|^(resourceGroupName|resourceUri|caller|correlationId)\s+eq\s+'([^']*)'$/i;

/**
 * The activity log's `$filter` (Azure Monitor requires a start time):
 * `eventTimestamp ge '…' [and eventTimestamp le '…'] [and resourceGroupName eq '…' | resourceUri eq '…' | caller eq '…' | correlationId eq '…']`.
 */
export function parseActivityFilter(filter: string | null | undefined): ActivityFilter {
  if (filter === null || filter === undefined || filter.trim() === '') {
    throw errors.invalidRequest('$filter', "The activity log needs a $filter with a start time: eventTimestamp ge '2026-01-01T00:00:00Z'.");
  }
  const result: Partial<ActivityFilter> = {};
  for (const raw of filter.split(/\s+and\s+/i)) {
    const match = CLAUSE.exec(raw.trim());
    if (match === null) throw errors.invalidRequest('$filter', `The filter clause '${raw.trim().slice(0, 80)}' is not supported here.`);
    if (match[1] !== undefined) {
      const time = parseFilterTime(match[3], 'eventTimestamp');
      if (match[2].toLowerCase() === 'ge') result.from = time;
      else result.to = time;
    } else {
      const field = match[4].toLowerCase();
      const value = match[5];
      if (field === 'resourcegroupname') result.resourceGroupName = value;
      else if (field === 'resourceuri') result.resourceUri = value;
      else if (field === 'caller') result.caller = value;
      else result.correlationId = value;
    }
  }
  if (result.from === undefined) throw errors.invalidRequest('$filter', "The filter needs a start time: eventTimestamp ge '…'.");
  return result as ActivityFilter;
}

/** Whether an event passes the filter. */
export function activityMatches(event: ActivityEventRecord, filter: ActivityFilter): boolean {
  const time = Date.parse(event.time);
  if (time < filter.from.getTime() || (filter.to !== undefined && time > filter.to.getTime())) return false;
  if (filter.resourceGroupName !== undefined && event.resourceGroup?.toLowerCase() !== filter.resourceGroupName.toLowerCase()) return false;
  if (filter.resourceUri !== undefined && event.resourceId.toLowerCase() !== filter.resourceUri.toLowerCase()) return false;
  if (filter.caller !== undefined && ![event.caller.objectId, event.caller.name].some((who) => who?.toLowerCase() === filter.caller!.toLowerCase())) return false;
  if (filter.correlationId !== undefined && event.correlationId !== filter.correlationId) return false;
  return true;
}
