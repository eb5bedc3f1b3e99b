/**
 * Malformed requests for every operation of Kluis's OpenAPI document (GET /api/openapi.json), drawn with
 * fast-check: bodies (invalid JSON, not an object, a wrong type at a declared field, nesting too deep, too large,
 * duplicate keys, unicode and huge values, invalid UTF-8, a media type that is not JSON), paths (a route
 * parameter replaced by unicode, control characters, encoded slashes and dots, empty or very long text) and
 * headers (broken tokens, odd media types, junk correlation ids and forwarding headers).
 *
 * Every body case is invalid by construction (an invalid value at a field the schema types, or a body that cannot
 * be a JSON object), so the only right answer is a 4xx; path and header cases change at least one thing the
 * server must refuse or not find. Pure: what is sent is decided here, sent by the test.
 */
import fc from 'fast-check';

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  required?: string[];
  [keyword: string]: unknown;
};

interface OpenApiDoc {
  paths: Record<string, Record<string, { operationId: string; parameters?: Array<{ name: string; in: string }>; requestBody?: { content: { 'application/json': { schema: JsonSchema } } }; responses: Record<string, unknown> }>>;
}

export interface FuzzOperation {
  operationId: string;
  method: string;
  /** `/subscriptions/{subscriptionId}/…` */
  pathTemplate: string;
  pathParameters: string[];
  body?: JsonSchema;
}

export function fuzzOperations(doc: OpenApiDoc): FuzzOperation[] {
  const operations: FuzzOperation[] = [];
  for (const [pathTemplate, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      operations.push({
        operationId: operation.operationId,
        method: method.toUpperCase(),
        pathTemplate,
        pathParameters: (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
        ...(operation.requestBody === undefined ? {} : { body: operation.requestBody.content['application/json'].schema }),
      });
    }
  }
  return operations.sort((a, b) => a.operationId.localeCompare(b.operationId));
}

/** What the test sends, and what must come back. */
export interface FuzzRequest {
  kind: string;
  method: string;
  /** The request target as sent (already encoded). */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** `refused`: a 4xx; `notServerError`: anything but a 5xx (a GET with a junk api-version is fine). */
  expect: 'refused' | 'notServerError';
}

/** Values for the route parameters that name real things (or plausible ones), so requests get past routing. */
export type PathValues = Record<string, string>;

export function fillPath(template: string, values: PathValues, overrides: Record<string, string> = {}): string {
  return template.replace(/\{([^}]+)\}/g, (_all, name: string) => overrides[name] ?? encodeSegment(values[name] ?? `fuzz-${name}`));
}

/** Every byte of the text's UTF-8 percent-encoded except unreserved characters (lone surrogates as U+FFFD, as a client would send them). */
function percentEncoded(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((byte) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

const encodeSegment = (value: string) => encodeURIComponent(value).replace(/%3B/gi, ';');

const API_VERSION = 'api-version=2023-06-01';
const MIB = 1024 * 1024;
const JSON_TYPE = { 'content-type': 'application/json' };

// ---- values ----------------------------------------------------------------------------------------

/** Strings that stress decoders and validators: any code point (lone surrogates too), controls, RTL, huge. */
const nastyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('\u0000', '\u202e', '\ud800', '\udfff', '\ufeff', '\u2028', '"', '\\', '😀', 'ß', 'İ', '%00', '../', '\n'), maxLength: 20 }),
  fc.integer({ min: 10_000, max: 40_000 }).map((n) => 'x'.repeat(n)),
);

const nastyNumber = fc.oneof(fc.constantFrom(-0, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 0.1, -1, 2 ** 31, 2 ** 53), fc.double({ noNaN: true, noDefaultInfinity: true }));

/** A value of a type the schema does not allow at that place. */
function wrongValueFor(schema: JsonSchema): fc.Arbitrary<unknown> | undefined {
  const type = typeOf(schema);
  if (type === undefined) return undefined;
  const options: Array<fc.Arbitrary<unknown>> = [];
  if (type !== 'string') options.push(nastyString);
  if (type !== 'number' && type !== 'integer') options.push(nastyNumber);
  if (type === 'integer') options.push(fc.constantFrom(0.5, 1e-7, 3.25));
  if (type !== 'boolean') options.push(fc.boolean());
  if (type !== 'object') options.push(fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }));
  if (type !== 'array') options.push(fc.array(fc.integer(), { maxLength: 3 }));
  if (type === 'string' && schema.enum !== undefined) options.push(nastyString.filter((s) => !schema.enum!.includes(s)));
  const pattern = type === 'string' && typeof schema.pattern === 'string' ? compiled(schema.pattern) : undefined;
  if (pattern !== undefined) options.push(nastyString.filter((s) => !pattern.test(s)));
  return fc.oneof(...options);
}

