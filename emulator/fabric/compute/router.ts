/**
 * The fabric's Microsoft.Compute ARM endpoint: the paths, verbs and status codes of the published API
 * (what @azure/arm-compute 23.3.0 calls), on its own origin so that the SDK's `endpoint` option is all a
 * client changes. `…` = `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute`.
 *
 *   disks      GET /subscriptions/{sub}/providers/Microsoft.Compute/disks · GET …/disks
 *              PUT|GET|DELETE …/disks/{disk} · POST …/disks/{disk}/beginGetAccess|endGetAccess
 *   snapshots  the same under snapshots
 *   restorePointCollections  GET (subscription, group) · PUT|PATCH|GET($expand=restorePoints)|DELETE …/restorePointCollections/{rpc}
 *   restorePoints            PUT|GET($expand=instanceView)|DELETE …/restorePointCollections/{rpc}/restorePoints/{rp}
 *   diskRestorePoints        GET …/restorePoints/{rp}/diskRestorePoints[/{drp}] · POST …/{drp}/beginGetAccess|endGetAccess
 *   virtualMachines          GET /subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines ·
 *                            GET /subscriptions/{sub}/providers/Microsoft.Compute/locations/{region}/virtualMachines ·
 *                            GET …/virtualMachines · PUT|GET($expand=instanceView) …/virtualMachines/{vm} · GET …/{vm}/instanceView
 *   operations               GET /subscriptions/{sub}/providers/Microsoft.Compute/locations/{region}/DiskOperations|operations/{id}[?monitor=true]
 *
 * Long-running operations (disk/snapshot PUT and DELETE, grant/revoke, restore point PUT and DELETE,
 * collection DELETE, VM PUT) answer 202 (or 201) with Azure-AsyncOperation and Location (operations.ts).
 * Every request needs `Authorization: Bearer …` (401 as ARM otherwise; the token itself is not checked:
 * the fabric is a local test double) and `api-version`. Literal path segments match case-insensitively.
 * Requests are logged at debug level without query strings or bodies.
 */
import { randomUUID } from 'node:crypto';
import type { HostLogger } from '../../logger';
import type { HostRequest, HostResponse } from '../../http-types';
import type { ComputeFabric } from './compute-fabric';
import { asComputeError, ComputeError, computeErrors } from './errors';
import { asyncOperationHeaders } from './operations';
import type { OperationRecord } from './records';
import {
  collectionBodySchema,
  collectionPatchSchema,
  diskBodySchema,
  grantAccessSchema,
  type GrantAccessBody,
  parseBody,
  restorePointBodySchema,
  snapshotBodySchema,
  virtualMachineBodySchema,
} from './requests';
import { assertResourceGroupName, assertResourceName, assertSubscriptionId, type DiskRestorePointRef, type ResourceRef, type RestorePointRef } from './resource-ids';
import {
  collectionResource,
  diskResource,
  diskRestorePointResource,
  operationStatus,
  restorePointResource,
  snapshotResource,
  virtualMachineInstanceView,
  virtualMachineResource,
} from './shapes';

export interface ComputeRoutesOptions {
  logger?: HostLogger;
}

interface Call {
  fabric: ComputeFabric;
  request: HostRequest;
  method: string;
  params: Record<string, string>;
  origin: string;
  apiVersion: string;
}

type Handler = (call: Call) => Promise<HostResponse>;

interface Route {
  pattern: string[];
  methods: Partial<Record<string, Handler>>;
}

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };
const json = (status: number, body: unknown, headers: Record<string, string> = {}): HostResponse => ({
  status,
  headers: { ...JSON_TYPE, ...headers },
  body: JSON.stringify(body),
});
const noContent = (): HostResponse => ({ status: 204 });

// ---- refs from path parameters ---------------------------------------------------------------------

const groupRef = (p: Record<string, string>, name: string, what: string): ResourceRef => ({
  subscriptionId: p.sub,
  resourceGroup: assertResourceGroupName(p.rg),
  name: assertResourceName(name, what),
});
const diskRef = (p: Record<string, string>) => groupRef(p, p.name, 'disk');
const snapshotRef = (p: Record<string, string>) => groupRef(p, p.name, 'snapshot');
const vmRef = (p: Record<string, string>): ResourceRef => ({ subscriptionId: p.sub, resourceGroup: assertResourceGroupName(p.rg), name: p.name });
const collectionRef = (p: Record<string, string>) => groupRef(p, p.rpc, 'restore point collection');
const restorePointRef = (p: Record<string, string>): RestorePointRef => ({ ...collectionRef(p), collection: p.rpc, name: assertResourceName(p.rp, 'restore point') });
const diskRestorePointRef = (p: Record<string, string>): DiskRestorePointRef => ({ ...restorePointRef(p), restorePoint: p.rp, name: p.drp });

