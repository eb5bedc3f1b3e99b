/**
 * The published Microsoft.RecoveryServices specification (test/fixtures/azure-rest-api-specs) as a response
 * validator: find the operation of a request (by operationId, or by method + path as ARM routes it), and
 * check a response against what the spec declares for that operation and status code — the status must be
 * declared (errors fall to `default`), and the body must match the response schema.
 *
 * Swagger 2.0 schemas are JSON Schema with a few additions that ajv does not know; they are translated once
 * when the spec loads:
 * - polymorphism: a definition with `discriminator` (e.g. ProtectedItem / `protectedItemType`) is replaced,
 *   wherever it is used as a type, by a dispatcher that validates the value against the subtype its
 *   discriminator names (`x-ms-discriminator-value`, else the subtype's name); an unknown value fails;
 * - `x-ms-enum` with `modelAsString`: the values are still checked (Kluis must send only documented ones);
 * - formats: date-time, duration (ISO 8601), int32/int64 (integers in range), double/float.
 * Fields the spec does not declare are allowed, as the official clients ignore them; so are `null` values of
 * optional fields, which Azure sends and the clients read as absent.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

export const SPEC_ROOT = path.resolve(__dirname, '..', 'fixtures', 'azure-rest-api-specs');

/** The swagger files Kluis follows, and the common types they `$ref`. */
export const SPEC_FILES = [
  'specification/recoveryservicesbackup/resource-manager/Microsoft.RecoveryServices/stable/2023-06-01/bms.json',
  'specification/recoveryservices/resource-manager/Microsoft.RecoveryServices/stable/2023-06-01/vaults.json',
  'specification/common-types/resource-management/v1/types.json',
  'specification/common-types/resource-management/v3/types.json',
] as const;

const BASE_URI = 'https://spec.kluis.invalid/';
const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head'] as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface SpecResponse {
  /** Absolute `$ref` of the response schema, if the response has a body. */
  schemaRef?: string;
}

export interface SpecOperation {
  operationId: string;
  method: string;
  /** The path template as the spec spells it, e.g. `/Subscriptions/{subscriptionId}/…/backupPolicies/{policyName}`. */
  path: string;
  file: string;
  responses: Record<string, SpecResponse>;
  /** Absolute `$ref` of the body parameter's schema, if the operation takes a body. */
  requestSchemaRef?: string;
  /** The body parameter's name (examples key the request body by it). */
  bodyParameterName?: string;
  /** The `x-ms-examples` of the operation: title → path of the example file under SPEC_ROOT. */
  examples: Record<string, string>;
}

export interface ConformanceResult {
  operation?: SpecOperation;
  /** Empty when the response conforms. */
  problems: string[];
}

const fileUri = (file: string) => new URL(file, BASE_URI).href;
const isObject = (value: Json | undefined): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
const pointer = (...segments: string[]) => segments.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

const ISO_DURATION = /^-?P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$/;