function compiled(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
}

/** The one JSON type a schema allows, when it says so plainly (not any, not a union of types). */
function typeOf(schema: JsonSchema): string | undefined {
  if (typeof schema.type === 'string') return schema.type;
  if (schema.enum !== undefined && schema.enum.every((v) => typeof v === 'string')) return 'string';
  if (typeof schema.const === 'string') return 'string';
  return undefined;
}

/** A body shaped by the schema (as far as it says), strings and numbers drawn nasty. */
function skeleton(schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches !== undefined && branches.length > 0) return fc.oneof(...branches.map((b) => skeleton(b, depth)));
  if (schema.allOf !== undefined && schema.allOf.length > 0) return skeleton(schema.allOf[0], depth);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum !== undefined && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  if (depth > 6) return fc.constant({});
  switch (typeOf(schema)) {
    case 'object': {
      const entries = Object.entries(schema.properties ?? {});
      if (entries.length === 0) return fc.constant({});
      return fc.record(Object.fromEntries(entries.map(([key, value]) => [key, skeleton(value, depth + 1)])), { requiredKeys: [] });
    }
    case 'array':
      return fc.array(skeleton(schema.items ?? {}, depth + 1), { maxLength: 2 });
    case 'string':
      return fc.oneof(fc.constant('x'), nastyString);
    case 'number':
    case 'integer':
      return fc.oneof(fc.integer({ min: 0, max: 10 }), nastyNumber);
    case 'boolean':
      return fc.boolean();
    default:
      return fc.constant({});
  }
}

/** Every place in the schema whose type is plain, as a path of property names ('*' for an array item). */
function typedPaths(schema: JsonSchema, prefix: string[] = [], depth = 0): Array<{ path: string[]; schema: JsonSchema }> {
  if (depth > 8) return [];
  const found: Array<{ path: string[]; schema: JsonSchema }> = [];
  // Inside a union a wrong type in one branch can be right in another: only plain object chains count.
  if (schema.anyOf !== undefined || schema.oneOf !== undefined) return found;
  if (typeOf(schema) !== undefined) found.push({ path: prefix, schema });
  for (const [key, value] of Object.entries(schema.properties ?? {})) found.push(...typedPaths(value, [...prefix, key], depth + 1));
  if (typeOf(schema) === 'array' && schema.items !== undefined) found.push(...typedPaths(schema.items, [...prefix, '*'], depth + 1));
  return found;
}

/** `base` with `value` at `path` (objects created on the way; '*' puts it as the only array item). */
function setAt(base: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (head === '*') return [setAt(undefined, rest, value)];
  const object = base !== null && typeof base === 'object' && !Array.isArray(base) ? { ...(base as Record<string, unknown>) } : {};
  Object.defineProperty(object, head, { value: setAt(object[head], rest, value), enumerable: true, writable: true, configurable: true });
  return object;
}

// ---- bodies -----------------------------------------------------------------------------------------

interface BodyCase {
  kind: string;
  text: Buffer;
  headers: Record<string, string>;
}

const textBody = (kind: string, text: string, headers: Record<string, string> = JSON_TYPE): BodyCase => ({ kind, text: Buffer.from(text, 'utf8'), headers });

function isInvalidJson(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
}

const nestedArrays = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);
const nestedObjects = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