// ---- long-running operation answers ---------------------------------------------------------------

/**
 * Runs an operation's work and answers as ARM answers a long-running one: `status` with the body and the
 * operation headers; a failure marked `failsOperation` is accepted (202) and reported by the operation.
 */
async function longRunning(
  call: Call,
  family: OperationRecord['family'],
  location: () => Promise<string>,
  work: () => Promise<{ status: number; body?: unknown; output?: unknown }>,
): Promise<HostResponse> {
  const started = call.fabric.clock.now();
  let outcome: { status: number; body?: unknown; output?: unknown };
  try {
    outcome = await work();
  } catch (err) {
    if (!(err instanceof ComputeError) || !err.failsOperation) throw err;
    const operation = await call.fabric.operations.failed(call.params.sub, await location(), family, started, err);
    return { status: 202, headers: asyncOperationHeaders(call.origin, operation, call.apiVersion) };
  }
  const operation = await call.fabric.operations.succeeded(call.params.sub, await location(), family, started, outcome.output);
  const headers = asyncOperationHeaders(call.origin, operation, call.apiVersion);
  return outcome.body === undefined ? { status: outcome.status, headers } : json(outcome.status, outcome.body, headers);
}

const defaultLocation = async () => 'westeurope';

// ---- handlers ----------------------------------------------------------------------------------------

async function diskJson(fabric: ComputeFabric, disk: Awaited<ReturnType<ComputeFabric['disks']['get']>>) {
  return diskResource(disk, await fabric.disks.stateOf(disk));
}

async function vmJson(fabric: ComputeFabric, vm: Awaited<ReturnType<ComputeFabric['virtualMachines']['get']>>, instanceView: boolean) {
  return virtualMachineResource(vm, { instanceView, ...(await fabric.virtualMachines.shapeOptions(vm)) });
}

const expands = (call: Call, what: string) => (call.request.url.searchParams.get('$expand') ?? '').split(',').some((value) => value.trim().toLowerCase() === what.toLowerCase());

/** A disk's or snapshot's read access (beginGetAccess / endGetAccess): long-running operations of the disk family. */
interface AccessibleStore {
  get(ref: ResourceRef): Promise<{ location: string }>;
  grantAccess(ref: ResourceRef, body: GrantAccessBody): Promise<{ accessSAS: string }>;
  endAccess(ref: ResourceRef): Promise<void>;
}

function accessRoutes(type: 'disks' | 'snapshots', storeOf: (fabric: Call['fabric']) => AccessibleStore, refOf: (params: Record<string, string>) => ResourceRef): Route[] {
  const pattern = (action: string) => ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', type, ':name', action];
  const start = async (call: Call, work: (store: AccessibleStore, ref: ResourceRef) => Promise<{ status: number; output?: unknown }>) => {
    const store = storeOf(call.fabric);
    const ref = refOf(call.params);
    const resource = await store.get(ref);
    return longRunning(call, 'disk', async () => resource.location, () => work(store, ref));
  };
  return [
    {
      pattern: pattern('beginGetAccess'),
      methods: {
        POST: async (call) => {
          const body = parseBody(grantAccessSchema, call.request.body);
          return start(call, async (store, ref) => ({ status: 202, output: await store.grantAccess(ref, body) }));
        },
      },
    },
    {
      pattern: pattern('endGetAccess'),
      methods: {
        POST: (call) =>
          start(call, async (store, ref) => {
            await store.endAccess(ref);
            return { status: 202 };
          }),
      },
    },
  ];
}