export class ArmSpec {
  private readonly ajv: Ajv;
  private readonly operations: SpecOperation[] = [];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(root = SPEC_ROOT, files: readonly string[] = SPEC_FILES) {
    this.ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false });
    addFormats(this.ajv, ['date-time', 'date', 'uri', 'uuid']);
    this.ajv.addFormat('duration', ISO_DURATION);
    this.ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
    this.ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
    this.ajv.addFormat('double', { type: 'number', validate: () => true });
    this.ajv.addFormat('float', { type: 'number', validate: () => true });
    for (const name of ['arm-id', 'password', 'byte', 'binary', 'unixtime', 'url']) this.ajv.addFormat(name, true);

    const documents = new Map(files.map((file) => [file, JSON.parse(readFileSync(path.join(root, file), 'utf8')) as JsonObject]));
    rewritePolymorphicRefs(documents);
    for (const [file, document] of documents) {
      this.ajv.addSchema({ ...document, $id: fileUri(file) } as object);
      this.collectOperations(file, document);
    }
  }

  private collectOperations(file: string, document: JsonObject): void {
    const paths = isObject(document.paths) ? document.paths : {};
    for (const [template, item] of Object.entries(paths)) {
      if (!isObject(item)) continue;
      for (const method of METHODS) {
        const operation = item[method];
        if (!isObject(operation) || typeof operation.operationId !== 'string') continue;
        const responses: Record<string, SpecResponse> = {};
        for (const [status, response] of Object.entries(isObject(operation.responses) ? operation.responses : {})) {
          const hasSchema = isObject(response) && isObject(response.schema);
          responses[status] = hasSchema ? { schemaRef: `${fileUri(file)}#/${pointer('paths', template, method, 'responses', status, 'schema')}` } : {};
        }
        const parameters = Array.isArray(operation.parameters) ? operation.parameters : [];
        const bodyIndex = parameters.findIndex((p) => isObject(p) && p.in === 'body');
        const examples: Record<string, string> = {};
        for (const [title, example] of Object.entries(isObject(operation['x-ms-examples']) ? operation['x-ms-examples'] : {})) {
          if (isObject(example) && typeof example.$ref === 'string') examples[title] = path.posix.join(path.posix.dirname(file), example.$ref);
        }
        this.operations.push({
          operationId: operation.operationId,
          method: method.toUpperCase(),
          path: template,
          file,
          responses,
          ...(bodyIndex >= 0
            ? {
                requestSchemaRef: `${fileUri(file)}#/${pointer('paths', template, method, 'parameters', String(bodyIndex), 'schema')}`,
                bodyParameterName: String((parameters[bodyIndex] as JsonObject).name),
              }
            : {}),
          examples,
        });
      }
    }
  }

  allOperations(): readonly SpecOperation[] {
    return this.operations;
  }

  operation(operationId: string): SpecOperation {
    const found = this.operations.find((op) => op.operationId.toLowerCase() === operationId.toLowerCase());
    if (found === undefined) throw new Error(`The specification has no operation ${operationId}.`);
    return found;
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
    if (response.schemaRef === undefined) {
      return status === 204 && rawBody.trim() !== '' ? [`${operation.operationId} answered 204 with a body`] : [];
    }
    if (typeof body !== 'object' || body === null) {
      return [`${operation.operationId} answered ${status} without the JSON body the specification declares (got ${JSON.stringify(rawBody.slice(0, 80))})`];
    }
    return this.check(response.schemaRef, body).map((problem) => `${operation.operationId} ${status}: ${problem}`);
  }

  /** Checks a request body against the operation's body parameter schema (readOnly fields allowed, as ARM ignores them). */
  checkRequest(operation: SpecOperation, body: unknown): string[] {
    if (operation.requestSchemaRef === undefined) return [];
    return this.check(operation.requestSchemaRef, body).map((problem) => `${operation.operationId} request: ${problem}`);
  }

  /** Checks a value against a definition, e.g. `definitionRef('bms', 'ProtectedItemResource')`. */
  check(schemaRef: string, value: unknown): string[] {
    let validate = this.validators.get(schemaRef);
    if (validate === undefined) {
      validate = this.ajv.compile({ $ref: schemaRef });
      this.validators.set(schemaRef, validate);
    }
    const withoutNulls = withoutNullFields(value);
    if (validate(withoutNulls)) return [];
    return describeErrors(validate.errors ?? [], withoutNulls);
  }

  /** The absolute `$ref` of a definition in one of the loaded files (matched by the file's base name). */
  definitionRef(fileName: string, definition: string): string {
    const file = SPEC_FILES.find((f) => path.posix.basename(f, '.json') === fileName);
    if (file === undefined) throw new Error(`No spec file ${fileName}.json`);
    return `${fileUri(file)}#/${pointer('definitions', definition)}`;
  }
}

/** A copy without the object fields whose value is null (array elements stay). */
function withoutNullFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNullFields);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).flatMap(([key, field]) => (field === null ? [] : [[key, withoutNullFields(field)]])));
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

/**
 * Only the deepest failures are worth reading: ajv also reports every enclosing `if`/`then`/`allOf` that
 * failed because of them.
 */
function describeErrors(errors: ErrorObject[], value: unknown): string[] {
  const wrappers = new Set(['if', 'then', 'allOf', 'anyOf', 'oneOf']);
  const meaningful = errors.filter((e) => !wrappers.has(e.keyword));
  const shown = (meaningful.length > 0 ? meaningful : errors).map((e) => {
    const at = e.instancePath === '' ? '(body)' : e.instancePath;
    const detail = e.keyword === 'enum' ? ` ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}, got ${JSON.stringify(valueAt(value, e.instancePath))}` : '';
    const extra = e.keyword === 'type' || e.keyword === 'format' ? ` (got ${JSON.stringify(valueAt(value, e.instancePath))})` : '';
    return `${at} ${e.message ?? e.keyword}${detail}${extra}`;
  });
  return [...new Set(shown)];
}

function valueAt(value: unknown, instancePath: string): unknown {
  let current = value;
  for (const raw of instancePath.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[key] : undefined;
  }
  return current;
}

// ---- polymorphism -------------------------------------------------------------------------------

