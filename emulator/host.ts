/**
 * The embedded Azure Functions host: loads an unchanged Functions v4 Node app, serves its HTTP triggers,
 * runs its timers and its Durable orchestrations (with state in Azure Tables), offline.
 */
import type { StorageConnection } from '../lib/domain/storage-account';
import { identityConnectionOf } from '../lib/config/storage-connections';
import path from 'node:path';
import { loadApp, LoadedApp, readLocalSettings, triggerBinding } from './app-loader';
import { publishHostClock } from '../lib/config/host-clock';
import { Clock, FakeClock, SystemClock } from './clock';
import { resolveDevelopmentStorage } from './connection-string';
import { DurableEngine } from './durable/engine';
import { durableSystemKey, durableWebhookPath, DurableHttpApi } from './durable/http-api';
import { TableDurableStore } from './durable/table-store';
import { FunctionsCore, RegisteredFunction } from './functions-core';
import type { RpcTypedData } from './functions-core-types';
import { authorize, HostSecrets, loadOrCreateSecrets, presentedKey } from './http-auth';
import { buildRouter, defaultRoute, Router } from './http-routes';
import { startHttpServer, RunningServer, type ServerTls } from './http-server';
import { fromRpcHttpResponse, toRpcHttpRequest } from './http-trigger';
import type { HostRequest, HostResponse } from './http-types';
import { Invoker } from './invoker';
import { createLogger, HostLogger } from './logger';
import { TableScheduleStatusStore } from './timer-status-store';
import { TimerInfo, TimerScheduler } from './timer-scheduler';

export interface EmbeddedHostOptions {
  appDir: string;
  port?: number;
  /** Also serve HTTPS on this port (0: any free port) with `tls`; the same functions on both. */
  httpsPort?: number;
  /** Key and certificate of the HTTPS port (a local CA's server certificate, see local-ca.ts). */
  tls?: ServerTls;
  listenHost?: string;
  /** Connection string for AzureWebJobsStorage; overrides local.settings.json. */
  storage?: string;
  clock?: Clock;
  logger?: HostLogger;
  secretsFile?: string;
  hubName?: string;
  /** Extra app settings, applied before the app loads. */
  settings?: Record<string, string>;
  timeZone?: string;
  /**
   * Extra endpoints served before the app's routes (e.g. the local VM fabric under /fabric/): each
   * handler answers a request or returns undefined to pass it on.
   */
  routeHandlers?: readonly HostRouteHandler[];
}

export type HostRouteHandler = (request: HostRequest) => Promise<HostResponse | undefined>;

type AuthLevel = 'anonymous' | 'function' | 'admin';

interface HttpFunction {
  fn: RegisteredFunction;
  authLevel: AuthLevel;
}

export class EmbeddedHost {
  readonly core = new FunctionsCore();
  readonly clock: Clock;
  readonly logger: HostLogger;
  app!: LoadedApp;
  engine?: DurableEngine;
  durableApi?: DurableHttpApi;
  secrets!: HostSecrets;
  private server?: RunningServer;
  private httpsServer?: RunningServer;
  private timers?: TimerScheduler;
  private router!: Router<HttpFunction>;
  private invoker!: Invoker;
  private hubName = 'TestHubName';

  constructor(private readonly options: EmbeddedHostOptions) {
    this.clock = options.clock ?? new SystemClock();
    publishHostClock(this.clock);
    this.logger = options.logger ?? createLogger();
  }

  get origin(): string {
    if (!this.server) throw new Error('The host is not started');
    return this.server.origin;
  }

  /** e.g. https://127.0.0.1:7443, when the host serves HTTPS too. */
  get httpsOrigin(): string | undefined {
    return this.httpsServer?.origin;
  }

  get storageConnectionString(): string {
    return process.env.AzureWebJobsStorage ?? '';
  }