const routes: Route[] = [
  // disks
  {
    pattern: ['subscriptions', ':sub', 'providers', 'Microsoft.Compute', 'disks'],
    methods: { GET: async ({ fabric, params }) => json(200, { value: await Promise.all((await fabric.disks.list(params.sub)).map((disk) => diskJson(fabric, disk))) }) },
  },
  {
    pattern: ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', 'disks'],
    methods: {
      GET: async ({ fabric, params }) =>
        json(200, { value: await Promise.all((await fabric.disks.list(params.sub, assertResourceGroupName(params.rg))).map((disk) => diskJson(fabric, disk))) }),
    },
  },
  {
    pattern: ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', 'disks', ':name'],
    methods: {
      PUT: async (call) => {
        const body = parseBody(diskBodySchema, call.request.body);
        let location = body.location ?? '';
        return longRunning(
          call,
          'disk',
          async () => location || (await defaultLocation()),
          async () => {
            const { created, disk } = await call.fabric.disks.createOrUpdate(diskRef(call.params), body);
            location = disk.location;
            return { status: created ? 202 : 200, body: await diskJson(call.fabric, disk) };
          },
        );
      },
      GET: async ({ fabric, params }) => json(200, await diskJson(fabric, await fabric.disks.get(diskRef(params)))),
      DELETE: async (call) => {
        const ref = diskRef(call.params);
        const disk = await call.fabric.disks.find(ref);
        if (disk === undefined) return noContent();
        return longRunning(call, 'disk', async () => disk.location, async () => ((await call.fabric.disks.delete(ref)) ? { status: 202 } : { status: 204 }));
      },
    },
  },
  ...accessRoutes('disks', (fabric) => fabric.disks, diskRef),
  // snapshots
  {
    pattern: ['subscriptions', ':sub', 'providers', 'Microsoft.Compute', 'snapshots'],
    methods: { GET: async ({ fabric, params }) => json(200, { value: (await fabric.snapshots.list(params.sub)).map(snapshotResource) }) },
  },
  {
    pattern: ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', 'snapshots'],
    methods: { GET: async ({ fabric, params }) => json(200, { value: (await fabric.snapshots.list(params.sub, assertResourceGroupName(params.rg))).map(snapshotResource) }) },
  },
  {
    pattern: ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', 'snapshots', ':name'],
    methods: {
      PUT: async (call) => {
        const body = parseBody(snapshotBodySchema, call.request.body);
        let location = body.location ?? '';
        return longRunning(
          call,
          'disk',
          async () => location || (await defaultLocation()),
          async () => {
            const { created, snapshot } = await call.fabric.snapshots.createOrUpdate(snapshotRef(call.params), body);
            location = snapshot.location;
            return { status: created ? 202 : 200, body: snapshotResource(snapshot) };
          },
        );
      },
      GET: async ({ fabric, params }) => json(200, snapshotResource(await fabric.snapshots.get(snapshotRef(params)))),
      DELETE: async (call) => {
        const ref = snapshotRef(call.params);
        const snapshot = await call.fabric.snapshots.find(ref);
        if (snapshot === undefined) return noContent();
        return longRunning(call, 'disk', async () => snapshot.location, async () => ((await call.fabric.snapshots.delete(ref)) ? { status: 202 } : { status: 204 }));
      },
    },
  },
  ...accessRoutes('snapshots', (fabric) => fabric.snapshots, snapshotRef),
  // restore point collections
  {
    pattern: ['subscriptions', ':sub', 'providers', 'Microsoft.Compute', 'restorePointCollections'],
    methods: { GET: async ({ fabric, params }) => json(200, { value: (await fabric.restorePoints.listCollections(params.sub)).map((c) => collectionResource(c)) }) },
  },
  {
    pattern: ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', 'restorePointCollections'],
    methods: {
      GET: async ({ fabric, params }) => json(200, { value: (await fabric.restorePoints.listCollections(params.sub, assertResourceGroupName(params.rg))).map((c) => collectionResource(c)) }),
    },
  },
  {
    pattern: ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', 'restorePointCollections', ':rpc'],
    methods: {
      PUT: async ({ fabric, params, request }) => {
        const { created, collection } = await fabric.restorePoints.putCollection(collectionRef(params), parseBody(collectionBodySchema, request.body));
        return json(created ? 201 : 200, collectionResource(collection));
      },
      PATCH: async ({ fabric, params, request }) =>
        json(200, collectionResource(await fabric.restorePoints.patchCollection(collectionRef(params), parseBody(collectionPatchSchema, request.body).tags))),
      GET: async (call) => {
        const ref = collectionRef(call.params);
        const collection = await call.fabric.restorePoints.getCollection(ref);
        return json(200, collectionResource(collection, expands(call, 'restorePoints') ? await call.fabric.restorePoints.restorePointsOf(ref) : undefined));
      },
      DELETE: async (call) => {
        const ref = collectionRef(call.params);
        const collection = (await call.fabric.restorePoints.listCollections(ref.subscriptionId, ref.resourceGroup)).find((c) => c.name.toLowerCase() === ref.name.toLowerCase());
        if (collection === undefined) return noContent();
        return longRunning(call, 'compute', async () => collection.location, async () => ((await call.fabric.restorePoints.deleteCollection(ref)) ? { status: 202 } : { status: 204 }));
      },
    },
  },
  // restore points
  {
    pattern: ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', 'restorePointCollections', ':rpc', 'restorePoints', ':rp'],
    methods: {
      PUT: async (call) => {
        const body = parseBody(restorePointBodySchema, call.request.body);
        const collection = await call.fabric.restorePoints.getCollection(collectionRef(call.params)).catch((err: unknown) => {
          if (err instanceof ComputeError && err.status === 404) throw computeErrors.parentResourceNotFound('Microsoft.Compute/restorePointCollections', call.params.rpc);
          throw err;
        });
        return longRunning(call, 'compute', async () => collection.location, async () => ({
          status: 201,
          body: restorePointResource(await call.fabric.restorePoints.createRestorePoint(restorePointRef(call.params), body)),
        }));
      },
      GET: async (call) =>
        json(200, restorePointResource(await call.fabric.restorePoints.getRestorePoint(restorePointRef(call.params)), { instanceView: expands(call, 'instanceView') })),
      DELETE: async (call) => {
        const ref = restorePointRef(call.params);
        const point = await call.fabric.restorePoints.findRestorePoint(ref);
        if (point === undefined) return noContent();
        const collection = await call.fabric.restorePoints.getCollection(collectionRef(call.params));
        return longRunning(call, 'compute', async () => collection.location, async () => ((await call.fabric.restorePoints.deleteRestorePoint(ref)) ? { status: 202 } : { status: 204 }));
      },
    },
  },
  {
    pattern: ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', 'restorePointCollections', ':rpc', 'restorePoints', ':rp', 'diskRestorePoints'],
    methods: {
      GET: async ({ fabric, params }) => {
        const point = await fabric.restorePoints.getRestorePoint(restorePointRef(params));
        return json(200, { value: point.disks.map((drp) => diskRestorePointResource(point, drp)) });
      },
    },
  },
  {
    pattern: ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', 'restorePointCollections', ':rpc', 'restorePoints', ':rp', 'diskRestorePoints', ':drp'],
    methods: {
      GET: async ({ fabric, params }) => {
        const { restorePoint, diskRestorePoint } = await fabric.restorePoints.getDiskRestorePoint(diskRestorePointRef(params));
        return json(200, diskRestorePointResource(restorePoint, diskRestorePoint));
      },
    },
  },
  {
    pattern: ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', 'restorePointCollections', ':rpc', 'restorePoints', ':rp', 'diskRestorePoints', ':drp', 'beginGetAccess'],
    methods: {
      POST: async (call) => {
        const body = parseBody(grantAccessSchema, call.request.body);
        const { restorePoint } = await call.fabric.restorePoints.getDiskRestorePoint(diskRestorePointRef(call.params));
        return longRunning(call, 'disk', async () => restorePoint.source.location, async () => ({
          status: 202,
          output: await call.fabric.restorePoints.grantDiskRestorePointAccess(diskRestorePointRef(call.params), body),
        }));
      },
    },
  },
  {
    pattern: ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', 'restorePointCollections', ':rpc', 'restorePoints', ':rp', 'diskRestorePoints', ':drp', 'endGetAccess'],
    methods: {
      POST: async (call) => {
        const { restorePoint } = await call.fabric.restorePoints.getDiskRestorePoint(diskRestorePointRef(call.params));
        return longRunning(call, 'disk', async () => restorePoint.source.location, async () => {
          await call.fabric.restorePoints.endDiskRestorePointAccess(diskRestorePointRef(call.params));
          return { status: 202 };
        });
      },
    },
  },
  // virtual machines
  {
    pattern: ['subscriptions', ':sub', 'providers', 'Microsoft.Compute', 'virtualMachines'],
    methods: {
      GET: async ({ fabric, params }) => json(200, { value: await Promise.all((await fabric.virtualMachines.list(params.sub)).map((vm) => vmJson(fabric, vm, false))) }),
    },
  },
  {
    pattern: ['subscriptions', ':sub', 'providers', 'Microsoft.Compute', 'locations', ':location', 'virtualMachines'],
    methods: {
      GET: async ({ fabric, params }) =>
        json(200, { value: await Promise.all((await fabric.virtualMachines.list(params.sub, { location: params.location })).map((vm) => vmJson(fabric, vm, false))) }),
    },
  },
  {
    pattern: ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', 'virtualMachines'],
    methods: {
      GET: async ({ fabric, params }) =>
        json(200, {
          value: await Promise.all((await fabric.virtualMachines.list(params.sub, { resourceGroup: assertResourceGroupName(params.rg) })).map((vm) => vmJson(fabric, vm, false))),
        }),
    },
  },
  {
    pattern: ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', 'virtualMachines', ':name'],
    methods: {
      PUT: async (call) => {
        const body = parseBody(virtualMachineBodySchema, call.request.body);
        let location = body.location ?? '';
        return longRunning(
          call,
          'compute',
          async () => location || (await defaultLocation()),
          async () => {
            const { created, vm } = await call.fabric.virtualMachines.createOrUpdate(vmRef(call.params), body);
            location = vm.location;
            return { status: created ? 201 : 200, body: await vmJson(call.fabric, vm, false) };
          },
        );
      },
      GET: async (call) => json(200, await vmJson(call.fabric, await call.fabric.virtualMachines.get(vmRef(call.params)), expands(call, 'instanceView'))),
    },
  },
  {
    pattern: ['subscriptions', ':sub', 'resourceGroups', ':rg', 'providers', 'Microsoft.Compute', 'virtualMachines', ':name', 'instanceView'],
    methods: { GET: async ({ fabric, params }) => json(200, virtualMachineInstanceView(await fabric.virtualMachines.get(vmRef(params)))) },
  },
  // operations
  {
    pattern: ['subscriptions', ':sub', 'providers', 'Microsoft.Compute', 'locations', ':location', ':collection', ':id'],
    methods: {
      GET: async ({ fabric, params, request }) => {
        const collection = params.collection.toLowerCase();
        if (collection !== 'diskoperations' && collection !== 'operations') throw computeErrors.invalidResourceType('GET', request.url.pathname);
        const operation = await fabric.operations.get(params.sub, params.id);
        if (operation === undefined || (operation.family === 'disk') !== (collection === 'diskoperations')) throw computeErrors.operationNotFound(params.id);
        if (request.url.searchParams.get('monitor')?.toLowerCase() !== 'true') return json(200, operationStatus(operation));
        if (operation.status === 'Failed') return json(400, { error: operation.error });
        return operation.output === undefined ? { status: 200 } : json(200, operation.output);
      },
    },
  },
];

