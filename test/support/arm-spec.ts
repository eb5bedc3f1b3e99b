/**
 * The Microsoft.RecoveryServices specification as the official SDKs carry it — `@azure/arm-recoveryservicesbackup`
 * (the backup API) and `@azure/arm-recoveryservices` (vaults), read by test/support/sdk-spec-source.ts — as a
 * response validator: find the operation of a request (by operationId, or by method + path as ARM routes it),
 * and check a response against what the SDK declares for that operation and status code. The status must be
 * declared (errors fall to `default`); the body is checked against the status's body mapper
 * (test/support/mapper-check.ts). 202 and 204 need no body: the SDKs declare them for every long-running
 * operation, with the final resource's mapper, but poll for that resource; a 204 must have none.
 */
import { MapperCheck } from './mapper-check';
import { loadSdkSpec, SDK_PACKAGES, type Mapper, type SdkOperation, type SdkPackageName, type SdkSpec } from './sdk-spec-source';

export type { Mapper } from './sdk-spec-source';

export interface SpecResponse {
  /** The body mapper's name, if the response has a body. */
  mapperName?: string;
  mapper?: Mapper;
}

export type SpecOperation = SdkOperation;

export interface ConformanceResult {
  operation?: SpecOperation;
  /** Empty when the response conforms. */
  problems: string[];
}

/** Statuses whose body the SDKs do not read (long-running operations poll for the result). */
const BODY_OPTIONAL = new Set([202, 204]);

export class ArmSpec {
  private readonly packages = new Map<SdkPackageName, { spec: SdkSpec; check: MapperCheck }>();
  private readonly operations: SpecOperation[] = [];

  constructor(packages: readonly SdkPackageName[] = SDK_PACKAGES) {
    for (const name of packages) {
      const spec = loadSdkSpec(name);
      this.packages.set(name, { spec, check: new MapperCheck(spec) });
      this.operations.push(...spec.operations);
    }
  }

  /** The loaded packages: name, version and the api-version their clients send. */
  sources(): Array<{ packageName: SdkPackageName; version: string; apiVersion: string }> {
    return [...this.packages.values()].map(({ spec }) => ({ packageName: spec.packageName, version: spec.version, apiVersion: spec.apiVersion }));
  }

  allOperations(): readonly SpecOperation[] {
    return this.operations;
  }

  /** An operation by its id (`ProtectionPolicies_CreateOrUpdate`), case-insensitively, as the swagger spells ids. */
  operation(operationId: string): SpecOperation {
    const found = this.operations.find((op) => op.operationId.toLowerCase() === operationId.toLowerCase());
    if (found === undefined) throw new Error(`The specification has no operation ${operationId}.`);
    return found;
  }

  /** The operation a client method sends (`protectionPolicies.createOrUpdate`; the client's own methods without a group). */
  operationOfClientMethod(packageName: SdkPackageName, clientMethod: string): SpecOperation | undefined {
    return this.operations.find((op) => op.packageName === packageName && op.clientMethods.includes(clientMethod));
  }

