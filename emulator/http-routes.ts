/**
 * Azure Functions HTTP route templates, matched the way the Functions host (ASP.NET Core routing)
 * matches them: case-insensitive literals, `{name}`, `{name?}`, `{name=default}`, inline constraints
 * (`{id:int}`, `{x:regex(...)}`, …), catch-all `{*rest}` / `{**rest}` and complex segments such as
 * `{name}.{ext?}`. Parameter values are URL-decoded.
 *
 * Routes sort by ASP.NET's inbound precedence, per segment from the left:
 * literal > complex segment / constrained parameter > parameter > optional parameter > catch-all.
 */

export class RouteTemplateError extends Error {
  readonly code = 'InvalidRouteTemplate' as const;
  constructor(
    readonly template: string,
    reason: string,
  ) {
    super(`Invalid route template '${template}': ${reason}`);
    this.name = 'RouteTemplateError';
  }
}

type ConstraintCheck = (value: string) => boolean;

interface Constraint {
  readonly text: string;
  readonly check: ConstraintCheck;
}

interface LiteralPart {
  readonly kind: 'literal';
  readonly text: string;
}

interface ParamPart {
  readonly kind: 'param';
  readonly name: string;
  readonly optional: boolean;
  readonly defaultValue: string | undefined;
  readonly catchAll: boolean;
  readonly constraints: readonly Constraint[];
}

type Part = LiteralPart | ParamPart;

interface Segment {
  readonly parts: readonly Part[];
  /** Complex segments (several parts) are matched with a regex; see complexMatcher. */
  readonly complex?: ComplexMatcher;
}

interface ComplexMatcher {
  /** Tried in order; the second (if any) leaves out a trailing `.{optional?}`. */
  readonly patterns: readonly { regex: RegExp; params: readonly ParamPart[] }[];
}

/** Lower ranks are more specific. `missing` is for a route that has no segment at that position. */
export const SEGMENT_RANK = {
  missing: 0,
  literal: 1,
  complexOrConstrained: 2,
  parameter: 3,
  optional: 4,
  constrainedCatchAll: 5,
  catchAll: 6,
} as const;

export interface CompiledRoute {
  readonly template: string;
  readonly parameterNames: readonly string[];
  /** One rank per segment (see SEGMENT_RANK); compare with compareRoutePrecedence. */
  readonly precedence: readonly number[];
  /** The parameters of a matching path (URL-decoded), or undefined when the path does not match. */
  match(path: string): Record<string, string> | undefined;
}

const INT32 = { min: -(2n ** 31n), max: 2n ** 31n - 1n };
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

function integerIn(range: { min: bigint; max: bigint }): ConstraintCheck {
  return (value) => {
    if (!/^\s*[+-]?\d+\s*$/.test(value)) return false;
    const n = BigInt(value.trim());
    return n >= range.min && n <= range.max;
  };
}

