/**
 * The fabric's HTTP endpoints, served by the embedded host next to the app's functions:
 *
 *   GET    /fabric/subscriptions/{sub}/virtualMachines[?location=…]               → {value:[VM]}
 *   GET    /fabric/subscriptions/{sub}/resourceGroups/{rg}/virtualMachines         → {value:[VM]}
 *   PUT    /fabric/subscriptions/{sub}/resourceGroups/{rg}/virtualMachines/{name}  → 201 VM (body: createVmRequestSchema)
 *   GET    …/virtualMachines/{name}                                                → VM
 *   DELETE …/virtualMachines/{name}                                                → 204 (also when already gone)
 *   POST   …/virtualMachines/{name}/start|stop|deallocate|repair                   → VM
 *   POST   …/virtualMachines/{name}/writeData|clearData                            → {vm, seed?, disks:[…]}
 *   POST   …/virtualMachines/{name}/faults                                         → VM
 *   POST   …/virtualMachines/{name}/encrypt                                        → VM (body: encryptVmRequestSchema: ADE with BEK + KEK in a Key Vault)
 *
 * Literal segments match case-insensitively (as in ARM). Errors use the ARM envelope
 * `{error:{code,message,target?,recommendation}}`. The endpoints are anonymous, like the emulator's
 * storage: the fabric is a local test double and holds no secrets.
 */
import { errors, statusOf, toErrorBody } from '../../lib/domain/errors';
import { assertValidVmRef, isValidSubscriptionId, type VmRef } from '../../lib/domain/virtual-machine';
import type { HostRequest, HostResponse } from '../http-types';
import { ComputeError } from './compute/errors';
import type { FabricService } from './service';

export const FABRIC_PATH_PREFIX = '/fabric/';

const SUBSCRIPTION = '^/fabric/subscriptions/([^/]+)';
const LIST_ALL = new RegExp(`${SUBSCRIPTION}/virtualMachines/?$`, 'i');
const LIST_GROUP = new RegExp(`${SUBSCRIPTION}/resourceGroups/([^/]+)/virtualMachines/?$`, 'i');
const VM = new RegExp(`${SUBSCRIPTION}/resourceGroups/([^/]+)/virtualMachines/([^/]+)/?$`, 'i');
const ACTION = new RegExp(`${SUBSCRIPTION}/resourceGroups/([^/]+)/virtualMachines/([^/]+)/([A-Za-z]+)/?$`, 'i');

const ACTIONS = ['start', 'stop', 'deallocate', 'repair', 'writeData', 'clearData', 'faults', 'encrypt'] as const;
type Action = (typeof ACTIONS)[number];

export type FabricRouteHandler = (request: HostRequest) => Promise<HostResponse | undefined>;

export interface FabricRoutesOptions {
  /** Called with failures that become a 500 (their text never reaches the response). */
  onInternalError?: (err: unknown) => void;
}

/**
 * A handler for the host: answers `/fabric/…` requests and returns undefined for every other path.
 * `fabric` may be a function, so the service is built on first use (after the host applied its settings).
 */
export function fabricRoutes(fabric: FabricService | (() => FabricService), options: FabricRoutesOptions = {}): FabricRouteHandler {
  let service: FabricService | undefined = typeof fabric === 'function' ? undefined : fabric;
  return async (request) => {
    if (!request.url.pathname.toLowerCase().startsWith(FABRIC_PATH_PREFIX)) return undefined;
    try {
      service ??= (fabric as () => FabricService)();
      return await route(service, request);
    } catch (err) {
      // Managed-disk rules (a disk with an active SAS, a disk name in use) come from the Compute service.
      if (err instanceof ComputeError) return json(err.status, err.toBody());
      const status = statusOf(err);
      if (status >= 500) options.onInternalError?.(err);
      return json(status, toErrorBody(err));
    }
  };
}

async function route(fabric: FabricService, request: HostRequest): Promise<HostResponse> {
  const path = request.url.pathname;
  const method = request.method.toUpperCase();
  let match = LIST_ALL.exec(path);
  if (match) {
    if (method !== 'GET') return methodNotAllowed(method, path);
    const subscriptionId = subscriptionOf(match[1]);
    const location = request.url.searchParams.get('location') ?? undefined;
    return json(200, { value: await fabric.listVms(subscriptionId, { location }) });
  }
  match = LIST_GROUP.exec(path);
  if (match) {
    if (method !== 'GET') return methodNotAllowed(method, path);
    const subscriptionId = subscriptionOf(match[1]);
    const location = request.url.searchParams.get('location') ?? undefined;
    return json(200, { value: await fabric.listVms(subscriptionId, { resourceGroup: decode(match[2]), location }) });
  }
  match = VM.exec(path);
  if (match) {
    const ref = refOf(match);
    switch (method) {
      case 'PUT': {
        const vm = await fabric.createVm(ref, readJson(request));
        return json(201, vm, { etag: vm.etag });
      }
      case 'GET': {
        const vm = await fabric.getVm(assertValidVmRef(ref));
        return json(200, vm, { etag: vm.etag });
      }
      case 'DELETE':
        await fabric.deleteVm(assertValidVmRef(ref));
        return { status: 204 };
      default:
        return methodNotAllowed(method, path);
    }
  }
  match = ACTION.exec(path);
  const action = match && ACTIONS.find((a) => a.toLowerCase() === match![4].toLowerCase());
  if (match && action) {
    if (method !== 'POST') return methodNotAllowed(method, path);
    const ref = assertValidVmRef(refOf(match));
    return json(200, await runAction(fabric, ref, action, readJson(request)));
  }
  return json(404, { error: { code: 'NotFound', message: `No fabric endpoint answers ${method} ${path}.` } });
}

function runAction(fabric: FabricService, ref: VmRef, action: Action, body: unknown): Promise<unknown> {
  switch (action) {
    case 'start':
      return fabric.start(ref);
    case 'stop':
      return fabric.stop(ref);
    case 'deallocate':
      return fabric.deallocate(ref);
    case 'repair':
      return fabric.repair(ref);
    case 'writeData':
      return fabric.writeData(ref, body);
    case 'clearData':
      return fabric.clearData(ref, body);
    case 'faults':
      return fabric.setFaults(ref, body);
    case 'encrypt':
      return fabric.encryptVm(ref, body);
  }
}

function refOf(match: RegExpExecArray): VmRef {
  return { subscriptionId: decode(match[1]), resourceGroup: decode(match[2]), name: decode(match[3]) };
}

function subscriptionOf(raw: string): string {
  const subscriptionId = decode(raw);
  if (!isValidSubscriptionId(subscriptionId)) throw errors.invalidRequest('subscriptionId', `The subscription id '${subscriptionId.slice(0, 100)}' is not a GUID.`);
  return subscriptionId;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw errors.invalidRequest('path', 'The request path is not valid percent-encoding.');
  }
}

/** An empty body counts as `{}`. */
function readJson(request: HostRequest): unknown {
  const text = request.body.toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw errors.invalidRequest('body', 'The request body is not valid JSON.');
  }
}

function methodNotAllowed(method: string, path: string): HostResponse {
  return json(405, { error: { code: 'MethodNotAllowed', message: `${method} is not supported on ${path}.` } });
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): HostResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}