/** A body that must be refused, for an operation whose body follows `schema`. */
export function malformedBody(schema: JsonSchema | undefined): fc.Arbitrary<BodyCase> {
  const shape = skeleton(schema ?? { type: 'object' });
  const wrongTypes = typedPaths(schema ?? {}).flatMap(({ path, schema: at }) => {
    const wrong = wrongValueFor(at);
    return wrong === undefined ? [] : [{ path, wrong }];
  });
  const cases: Array<fc.Arbitrary<BodyCase>> = [
    shape
      .chain((value) => fc.integer({ min: 1, max: Math.max(1, JSON.stringify(value).length - 1) }).map((cut) => JSON.stringify(value).slice(0, cut)))
      .filter(isInvalidJson)
      .map((text) => textBody('invalid JSON (cut short)', text)),
    fc
      .constantFrom("{'properties':{}}", '{"properties":{},}', '{"a":01}', 'NaN', '{"a":1}{"b":2}', '{"a":undefined}', '\u00ef\u00bb\u00bf{}x', '{"a":"\\x41"}', '[1,]')
      .map((text) => textBody('invalid JSON', text)),
    fc.oneof(fc.integer(), fc.string({ unit: 'binary', maxLength: 20 }), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }), fc.boolean(), fc.constant(null)).map((value) => textBody('not an object', JSON.stringify(value))),
    fc.oneof(fc.integer({ min: 65, max: 200 }), fc.integer({ min: 2_000, max: 20_000 })).chain((depth) => fc.constantFrom(textBody(`nested ${depth} deep`, nestedArrays(depth)), textBody(`nested ${depth} deep`, `{"properties":${nestedObjects(depth)}}`))),
    fc.constantFrom(textBody('over 4 MiB', `{"properties":{"x":"${'y'.repeat(4 * MIB)}"}}`), textBody('over 4 MiB, no Content-Length check', ' '.repeat(4 * MIB + 1) + '{}')),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ kind: 'invalid UTF-8', text: Buffer.concat([Buffer.from('{"properties":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(bytes), Buffer.from('"')]), headers: JSON_TYPE })),
    fc
      .tuple(shape, fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'json', '*/*'))
      .map(([value, contentType]) => textBody(`Content-Type ${contentType}`, JSON.stringify(value ?? {}), { 'content-type': contentType })),
  ];
  if (wrongTypes.length > 0) {
    const wrongAt = fc.constantFrom(...wrongTypes).chain(({ path, wrong }) => fc.tuple(fc.constant(path), wrong));
    cases.push(
      fc.tuple(shape, wrongAt).map(([value, [path, wrong]]) => textBody(`wrong type at ${path.join('.') || 'body'}`, JSON.stringify(setAt(value, path, wrong)))),
      // The value that counts is the last one (JSON.parse keeps it): a valid-looking first copy, a wrong last one.
      fc.tuple(shape, wrongAt.filter(([path]) => path.length > 0 && !path.includes('*'))).map(([value, [path, wrong]]) => {
        const text = JSON.stringify(setAt(value, path, wrong));
        const key = JSON.stringify(path[path.length - 1]);
        const at = text.lastIndexOf(`${key}:`);
        return textBody(`duplicate key ${path.join('.')}`, at < 0 ? text : `${text.slice(0, at)}${key}:"first",${text.slice(at)}`);
      }),
    );
  }
  return fc.oneof(...cases);
}

// ---- the three families -------------------------------------------------------------------------------

/** A malformed body for a write; the path names real things, so the body is what is refused. */
export function bodyRequests(operation: FuzzOperation, values: PathValues): fc.Arbitrary<FuzzRequest> {
  const path = `${fillPath(operation.pathTemplate, values)}?${API_VERSION}`;
  return malformedBody(operation.body).map((body) => ({ kind: `body: ${body.kind}`, method: operation.method, path, headers: body.headers, body: body.text, expect: 'refused' as const }));
}

const segmentJunk = fc.oneof(
  nastyString.filter((s) => s.length > 0).map(percentEncoded),
  fc.constantFrom('%00', '%0A', '%0d%0a', '%2F', '%2f..%2f', '%5C', '%25', '%C0%AF', '%ff%fe', '%', '%zz', '..%00', '%2e%2e%2f', ';', ';;;', '~', '$filter', '%20', '+'),
  fc.integer({ min: 300, max: 6_000 }).map((n) => 'a'.repeat(n)),
);