function match(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const part = pattern[i];
    if (part.startsWith(':')) params[part.slice(1)] = segments[i];
    else if (part.toLowerCase() !== segments[i].toLowerCase()) return undefined;
  }
  return params;
}

function segmentsOf(path: string): string[] {
  try {
    return path
      .split('/')
      .filter((segment) => segment !== '')
      .map((segment) => decodeURIComponent(segment));
  } catch {
    throw computeErrors.invalidParameter('path', 'The request path is not valid percent-encoding.');
  }
}

function authenticate(request: HostRequest): void {
  const header = request.headers.get('authorization');
  if (header === null || header.trim() === '') throw computeErrors.authenticationMissing();
  if (!/^Bearer\s+\S+/i.test(header)) throw computeErrors.authenticationInvalid();
}

/** The endpoint's request handler: answers every request (it has its own listener). */
export function computeRoutes(fabric: ComputeFabric | (() => ComputeFabric), options: ComputeRoutesOptions = {}): (request: HostRequest) => Promise<HostResponse> {
  let service: ComputeFabric | undefined = typeof fabric === 'function' ? undefined : fabric;
  return async (request) => {
    const requestId = randomUUID();
    const method = request.method.toUpperCase();
    options.logger?.log('debug', `Compute ${method} ${request.url.pathname}`, { category: 'fabric.compute' });
    let response: HostResponse;
    try {
      authenticate(request);
      const apiVersion = request.url.searchParams.get('api-version');
      if (apiVersion === null || apiVersion.trim() === '') throw computeErrors.missingApiVersion();
      const segments = segmentsOf(request.url.pathname);
      let found: { route: Route; params: Record<string, string> } | undefined;
      for (const route of routes) {
        const params = match(route.pattern, segments);
        if (params !== undefined) {
          found = { route, params };
          break;
        }
      }
      if (found === undefined) throw computeErrors.invalidResourceType(method, request.url.pathname);
      const handler = found.route.methods[method];
      if (handler === undefined) throw computeErrors.methodNotAllowed(method, request.url.pathname);
      assertSubscriptionId(found.params.sub);
      service ??= (fabric as () => ComputeFabric)();
      await service.start();
      response = await handler({ fabric: service, request, method, params: found.params, origin: request.url.origin, apiVersion });
    } catch (err) {
      const failure = asComputeError(err);
      if (failure.status >= 500) options.logger?.log('error', `Compute ${method} ${request.url.pathname} failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
      response = json(failure.status, failure.toBody(), failure.headers);
    }
    return { ...response, headers: { ...response.headers, 'x-ms-request-id': requestId } };
  };
}