  /**
   * The operation ARM would route `method path` to (path from `/subscriptions/…` or `/providers/…`, its
   * segments URL-encoded as sent): literals match case-insensitively, `{param}` matches one segment, and
   * the template with the most literal segments wins (`backupJobs/operationResults/{id}` over `backupJobs/{job}`).
   */
  findOperation(method: string, urlPath: string): SpecOperation | undefined {
    const segments = splitPath(urlPath).map((s) => safeDecode(s).toLowerCase());
    let best: { operation: SpecOperation; literals: number } | undefined;
    for (const operation of this.operations) {
      if (operation.method !== method.toUpperCase()) continue;
      const template = splitPath(operation.path);
      if (template.length !== segments.length) continue;
      let literals = 0;
      const matches = template.every((part, i) => {
        if (/^\{[^}]+\}$/.test(part)) return segments[i] !== '';
        literals += 1;
        return part.toLowerCase() === segments[i];
      });
      if (matches && (best === undefined || literals > best.literals)) best = { operation, literals };
    }
    return best?.operation;
  }

  /** Checks a response's status and body against the operation's declared responses. */
  checkResponse(operation: SpecOperation, status: number, body: unknown, rawBody = ''): string[] {
    const declared = operation.responses[String(status)];
    const response = declared ?? (status >= 400 ? operation.responses.default : undefined);
    if (response === undefined) {
      return [`${operation.operationId} answered ${status}, which the specification does not declare (it declares ${Object.keys(operation.responses).join(', ')})`];
    }
    if (status === 204) return rawBody.trim() === '' ? [] : [`${operation.operationId} answered 204 with a body`];
    if (response.mapper === undefined || (BODY_OPTIONAL.has(status) && rawBody.trim() === '')) return [];
    if (typeof body !== 'object' || body === null) {
      return [`${operation.operationId} answered ${status} without the JSON body the specification declares (got ${JSON.stringify(rawBody.slice(0, 80))})`];
    }
    return this.checkValue(operation.packageName, response.mapper, body).map((problem) => `${operation.operationId} ${status}: ${problem}`);
  }

  /** Checks a request body against the operation's body parameter (read-only fields allowed, as ARM ignores them). */
  checkRequest(operation: SpecOperation, body: unknown): string[] {
    if (operation.requestBody === undefined) return [];
    return this.checkValue(operation.packageName, operation.requestBody.mapper, body).map((problem) => `${operation.operationId} request: ${problem}`);
  }

  /** Checks a value against a model, e.g. `check(definitionRef('arm-recoveryservicesbackup', 'ProtectedItemResource'), item)`. */
  check(ref: string, value: unknown): string[] {
    const [packageName, className] = ref.split('#') as [SdkPackageName, string];
    return this.checkValue(packageName, { type: { name: 'Composite', className } }, value);
  }

  /** A reference to one package's model: `@azure/<packageName>#<ClassName>`. */
  definitionRef(packageName: string, className: string): string {
    const name = (packageName.startsWith('@azure/') ? packageName : `@azure/${packageName}`) as SdkPackageName;
    const loaded = this.packages.get(name);
    if (loaded === undefined) throw new Error(`No SDK package ${name} is loaded`);
    if (loaded.spec.mapper(className) === undefined) throw new Error(`${name} has no model ${className}`);
    return `${name}#${className}`;
  }

  /** Checks a value against any mapper, resolving model names in one package. */
  checkValue(packageName: SdkPackageName, mapper: Mapper, value: unknown): string[] {
    const loaded = this.packages.get(packageName);
    if (loaded === undefined) throw new Error(`No SDK package ${packageName} is loaded`);
    return loaded.check.check(mapper, value);
  }
}

function splitPath(urlPath: string): string[] {
  return urlPath.split('?')[0].split('/').filter((segment, i, all) => !(segment === '' && (i === 0 || i === all.length - 1)));
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

let shared: ArmSpec | undefined;

/** The spec, loaded once per test process. */
export function armSpec(): ArmSpec {
  shared ??= new ArmSpec();
  return shared;
}

/**
 * Where in a request URL the ARM path starts: Kluis serves it under `/api` and (with the front door) at
 * the root; the spec's paths start at `/subscriptions` or `/providers`.
 */
export function armPathOf(url: string): string | undefined {
  const { pathname } = new URL(url);
  const match = /\/(subscriptions|providers)\//i.exec(pathname);
  return match === null ? undefined : pathname.slice(match.index);
}

/** Responses of Kluis operations the spec does not have (Kluis's own extensions), by path pattern. */
export const KLUIS_EXTENSIONS: ReadonlyArray<{ method: string; pattern: RegExp; what: string }> = [
  { method: 'POST', pattern: /\/recoveryPoints\/[^/]+\/restoreKeyAndSecret$/i, what: 'restore the key and secret of an encrypted point (Kluis)' },
];

/**
 * Checks one response of Kluis's API against the spec: a Microsoft.RecoveryServices request must map to a
 * spec operation (or a listed Kluis extension), its status must be declared and its body must match.
 * Other requests (the fabric, the host's admin API) are not checked.
 */
export function checkArmConformance(method: string, url: string, status: number, body: unknown, rawBody: string): ConformanceResult {
  const armPath = armPathOf(url);
  if (armPath === undefined || !/\/providers\/Microsoft\.RecoveryServices\//i.test(armPath)) return { problems: [] };
  const spec = armSpec();
  const operation = spec.findOperation(method, armPath);
  if (operation === undefined) {
    if (KLUIS_EXTENSIONS.some((e) => e.method === method.toUpperCase() && e.pattern.test(armPath))) return { problems: [] };
    if (status >= 400) {
      // Unknown routes answer ARM's error envelope.
      if (typeof body !== 'object' || body === null) return { problems: [`${method} ${armPath} answered ${status} without ARM's JSON error body`] };
      return { problems: spec.check(spec.definitionRef('arm-recoveryservicesbackup', 'CloudError'), body).map((p) => `${method} ${armPath} ${status}: ${p}`) };
    }
    return { problems: [`${method} ${armPath} answered ${status} but the specification has no such operation`] };
  }
  return { operation, problems: spec.checkResponse(operation, status, body, rawBody) };
}
