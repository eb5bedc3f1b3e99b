/**
 * The Durable Functions HTTP API (`/runtime/webhooks/durabletask/...`) over the embedded engine, and the
 * `durableClient` binding payload that makes the unchanged `df.getClient(context)` talk to it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { HostRequest, HostResponse } from '../http-types';
import { DurableApiError, DurableEngine } from './engine';
import { eventTypeName, HistoryEvent, isTerminal, parseJsonString, RuntimeStatus } from './history';
import type { OrchestrationState } from './episode';

export const durableWebhookPath = '/runtime/webhooks/durabletask';

export interface DurableApiOptions {
  engine: DurableEngine;
  hubName: string;
  /** Origin the URLs point at, e.g. http://127.0.0.1:7071 */
  origin: () => string;
  /** Key accepted in `code`; omit to serve the API without keys. */
  systemKey?: string;
  masterKey?: string;
  listPageSize?: number;
}

/** The system key the Durable extension puts in its webhook URLs, derived from the host's master key. */
export function durableSystemKey(masterKey: string): string {
  return createHmac('sha256', masterKey).update('durabletask_extension').digest('base64url');
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): HostResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

function flag(query: URLSearchParams, name: string): boolean {
  return (query.get(name) ?? '').toLowerCase() === 'true';
}