const FLOAT = /^\s*[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
const FLOAT_SPECIAL = /^\s*(?:NaN|[+-]?Infinity)\s*$/;
const isFloat: ConstraintCheck = (v) => FLOAT.test(v) || FLOAT_SPECIAL.test(v);
const isDecimal: ConstraintCheck = (v) => /^\s*[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)\s*$/.test(v);

const HEX = '[0-9a-fA-F]';
const GUID_D = `${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}`;
const GUID = new RegExp(`^(?:${HEX}{32}|${GUID_D}|\\{${GUID_D}\\}|\\(${GUID_D}\\))$`);

function parseIntArg(template: string, constraint: string, arg: string): number {
  if (!/^\s*-?\d+\s*$/.test(arg)) throw new RouteTemplateError(template, `constraint '${constraint}' needs an integer argument, got '${arg}'`);
  return Number(arg.trim());
}

function parseIntArgs(template: string, constraint: string, arg: string | undefined, count: number[]): number[] {
  if (arg === undefined) throw new RouteTemplateError(template, `constraint '${constraint}' needs an argument`);
  const values = arg.split(',').map((a) => parseIntArg(template, constraint, a));
  if (!count.includes(values.length)) {
    throw new RouteTemplateError(template, `constraint '${constraint}' takes ${count.join(' or ')} argument(s), got ${values.length}`);
  }
  return values;
}

function noArg(template: string, name: string, arg: string | undefined, check: ConstraintCheck): ConstraintCheck {
  if (arg !== undefined) throw new RouteTemplateError(template, `constraint '${name}' takes no argument`);
  return check;
}

/** The inline constraints of ASP.NET Core routing that make sense for matching incoming requests. */
function resolveConstraint(template: string, name: string, arg: string | undefined): ConstraintCheck {
  switch (name.toLowerCase()) {
    case 'int':
      return noArg(template, name, arg, integerIn(INT32));
    case 'long':
      return noArg(template, name, arg, integerIn(INT64));
    case 'bool':
      return noArg(template, name, arg, (v) => /^\s*(?:true|false)\s*$/i.test(v));
    case 'guid':
      return noArg(template, name, arg, (v) => GUID.test(v));
    case 'double':
    case 'float':
      return noArg(template, name, arg, isFloat);
    case 'decimal':
      return noArg(template, name, arg, isDecimal);
    case 'datetime':
      return noArg(template, name, arg, (v) => /\d/.test(v) && !Number.isNaN(Date.parse(v)));
    case 'alpha':
      return noArg(template, name, arg, (v) => /^[a-z]*$/i.test(v));
    case 'required':
      return noArg(template, name, arg, (v) => v.length > 0);
    case 'file':
      return noArg(template, name, arg, (v) => /\.[^./]+$/.test(v.split('/').pop() ?? ''));
    case 'nonfile':
      return noArg(template, name, arg, (v) => !/\.[^./]+$/.test(v.split('/').pop() ?? ''));
    case 'minlength': {
      const [min] = parseIntArgs(template, name, arg, [1]);
      return (v) => v.length >= min;
    }
    case 'maxlength': {
      const [max] = parseIntArgs(template, name, arg, [1]);
      return (v) => v.length <= max;
    }
    case 'length': {
      const values = parseIntArgs(template, name, arg, [1, 2]);
      const [min, max] = values.length === 1 ? [values[0], values[0]] : values;
      return (v) => v.length >= min && v.length <= max;
    }
    case 'min': {
      const [min] = parseIntArgs(template, name, arg, [1]);
      return (v) => integerIn(INT64)(v) && BigInt(v.trim()) >= BigInt(min);
    }
    case 'max': {
      const [max] = parseIntArgs(template, name, arg, [1]);
      return (v) => integerIn(INT64)(v) && BigInt(v.trim()) <= BigInt(max);
    }
    case 'range': {
      const [min, max] = parseIntArgs(template, name, arg, [2]);
      return (v) => integerIn(INT64)(v) && BigInt(v.trim()) >= BigInt(min) && BigInt(v.trim()) <= BigInt(max);
    }
    case 'regex': {
      if (arg === undefined) throw new RouteTemplateError(template, `constraint 'regex' needs a pattern`);
      let regex: RegExp;
      try {
        // ASP.NET uses IgnoreCase | CultureInvariant and an unanchored IsMatch.
        regex = new RegExp(arg, 'i');
      } catch (e) {
        throw new RouteTemplateError(template, `regex '${arg}' is not valid: ${(e as Error).message}`);
      }
      return (v) => regex.test(v);
    }
    default:
      throw new RouteTemplateError(template, `unknown constraint '${name}'`);
  }
}

/**
 * Splits a template into segments of literal and parameter parts. `{{` and `}}` are escaped braces,
 * in literals and inside parameters (e.g. `regex(^\d{{3}}$)`); a single `}` ends a parameter.
 */
function parseSegments(template: string): Part[][] {
  const segments: Part[][] = [[]];
  let literal = '';
  const flush = (): void => {
    if (literal) segments[segments.length - 1].push({ kind: 'literal', text: literal });
    literal = '';
  };
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if (c === '/') {
      flush();
      segments.push([]);
      i++;
    } else if ((c === '{' || c === '}') && template[i + 1] === c) {
      literal += c;
      i += 2;
    } else if (c === '}') {
      throw new RouteTemplateError(template, `unmatched '}' (write '}}' for a literal brace)`);
    } else if (c === '{') {
      let text = '';
      let j = i + 1;
      for (;;) {
        if (j >= template.length) throw new RouteTemplateError(template, `unterminated parameter (missing '}')`);
        const d = template[j];
        if ((d === '{' || d === '}') && template[j + 1] === d) {
          text += d;
          j += 2;
        } else if (d === '{') {
          throw new RouteTemplateError(template, `'{' inside a parameter must be escaped as '{{'`);
        } else if (d === '}') {
          break;
        } else {
          text += d;
          j++;
        }
      }
      flush();
      segments[segments.length - 1].push(parseParameter(template, text));
      i = j + 1;
    } else if (c === '?') {
      throw new RouteTemplateError(template, `'?' is only allowed inside a parameter`);
    } else {
      literal += c;
      i++;
    }
  }
  flush();
  return segments;
}