  async start(): Promise<void> {
    const appDir = path.resolve(this.options.appDir);
    await this.applySettings(appDir);
    this.core.logSink = (level, category, message) => this.logger.log(level === 'none' ? 'trace' : level, message, { category });
    this.invoker = new Invoker(this.core, this.logger);
    this.app = await loadApp(appDir, this.core);
    this.secrets = await loadOrCreateSecrets(this.options.secretsFile ?? path.join(appDir, '.kluis', 'secrets.json'));

    const durableTask = this.app.hostJson.extensions?.durableTask ?? {};
    this.hubName = this.options.hubName ?? process.env.KLUIS_HUB_NAME ?? durableTask.hubName ?? 'TestHubName';
    if (!/^[A-Za-z][A-Za-z0-9]{2,44}$/.test(this.hubName)) {
      throw new Error(`Task hub name "${this.hubName}" is invalid: 3–45 letters and digits, starting with a letter.`);
    }

    // The server starts first so that URLs (durable client payloads) know their origin.
    this.server = await startHttpServer(this.options.listenHost ?? '127.0.0.1', this.options.port ?? 7071, (req) => this.handle(req));
    if (this.options.httpsPort !== undefined) {
      if (this.options.tls === undefined) throw new Error('An HTTPS port needs a key and certificate (options.tls).');
      try {
        this.httpsServer = await startHttpServer(this.options.listenHost ?? '127.0.0.1', this.options.httpsPort, (req) => this.handle(req), this.options.tls);
      } catch (err) {
        await this.server.close();
        throw err;
      }
    }
    process.env.WEBSITE_HOSTNAME = new URL(this.server.origin).host;
    this.router = buildRouter(this.httpFunctions(), { routePrefix: this.app.hostJson.extensions?.http?.routePrefix ?? 'api' });

    if (this.needsDurable()) {
      const store = new TableDurableStore(this.requireStorage(), `${this.hubName}Instances`);
      this.engine = new DurableEngine({
        store,
        invoker: this.invoker,
        functions: this.app.functions,
        clock: this.clock,
        logger: this.logger,
        maxConcurrentActivityFunctions: durableTask.maxConcurrentActivityFunctions,
        maxConcurrentOrchestratorFunctions: durableTask.maxConcurrentOrchestratorFunctions,
      });
      this.durableApi = new DurableHttpApi({
        engine: this.engine,
        hubName: this.hubName,
        origin: () => this.origin,
        systemKey: durableSystemKey(this.secrets.masterKey),
        masterKey: this.secrets.masterKey,
      });
      await this.engine.start();
    }

    await this.core.runHooks('appStart', { hookData: {}, appHookData: this.core.appHookData, functionAppDirectory: appDir } as never);
    await this.startTimers();
    const https = this.httpsServer === undefined ? '' : ` and ${this.httpsServer.origin}`;
    this.logger.log('information', `Host started: ${this.app.functions.length} function(s) at ${this.server.origin}${https}`, {
      origin: this.server.origin,
      ...(this.httpsServer === undefined ? {} : { httpsOrigin: this.httpsServer.origin }),
      functions: this.describeFunctions(),
      always: true,
    });
  }

  async stop(): Promise<void> {
    await this.core.runHooks('appTerminate', { hookData: {}, appHookData: this.core.appHookData } as never).catch(() => undefined);
    await this.timers?.stop();
    await this.engine?.stop();
    await this.httpsServer?.close();
    await this.server?.close();
  }

  /** Function names with their triggers and, for HTTP triggers, their URLs. */
  describeFunctions(): { name: string; trigger: string; url?: string; methods?: string }[] {
    return this.app.functions.map((fn) => {
      const [, binding] = triggerBinding(fn);
      const route = this.router.routes.find((r) => r.key.fn === fn);
      return {
        name: fn.metadata.name,
        trigger: binding.type ?? '',
        url: route ? `${this.server?.origin}/${route.template}` : undefined,
        methods: route ? (route.methods === 'any' ? '*' : route.methods.join(',')) : undefined,
      };
    });
  }