/** One route parameter replaced by junk (or emptied, or a dot segment); writes carry no valid body. */
export function pathRequests(operation: FuzzOperation, values: PathValues): fc.Arbitrary<FuzzRequest> {
  if (operation.pathParameters.length === 0) return fc.constant({ kind: 'path: query junk', method: operation.method, path: `${fillPath(operation.pathTemplate, values)}?api-version=%ff&$filter=%00`, headers: {}, expect: 'notServerError' as const });
  const isWrite = !['GET', 'HEAD'].includes(operation.method);
  return fc
    .tuple(fc.constantFrom(...operation.pathParameters), fc.oneof({ weight: 4, arbitrary: segmentJunk }, fc.constantFrom('', '.', '..', '%2e', '.%2E')), fc.constantFrom('', '/', '//x'))
    .filter(([name, junk]) => junk.toLowerCase() !== encodeSegment(values[name] ?? '').toLowerCase())
    .map(([name, junk, tail]) => ({
      kind: `path: {${name}} = ${junk.length > 40 ? `${junk.slice(0, 40)}… (${junk.length})` : JSON.stringify(junk)}${tail === '' ? '' : ` + '${tail}'`}`,
      method: operation.method,
      path: `${fillPath(operation.pathTemplate, values, { [name]: junk })}${tail}?${API_VERSION}`,
      headers: isWrite ? JSON_TYPE : {},
      ...(isWrite && operation.body !== undefined ? { body: Buffer.from('{"properties":') } : {}),
      // A junk name is something that does not exist: only a DELETE (of nothing) may succeed.
      expect: operation.method === 'GET' || operation.method === 'DELETE' ? ('notServerError' as const) : ('refused' as const),
    }));
}

/**
 * A method the path does not serve (declared: the methods the document lists for it); a broken body, so nothing can
 * succeed. Only methods an HTTP trigger can declare: others (PROPFIND, …) never reach a Functions app on any host.
 */
export function methodRequests(operation: FuzzOperation, values: PathValues, declared: readonly string[]): fc.Arbitrary<FuzzRequest> {
  const path = `${fillPath(operation.pathTemplate, values)}?${API_VERSION}`;
  const others = ['PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'].filter((method) => !declared.includes(method));
  return fc.constantFrom(...others).map((method) => ({
    kind: `method: ${method} (served: ${declared.join(', ')})`,
    method,
    path,
    headers: JSON_TYPE,
    body: Buffer.from('{"properties":'),
    expect: method === 'OPTIONS' ? ('notServerError' as const) : ('refused' as const),
  }));
}

const headerValue = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'abcXYZ019 -_.:;,=/+"\'\\()<>@[]{}?\t'.split('')), maxLength: 60 }),
  fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 10 }),
  fc.integer({ min: 1_000, max: 12_000 }).map((n) => 'h'.repeat(n)),
);

/** Broken credentials, media types and client headers; a write's body is broken too, so nothing may succeed. */
export function headerRequests(operation: FuzzOperation, values: PathValues): fc.Arbitrary<FuzzRequest> {
  const path = `${fillPath(operation.pathTemplate, values)}?${API_VERSION}`;
  const isWrite = !['GET', 'HEAD'].includes(operation.method);
  const broken = isWrite ? { body: Buffer.from('{"properties":[') } : {};
  const authorization = fc.oneof(
    fc.constantFrom('Bearer', 'Bearer ', 'bearer a.b.c', 'Basic dXNlcjpwYXNz', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'Bearer a..c', 'Bearer ' + 'A'.repeat(9_000)),
    headerValue.map((v) => `Bearer ${v}`),
  );
  const withBrokenToken = authorization.map((value) => ({ kind: `header: Authorization ${value.slice(0, 30)}`, method: operation.method, path, headers: { authorization: value, ...JSON_TYPE }, ...broken, expect: 'refused' as const }));
  // A write without a body to break would be carried out with a valid token: only broken tokens for it.
  if (isWrite && operation.body === undefined) return withBrokenToken;
  return fc.oneof(
    withBrokenToken,
    fc
      .record({ 'content-type': headerValue, accept: headerValue, 'x-ms-client-request-id': headerValue, 'x-ms-correlation-request-id': headerValue, 'x-forwarded-host': headerValue, 'x-forwarded-proto': headerValue, 'x-forwarded-for': headerValue, 'accept-language': headerValue }, { requiredKeys: [] })
      .map((headers) => ({ kind: `header: junk ${Object.keys(headers).join(',')}`, method: operation.method, path, headers, ...broken, expect: isWrite ? ('refused' as const) : ('notServerError' as const) })),
  );
}