const PARAM_NAME = /^[^{}/?*=:]+$/;

function parseParameter(template: string, text: string): ParamPart {
  let rest = text;
  let catchAll = false;
  if (rest.startsWith('**')) {
    catchAll = true;
    rest = rest.slice(2);
  } else if (rest.startsWith('*')) {
    catchAll = true;
    rest = rest.slice(1);
  }

  const nameEnd = rest.search(/[:=?]/);
  const name = (nameEnd === -1 ? rest : rest.slice(0, nameEnd)).trim();
  if (!name) throw new RouteTemplateError(template, `a parameter needs a name ('{${text}}')`);
  if (!PARAM_NAME.test(name)) throw new RouteTemplateError(template, `'${name}' is not a valid parameter name`);
  rest = nameEnd === -1 ? '' : rest.slice(nameEnd);

  const constraints: Constraint[] = [];
  while (rest.startsWith(':')) {
    const match = /^:([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
    if (!match) throw new RouteTemplateError(template, `parameter '${name}' has an empty or invalid constraint`);
    const constraintName = match[1];
    rest = rest.slice(match[0].length);
    let arg: string | undefined;
    if (rest.startsWith('(')) {
      const close = findConstraintArgEnd(rest);
      if (close === -1) throw new RouteTemplateError(template, `constraint '${constraintName}' of '${name}' is missing ')'`);
      arg = rest.slice(1, close);
      rest = rest.slice(close + 1);
    }
    constraints.push({ text: arg === undefined ? constraintName : `${constraintName}(${arg})`, check: resolveConstraint(template, constraintName, arg) });
  }

  let optional = false;
  let defaultValue: string | undefined;
  if (rest.startsWith('=')) {
    defaultValue = rest.slice(1);
    rest = '';
  } else if (rest === '?') {
    optional = true;
    rest = '';
  }
  if (rest) throw new RouteTemplateError(template, `unexpected '${rest}' in parameter '${name}'`);
  if (optional && catchAll) throw new RouteTemplateError(template, `catch-all parameter '${name}' cannot be optional (it already matches nothing)`);
  if (defaultValue?.endsWith('?')) throw new RouteTemplateError(template, `optional parameter '${name}' cannot have a default value`);
  return { kind: 'param', name, optional, defaultValue, catchAll, constraints };
}

/** A constraint argument ends at the ')' that is followed by ':', '=', '?' or the end. */
function findConstraintArgEnd(rest: string): number {
  for (let i = 1; i < rest.length; i++) {
    if (rest[i] !== ')') continue;
    const next = rest[i + 1];
    if (next === undefined || next === ':' || next === '=' || (next === '?' && i + 2 === rest.length)) return i;
  }
  return -1;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function complexMatcher(template: string, parts: readonly Part[]): ComplexMatcher {
  for (let i = 1; i < parts.length; i++) {
    if (parts[i].kind === 'param' && parts[i - 1].kind === 'param') {
      throw new RouteTemplateError(template, 'a segment cannot contain two consecutive parameters; separate them with a literal');
    }
  }
  for (const [i, part] of parts.entries()) {
    if (part.kind !== 'param') continue;
    if (part.catchAll) throw new RouteTemplateError(template, `catch-all parameter '${part.name}' must be a whole segment`);
    if (part.optional) {
      const previous = parts[i - 1];
      if (i !== parts.length - 1 || previous?.kind !== 'literal' || !previous.text.endsWith('.')) {
        throw new RouteTemplateError(template, `optional parameter '${part.name}' inside a segment must be last and follow a '.' (as in '{name}.{ext?}')`);
      }
    }
  }
  const build = (ps: readonly Part[]): { regex: RegExp; params: ParamPart[] } => {
    const params = ps.filter((p): p is ParamPart => p.kind === 'param');
    const source = ps.map((p) => (p.kind === 'literal' ? escapeRegex(p.text) : '(.+)')).join('');
    return { regex: new RegExp(`^${source}$`, 'i'), params };
  };
  const patterns = [build(parts)];
  const last = parts[parts.length - 1];
  if (last.kind === 'param' && last.optional) {
    const previous = parts[parts.length - 2] as LiteralPart;
    const shortened = parts.slice(0, -2);
    const trimmed = previous.text.slice(0, -1);
    patterns.push(build(trimmed ? [...shortened, { kind: 'literal', text: trimmed }] : shortened));
  }
  return { patterns };
}

function segmentRank(segment: Segment): number {
  if (segment.parts.length > 1) return SEGMENT_RANK.complexOrConstrained;
  const part = segment.parts[0];
  if (part.kind === 'literal') return SEGMENT_RANK.literal;
  if (part.catchAll) return part.constraints.length > 0 ? SEGMENT_RANK.constrainedCatchAll : SEGMENT_RANK.catchAll;
  if (part.optional || part.defaultValue !== undefined) return SEGMENT_RANK.optional;
  return part.constraints.length > 0 ? SEGMENT_RANK.complexOrConstrained : SEGMENT_RANK.parameter;
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Splits a request path (as in URL.pathname, still percent-encoded) into decoded segments. */
function pathSegments(path: string): string[] {
  let p = path;
  const cut = p.search(/[?#]/);
  if (cut !== -1) p = p.slice(0, cut);
  p = p.replace(/^\/+/, '');
  if (p.endsWith('/')) p = p.slice(0, -1);
  return p === '' ? [] : p.split('/').map(decodeSegment);
}

function passes(param: ParamPart, value: string): boolean {
  return param.constraints.every((c) => c.check(value));
}

/** A parameter segment that may be left out at the end of the path. */
function skippable(segment: Segment): ParamPart | undefined {
  if (segment.parts.length !== 1) return undefined;
  const part = segment.parts[0];
  if (part.kind !== 'param') return undefined;
  return part.optional || part.catchAll || part.defaultValue !== undefined ? part : undefined;
}

function matchSegment(segment: Segment, value: string, params: Record<string, string>): boolean {
  if (segment.complex) {
    for (const pattern of segment.complex.patterns) {
      const m = pattern.regex.exec(value);
      if (!m) continue;
      const found: Record<string, string> = {};
      for (const [i, param] of pattern.params.entries()) {
        if (!passes(param, m[i + 1])) return false;
        found[param.name] = m[i + 1];
      }
      Object.assign(params, found);
      return true;
    }
    return false;
  }
  const part = segment.parts[0];
  if (part.kind === 'literal') return part.text.toLowerCase() === value.toLowerCase();
  if (value === '' || !passes(part, value)) return false;
  params[part.name] = value;
  return true;
}

export function compileRoute(template: string): CompiledRoute {
  const trimmed = template.replace(/^~?\/+/, '').replace(/\/+$/, '');
  const segments: Segment[] = (trimmed === '' ? [] : parseSegments(trimmed)).map((parts) => {
    if (parts.length === 0) throw new RouteTemplateError(template, 'empty segment (two slashes in a row)');
    return parts.length > 1 ? { parts, complex: complexMatcher(template, parts) } : { parts };
  });

  const names = new Set<string>();
  const parameterNames: string[] = [];
  segments.forEach((segment, index) => {
    for (const part of segment.parts) {
      if (part.kind !== 'param') continue;
      const key = part.name.toLowerCase();
      if (names.has(key)) throw new RouteTemplateError(template, `parameter '${part.name}' appears more than once`);
      names.add(key);
      parameterNames.push(part.name);
      if (part.catchAll && index !== segments.length - 1) {
        throw new RouteTemplateError(template, `catch-all parameter '${part.name}' must be the last segment`);
      }
    }
  });

  const precedence = segments.map(segmentRank);

  function match(path: string): Record<string, string> | undefined {
    const values = pathSegments(path);
    const params: Record<string, string> = {};
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i];
      const only = segment.parts.length === 1 ? segment.parts[0] : undefined;
      if (only?.kind === 'param' && only.catchAll) {
        const rest = values.slice(i).join('/');
        if (rest === '') {
          if (only.defaultValue !== undefined) params[only.name] = only.defaultValue;
        } else {
          if (!passes(only, rest)) return undefined;
          params[only.name] = rest;
        }
        return params;
      }
      if (i >= values.length) {
        // The path ended: every remaining segment must be optional or have a default.
        for (const remaining of segments.slice(i)) {
          const part = skippable(remaining);
          if (!part) return undefined;
          if (part.defaultValue !== undefined) params[part.name] = part.defaultValue;
        }
        return params;
      }
      if (!matchSegment(segment, values[i], params)) return undefined;
    }
    return values.length === segments.length ? params : undefined;
  }

  return { template, parameterNames, precedence, match };
}

/** Negative when a is more specific than b (sorts first). */
export function compareRoutePrecedence(a: readonly number[], b: readonly number[]): number {
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const diff = (a[i] ?? SEGMENT_RANK.missing) - (b[i] ?? SEGMENT_RANK.missing);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** The route of an HTTP function that sets none: its name. */
export function defaultRoute(functionName: string): string {
  return functionName;
}

/** What `app.http()` registers when `methods` is left out (see @azure/functions trigger.http). */
export const DEFAULT_HTTP_METHODS: readonly string[] = ['GET', 'POST'];

export interface RouteEntry<T> {
  route: string;
  /** undefined = GET and POST (the v4 library's default); an empty list = every method (as the host treats it). */
  methods: readonly string[] | undefined;
  key: T;
}

export type RouteLookup<T> =
  | { key: T; params: Record<string, string> }
  | { methodNotAllowed: true; allowedMethods: string[] }
  | undefined;

export interface Router<T> {
  /**
   * The most specific route whose template matches the path and that allows the method. When the
   * path matches but no route allows the method: methodNotAllowed (the real host answers 404 then).
   */
  find(method: string, path: string): RouteLookup<T>;
  /** Routes in match order. */
  readonly routes: readonly { template: string; methods: readonly string[] | 'any'; key: T }[];
}

export interface RouterOptions {
  /** host.json `extensions.http.routePrefix`, e.g. 'api'; prepended to every route. Default: none. */
  routePrefix?: string;
}

export function buildRouter<T>(entries: readonly RouteEntry<T>[], options: RouterOptions = {}): Router<T> {
  const prefix = (options.routePrefix ?? '').replace(/^\/+|\/+$/g, '');
  const compiled = entries.map((entry, order) => {
    const route = entry.route.replace(/^~?\/+/, '');
    const template = [prefix, route].filter((s) => s !== '').join('/');
    const methods: readonly string[] | 'any' =
      entry.methods === undefined ? DEFAULT_HTTP_METHODS : entry.methods.length === 0 ? 'any' : entry.methods.map((m) => m.toUpperCase());
    return { template, methods, key: entry.key, route: compileRoute(template), order };
  });
  compiled.sort((a, b) => compareRoutePrecedence(a.route.precedence, b.route.precedence) || a.order - b.order);

  return {
    routes: compiled.map(({ template, methods, key }) => ({ template, methods, key })),
    find(method, path) {
      const wanted = method.toUpperCase();
      const allowed = new Set<string>();
      let pathMatched = false;
      for (const entry of compiled) {
        const params = entry.route.match(path);
        if (!params) continue;
        pathMatched = true;
        if (entry.methods === 'any' || entry.methods.includes(wanted)) return { key: entry.key, params };
        entry.methods.forEach((m) => allowed.add(m));
      }
      return pathMatched ? { methodNotAllowed: true, allowedMethods: [...allowed].sort() } : undefined;
    },
  };
}