  // ---- configuration -----------------------------------------------------------------------------

  private async applySettings(appDir: string): Promise<void> {
    const fromFile = await readLocalSettings(appDir);
    for (const [key, value] of Object.entries(fromFile)) if (process.env[key] === undefined) process.env[key] = value;
    for (const [key, value] of Object.entries(this.options.settings ?? {})) process.env[key] = value;
    if (this.options.storage) process.env.AzureWebJobsStorage = this.options.storage;
    if (process.env.AzureWebJobsStorage) process.env.AzureWebJobsStorage = resolveDevelopmentStorage(process.env.AzureWebJobsStorage);
    process.env.FUNCTIONS_WORKER_RUNTIME ??= 'node';
  }

  /** AzureWebJobsStorage as the Functions host reads it: a connection string, or an identity-based connection (`AzureWebJobsStorage__*`). */
  private requireStorage(): StorageConnection {
    const storage = process.env.AzureWebJobsStorage;
    if (storage) return storage;
    const identity = identityConnectionOf(process.env, 'AzureWebJobsStorage', process.env.AZURE_CLIENT_ID || undefined);
    if (identity !== undefined) return identity;
    throw new Error('AzureWebJobsStorage is not set: pass --storage, set it in local.settings.json (UseDevelopmentStorage=true for Azurite), or set AzureWebJobsStorage__accountName (or __blobServiceUri, __queueServiceUri, __tableServiceUri) for an identity-based connection.');
  }

  private needsDurable(): boolean {
    return this.app.functions.some((fn) =>
      Object.values(fn.metadata.bindings).some((b) => /^(orchestrationTrigger|activityTrigger|durableClient|orchestrationClient)$/i.test(b.type ?? '')),
    );
  }

  // ---- HTTP ----------------------------------------------------------------------------------------

  private httpFunctions() {
    return this.app.functions
      .filter((fn) => (triggerBinding(fn)[1].type ?? '').toLowerCase() === 'httptrigger')
      .map((fn) => {
        const [, binding] = triggerBinding(fn);
        const route = typeof binding.route === 'string' && binding.route !== '' ? binding.route : defaultRoute(fn.metadata.name);
        const methods = Array.isArray(binding.methods) ? (binding.methods as string[]) : undefined;
        const authLevel = String(binding.authLevel ?? 'function').toLowerCase() as AuthLevel;
        return { route, methods, key: { fn, authLevel } };
      });
  }

  private async handle(request: HostRequest): Promise<HostResponse> {
    const pathname = request.url.pathname;
    if (pathname === '/admin/host/ping') return { status: 200 };
    if (pathname === '/admin/host/status') {
      return this.admin(request, () => ({ state: 'Running', version: this.core.module.hostVersion, embedded: 'kluis-host' }));
    }
    if (pathname === '/admin/functions') return this.admin(request, () => this.describeFunctions());
    if (pathname.startsWith('/admin/clock')) return this.clockApi(request);
    for (const handler of this.options.routeHandlers ?? []) {
      const response = await handler(request);
      if (response !== undefined) return response;
    }
    if (pathname.toLowerCase().startsWith(durableWebhookPath)) {
      if (!this.durableApi) return { status: 404, body: 'This app has no Durable functions.' };
      return (await this.durableApi.handle(request)) ?? { status: 404 };
    }
    const match = this.router.find(request.method, pathname);
    if (!match) return { status: 404 };
    if ('methodNotAllowed' in match) return { status: 404 };
    const { fn, authLevel } = match.key;
    const auth = authorize(authLevel, fn.metadata.name, presentedKey(request.headers, request.url.searchParams), this.secrets);
    if (!auth.ok) return { status: 401 };
    return this.invokeHttp(fn, request, match.params);
  }