function sameKey(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export class DurableHttpApi {
  constructor(private readonly options: DurableApiOptions) {}

  private get base(): string {
    return `${this.options.origin()}${durableWebhookPath}`;
  }

  private get query(): string {
    const code = this.options.systemKey ? `&code=${encodeURIComponent(this.options.systemKey)}` : '';
    return `taskHub=${encodeURIComponent(this.options.hubName)}&connection=Storage${code}`;
  }

  /** The management URLs for one instance (what `createCheckStatusResponse` returns). */
  managementUrls(instanceId: string): Record<string, string> {
    const id = encodeURIComponent(instanceId);
    const templates = this.clientBinding().managementUrls;
    const urls: Record<string, string> = { id: instanceId };
    for (const [key, value] of Object.entries(templates)) {
      if (key !== 'id') urls[key] = value.replace('INSTANCEID', id);
    }
    return urls;
  }

  /** The payload of a `durableClient` input binding. */
  clientBinding() {
    const instance = `${this.base}/instances/INSTANCEID`;
    return {
      taskHubName: this.options.hubName,
      creationUrls: {
        createNewInstancePostUri: `${this.base}/orchestrators/{functionName}[/{instanceId}]?${this.query}`,
        createAndWaitOnNewInstancePostUri: `${this.base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${this.query}`,
      },
      managementUrls: {
        id: 'INSTANCEID',
        statusQueryGetUri: `${instance}?${this.query}`,
        sendEventPostUri: `${instance}/raiseEvent/{eventName}?${this.query}`,
        terminatePostUri: `${instance}/terminate?reason={text}&${this.query}`,
        rewindPostUri: `${instance}/rewind?reason={text}&${this.query}`,
        purgeHistoryDeleteUri: `${instance}?${this.query}`,
        restartPostUri: `${instance}/restart?${this.query}`,
        suspendPostUri: `${instance}/suspend?reason={text}&${this.query}`,
        resumePostUri: `${instance}/resume?reason={text}&${this.query}`,
      },
      baseUrl: this.base,
      requiredQueryStringParameters: this.query,
    };
  }

  private authorized(request: HostRequest): boolean {
    const { systemKey, masterKey } = this.options;
    if (!systemKey) return true;
    const code = request.url.searchParams.get('code') ?? request.headers.get('x-functions-key') ?? '';
    return sameKey(code, systemKey) || (masterKey !== undefined && sameKey(code, masterKey));
  }

  /** Handles a request under the webhook path, or returns undefined when the path is not ours. */
  async handle(request: HostRequest): Promise<HostResponse | undefined> {
    const path = request.url.pathname;
    if (!path.toLowerCase().startsWith(durableWebhookPath)) return undefined;
    if (!this.authorized(request)) return json(401, { error: 'A valid system key (code) is required for the Durable HTTP API.' });
    const parts = path.slice(durableWebhookPath.length).split('/').filter(Boolean).map(decodeURIComponent);
    try {
      return await this.route(request, parts);
    } catch (err) {
      if (err instanceof DurableApiError) return json(err.status, { error: err.message });
      throw err;
    }
  }

  private async route(request: HostRequest, parts: string[]): Promise<HostResponse> {
    const method = request.method.toUpperCase();
    const query = request.url.searchParams;
    const [collection, id, action, argument] = parts;
    if (collection === 'orchestrators' && id && method === 'POST') {
      const text = request.body.toString('utf8');
      const input = text.length > 0 ? parseJsonString(text) : undefined;
      const instanceId = await this.options.engine.startNew(id, action, input);
      return json(202, this.managementUrls(instanceId), { location: this.managementUrls(instanceId).statusQueryGetUri });
    }
    if (collection !== 'instances') return json(404, { error: `Unknown Durable API path ${request.url.pathname}` });
    if (!id) {
      if (method === 'GET') return this.list(request);
      if (method === 'DELETE') return this.purgeMany(query);
      return json(405, { error: `${method} is not allowed on ${request.url.pathname}` });
    }
    if (!action) {
      if (method === 'GET') return this.status(id, query);
      if (method === 'DELETE') {
        const deleted = await this.options.engine.purge(id);
        return deleted ? json(200, { instancesDeleted: 1 }) : json(404, { error: `No instance with ID '${id}' found.` });
      }
      return json(405, { error: `${method} is not allowed on an instance` });
    }
    const reason = query.get('reason') ?? undefined;
    if (method !== 'POST') return json(405, { error: `${action} requires POST` });
    switch (action.toLowerCase()) {
      case 'raiseevent': {
        if (!argument) return json(400, { error: 'An event name is required: /instances/{id}/raiseEvent/{eventName}' });
        const text = request.body.toString('utf8');
        await this.options.engine.raiseEvent(id, argument, text.length > 0 ? parseJsonString(text) : undefined);
        return { status: 202 };
      }
      case 'terminate':
        await this.options.engine.terminate(id, reason);
        return { status: 202 };
      case 'suspend':
        await this.options.engine.suspend(id, reason);
        return { status: 202 };
      case 'resume':
        await this.options.engine.resume(id, reason);
        return { status: 202 };
      default:
        return json(501, { error: `The embedded host does not support '${action}'.` });
    }
  }

  private async status(instanceId: string, query: URLSearchParams): Promise<HostResponse> {
    const state = await this.options.engine.getState(instanceId);
    if (!state) return json(404, { error: `No instance with ID '${instanceId}' found.` });
    const body = statusBody(state, {
      showHistory: flag(query, 'showHistory'),
      showHistoryOutput: flag(query, 'showHistoryOutput'),
      showInput: query.get('showInput') === null ? true : flag(query, 'showInput'),
    });
    const code = state.status === 'Completed' ? 200 : state.status === 'Failed' || state.status === 'Terminated' ? 400 : 202;
    const headers: Record<string, string> = isTerminal(state.status) ? {} : { location: this.managementUrls(instanceId).statusQueryGetUri, 'retry-after': '1' };
    return json(code, body, headers);
  }

  private async list(request: HostRequest): Promise<HostResponse> {
    const query = request.url.searchParams;
    const statuses = (query.get('runtimeStatus') ?? '').split(',').filter(Boolean) as RuntimeStatus[];
    const top = Number(query.get('top') ?? this.options.listPageSize ?? 100);
    const page = await this.options.engine.list({
      runtimeStatus: statuses,
      createdTimeFrom: query.get('createdTimeFrom') ?? undefined,
      createdTimeTo: query.get('createdTimeTo') ?? undefined,
      instanceIdPrefix: query.get('instanceIdPrefix') ?? undefined,
      top: Number.isFinite(top) && top > 0 ? top : 100,
      continuationToken: request.headers.get('x-ms-continuation-token') ?? undefined,
    });
    const showInput = flag(query, 'showInput');
    const items = page.items.map((item) => ({
      name: item.name,
      instanceId: item.instanceId,
      runtimeStatus: item.runtimeStatus,
      input: showInput ? parseJsonString(item.input) : null,
      customStatus: parseJsonString(item.customStatus) ?? null,
      output: parseJsonString(item.output) ?? null,
      createdTime: item.createdTime,
      lastUpdatedTime: item.lastUpdatedTime,
    }));
    return json(200, items, page.continuationToken ? { 'x-ms-continuation-token': page.continuationToken } : {});
  }

  private async purgeMany(query: URLSearchParams): Promise<HostResponse> {
    const statuses = (query.get('runtimeStatus') ?? 'Completed,Failed,Terminated').split(',').filter(Boolean) as RuntimeStatus[];
    let deleted = 0;
    let continuationToken: string | undefined;
    do {
      const page = await this.options.engine.list({
        runtimeStatus: statuses.filter((s) => isTerminal(s)),
        createdTimeFrom: query.get('createdTimeFrom') ?? undefined,
        createdTimeTo: query.get('createdTimeTo') ?? undefined,
        top: 100,
        continuationToken,
      });
      for (const item of page.items) if (await this.options.engine.purge(item.instanceId)) deleted++;
      continuationToken = page.continuationToken;
    } while (continuationToken);
    return deleted > 0 ? json(200, { instancesDeleted: deleted }) : json(404, { instancesDeleted: 0 });
  }
}

/** The status document of the Durable HTTP API (and of `DurableClient.getStatus`). */
export function statusBody(state: OrchestrationState, options: { showHistory?: boolean; showHistoryOutput?: boolean; showInput?: boolean }) {
  const body: Record<string, unknown> = {
    name: state.name,
    instanceId: state.instanceId,
    runtimeStatus: state.status,
    input: options.showInput === false ? null : (parseJsonString(state.input) ?? null),
    customStatus: parseJsonString(state.customStatus) ?? null,
    output: parseJsonString(state.output) ?? null,
    createdTime: state.createdTime,
    lastUpdatedTime: state.lastUpdatedTime,
  };
  if (state.failureDetails) {
    body.failureDetails = {
      errorType: state.failureDetails.ErrorType,
      errorMessage: state.failureDetails.ErrorMessage,
      stackTrace: state.failureDetails.StackTrace,
    };
  }
  if (options.showHistory) body.historyEvents = historyView(state.history, options.showHistoryOutput === true);
  return body;
}

const hiddenInHistory = new Set(['OrchestratorStarted', 'OrchestratorCompleted']);

export function historyView(history: HistoryEvent[], withOutput: boolean): Record<string, unknown>[] {
  const scheduled = new Map<number, HistoryEvent>();
  const view: Record<string, unknown>[] = [];
  for (const e of history) {
    const type = eventTypeName(e.EventType);
    if (hiddenInHistory.has(type)) continue;
    if (e.EventId >= 0) scheduled.set(e.EventId, e);
    const item: Record<string, unknown> = { EventType: type, EventId: e.EventId, Timestamp: e.Timestamp };
    const cause = scheduled.get(e.TaskScheduledId ?? e.TimerId ?? -1);
    if (e.Name ?? cause?.Name) item.FunctionName = e.Name ?? cause?.Name;
    if (cause) item.ScheduledTime = cause.Timestamp;
    if (e.TaskScheduledId !== undefined) item.TaskScheduledId = e.TaskScheduledId;
    if (e.TimerId !== undefined) item.TimerId = e.TimerId;
    if (e.FireAt) item.FireAt = e.FireAt;
    if (e.InstanceId) item.InstanceId = e.InstanceId;
    if (e.Reason) item.Reason = e.Reason;
    if (e.FailureDetails) item.FailureDetails = e.FailureDetails;
    if (withOutput && e.Result !== undefined) item.Result = parseJsonString(e.Result);
    if (withOutput && e.Input !== undefined) item.Input = parseJsonString(e.Input);
    view.push(item);
  }
  return view;
}