const POLYMORPHIC_SUFFIX = '__polymorphic';

interface DefinitionRef {
  file: string;
  name: string;
}

const keyOf = (ref: DefinitionRef) => `${ref.file}#${ref.name}`;

function parseDefinitionRef(ref: string, file: string): DefinitionRef | undefined {
  const url = new URL(ref, fileUri(file));
  const match = /^#\/definitions\/([^/]+)$/.exec(decodeURIComponent(url.hash));
  if (match === null) return undefined;
  return { file: url.href.slice(BASE_URI.length).split('#')[0], name: match[1] };
}

/**
 * Adds `<Base>__polymorphic` next to every discriminated base and points every use of the base as a type at
 * it; the `allOf` entries by which subtypes inherit from the base keep pointing at the base itself.
 */
function rewritePolymorphicRefs(documents: Map<string, JsonObject>): void {
  const definitions = new Map<string, { ref: DefinitionRef; schema: JsonObject }>();
  for (const [file, document] of documents) {
    for (const [name, schema] of Object.entries(isObject(document.definitions) ? document.definitions : {})) {
      if (isObject(schema)) definitions.set(keyOf({ file, name }), { ref: { file, name }, schema });
    }
  }
  const parentsOf = (key: string): string[] => {
    const entry = definitions.get(key);
    const allOf = entry && Array.isArray(entry.schema.allOf) ? entry.schema.allOf : [];
    return allOf.flatMap((part) => {
      const parent = isObject(part) && typeof part.$ref === 'string' ? parseDefinitionRef(part.$ref, entry!.ref.file) : undefined;
      return parent ? [keyOf(parent)] : [];
    });
  };
  const descendsFrom = (key: string, base: string, seen = new Set<string>()): boolean =>
    parentsOf(key).some((parent) => parent === base || (!seen.has(parent) && (seen.add(parent), descendsFrom(parent, base, seen))));

  const bases = new Map<string, { ref: DefinitionRef; property: string }>();
  for (const [key, { ref, schema }] of definitions) {
    if (typeof schema.discriminator === 'string') bases.set(key, { ref, property: schema.discriminator });
  }
  for (const [baseKey, { ref: base, property }] of bases) {
    const cases: Array<{ value: string; ref: string }> = [{ value: base.name, ref: `#/definitions/${base.name}` }];
    for (const [key, { ref, schema }] of definitions) {
      if (key === baseKey || !descendsFrom(key, baseKey)) continue;
      const value = typeof schema['x-ms-discriminator-value'] === 'string' ? schema['x-ms-discriminator-value'] : ref.name;
      cases.push({ value, ref: new URL(`#/definitions/${ref.name}`, fileUri(ref.file)).href });
    }
    const document = documents.get(base.file)!;
    (document.definitions as JsonObject)[`${base.name}${POLYMORPHIC_SUFFIX}`] = {
      type: 'object',
      required: [property],
      properties: { [property]: { type: 'string', enum: cases.map((c) => c.value) } },
      allOf: cases.map((c) => ({ if: { properties: { [property]: { const: c.value } }, required: [property] }, then: { $ref: c.ref } })),
    };
  }

  for (const [file, document] of documents) {
    const visit = (node: Json, inheritance: boolean): void => {
      if (Array.isArray(node)) {
        node.forEach((child) => visit(child, inheritance));
        return;
      }
      if (!isObject(node)) return;
      if (typeof node.$ref === 'string' && !inheritance) {
        const target = parseDefinitionRef(node.$ref, file);
        if (target && bases.has(keyOf(target))) node.$ref = `${node.$ref}${POLYMORPHIC_SUFFIX}`;
      }
      for (const [key, child] of Object.entries(node)) {
        if (key === 'x-ms-examples') continue;
        // The allOf of a definition is its inheritance: those refs stay on the plain base.
        visit(child, key === 'allOf');
      }
    };
    for (const [key, child] of Object.entries(document)) {
      if (key !== 'definitions') {
        visit(child, false);
        continue;
      }
      for (const [name, schema] of Object.entries(child as JsonObject)) {
        if (!name.endsWith(POLYMORPHIC_SUFFIX)) visit(schema, false);
      }
    }
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
      return { problems: spec.check(spec.definitionRef('bms', 'CloudError'), body).map((p) => `${method} ${armPath} ${status}: ${p}`) };
    }
    return { problems: [`${method} ${armPath} answered ${status} but the specification has no such operation`] };
  }
  return { operation, problems: spec.checkResponse(operation, status, body, rawBody) };
}