  private admin(request: HostRequest, body: () => unknown): HostResponse {
    const auth = authorize('admin', '', presentedKey(request.headers, request.url.searchParams), this.secrets);
    if (!auth.ok) return { status: 401 };
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body()) };
  }

  /** With a fake clock (kluis-host --fake-clock): GET /admin/clock, POST /admin/clock/advance {ms} | {to}. */
  private async clockApi(request: HostRequest): Promise<HostResponse> {
    const auth = authorize('admin', '', presentedKey(request.headers, request.url.searchParams), this.secrets);
    if (!auth.ok) return { status: 401 };
    const clock = this.clock;
    if (!(clock instanceof FakeClock)) return { status: 404, body: 'The host runs on the system clock; start it with --fake-clock to control time.' };
    if (request.url.pathname === '/admin/clock/advance' && request.method === 'POST') {
      const body = JSON.parse(request.body.toString('utf8') || '{}') as { ms?: number; to?: string };
      if (typeof body.ms === 'number' && body.ms >= 0) await clock.advance(body.ms);
      else if (typeof body.to === 'string' && !Number.isNaN(Date.parse(body.to))) await clock.advanceTo(new Date(body.to));
      else return { status: 400, body: 'Body must be {"ms": <non-negative number>} or {"to": "<ISO time>"}' };
    } else if (request.url.pathname !== '/admin/clock') {
      return { status: 404 };
    }
    const body = { now: clock.now().toISOString(), pendingTimers: clock.pendingTimers(), timers: this.timers?.timerStates() ?? [] };
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  }

  private extraInputs(fn: RegisteredFunction): Record<string, RpcTypedData> {
    const inputs: Record<string, RpcTypedData> = {};
    for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
      if (/^(durableClient|orchestrationClient)$/i.test(binding.type ?? '')) {
        if (!this.durableApi) throw new Error('durableClient binding without a Durable engine');
        inputs[name] = { string: JSON.stringify(this.durableApi.clientBinding()) };
      }
    }
    return inputs;
  }

  private async invokeHttp(fn: RegisteredFunction, request: HostRequest, params: Record<string, string>): Promise<HostResponse> {
    const [triggerName] = triggerBinding(fn);
    const outcome = await this.invoker.invoke(fn, {
      inputs: { [triggerName]: toRpcHttpRequest(request, params), ...this.extraInputs(fn) },
    });
    if (!outcome.ok) return { status: 500, headers: { 'content-type': 'text/plain' }, body: `Function '${fn.metadata.name}' failed (invocation ${outcome.invocationId}).` };
    return fromRpcHttpResponse(fn, outcome.response);
  }

  // ---- timers -------------------------------------------------------------------------------------

  private async startTimers(): Promise<void> {
    const timerFunctions = this.app.functions.filter((fn) => (triggerBinding(fn)[1].type ?? '').toLowerCase() === 'timertrigger');
    if (timerFunctions.length === 0) return;
    const statusStore = new TableScheduleStatusStore(this.requireStorage(), `${this.hubName}Timers`);
    await statusStore.init();
    this.timers = new TimerScheduler({
      clock: this.clock,
      store: statusStore,
      timeZone: this.options.timeZone ?? process.env.WEBSITE_TIME_ZONE,
      log: (message, fields) => this.logger.log('information', message, fields as Record<string, unknown>),
      invoke: async (name: string, timer: TimerInfo) => {
        const fn = this.core.getFunction(name)!;
        const [triggerName] = triggerBinding(fn);
        await this.invoker.invoke(fn, { inputs: { [triggerName]: { json: JSON.stringify(timer) }, ...this.extraInputs(fn) } });
      },
    });
    for (const fn of timerFunctions) {
      const [, binding] = triggerBinding(fn);
      this.timers.add({
        functionName: fn.metadata.name,
        schedule: String(binding.schedule),
        runOnStartup: binding.runOnStartup === true,
        useMonitor: binding.useMonitor !== false,
      });
    }
    await this.timers.start();
  }
}
