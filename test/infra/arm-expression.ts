/**
 * A small evaluator of ARM template expressions (`[format('{0}-{1}', parameters('a'), variables('b'))]`), for
 * the functions infra/*.json use, so tests can read what a template would set (app settings, outputs) with
 * given parameters. `reference()` answers from stubs the test supplies, per resource type. Unknown functions
 * throw: a template using one the evaluator lacks fails its test rather than passing unread.
 */
import { createHash } from 'node:crypto';

export type ArmValue = string | number | boolean | null | ArmValue[] | { [key: string]: ArmValue };

export interface ArmContext {
  parameters: Record<string, ArmValue>;
  variables: Record<string, ArmValue>;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  tenantId: string;
  /** What `reference(resourceId(type, …))` returns, by resource type. */
  references: Record<string, Record<string, ArmValue>>;
  copyIndex?: number;
}

type Token = { kind: 'string' | 'number' | 'ident' | 'punct'; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (/\s/.test(ch)) {
      i += 1;
    } else if (ch === "'") {
      let text = '';
      i += 1;
      for (;;) {
        if (i >= source.length) throw new Error(`unterminated string in ${source}`);
        if (source[i] === "'" && source[i + 1] === "'") {
          text += "'";
          i += 2;
        } else if (source[i] === "'") {
          i += 1;
          break;
        } else {
          text += source[i];
          i += 1;
        }
      }
      tokens.push({ kind: 'string', text });
    } else if (/[0-9-]/.test(ch)) {
      const match = /^-?[0-9]+/.exec(source.slice(i));
      if (match === null) throw new Error(`bad number in ${source}`);
      tokens.push({ kind: 'number', text: match[0] });
      i += match[0].length;
    } else if (/[A-Za-z_]/.test(ch)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'ident', text: match[0] });
      i += match[0].length;
    } else if ('(),.[]'.includes(ch)) {
      tokens.push({ kind: 'punct', text: ch });
      i += 1;
    } else {
      throw new Error(`unexpected '${ch}' in ${source}`);
    }
  }
  return tokens;
}

type Node =
  | { kind: 'literal'; value: ArmValue }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'property'; target: Node; name: string }
  | { kind: 'index'; target: Node; index: Node };

function parse(source: string): Node {
  const tokens = tokenize(source);
  let at = 0;
  const peek = () => tokens[at];
  const expect = (text: string) => {
    if (tokens[at]?.text !== text) throw new Error(`expected '${text}' at token ${at} of ${source}`);
    at += 1;
  };
  const expression = (): Node => {
    const token = tokens[at];
    if (token === undefined) throw new Error(`unexpected end of ${source}`);
    at += 1;
    let node: Node;
    if (token.kind === 'string') node = { kind: 'literal', value: token.text };
    else if (token.kind === 'number') node = { kind: 'literal', value: Number(token.text) };
    else if (token.kind === 'ident' && (token.text === 'true' || token.text === 'false') && peek()?.text !== '(') node = { kind: 'literal', value: token.text === 'true' };
    else if (token.kind === 'ident') {
      expect('(');
      const args: Node[] = [];
      while (peek()?.text !== ')') {
        args.push(expression());
        if (peek()?.text === ',') at += 1;
      }
      expect(')');
      node = { kind: 'call', name: token.text.toLowerCase(), args };
    } else throw new Error(`unexpected '${token.text}' in ${source}`);
    for (;;) {
      if (peek()?.text === '.') {
        at += 1;
        node = { kind: 'property', target: node, name: tokens[at].text };
        at += 1;
      } else if (peek()?.text === '[') {
        at += 1;
        const index = expression();
        expect(']');
        node = { kind: 'index', target: node, index };
      } else return node;
    }
  };
  const node = expression();
  if (at !== tokens.length) throw new Error(`trailing tokens in ${source}`);
  return node;
}

const hash = (...parts: ArmValue[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex');

function guidOf(...parts: ArmValue[]): string {
  const h = hash(...parts);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function resourceIdOf(ctx: ArmContext, type: string, names: string[]): string {
  const segments = type.split('/');
  const provider = segments[0];
  const path = segments.slice(1).map((segment, i) => `${segment}/${names[i]}`).join('/');
  return `/subscriptions/${ctx.subscriptionId}/resourceGroups/${ctx.resourceGroup}/providers/${provider}/${path}`;
}

function typeOfResourceId(id: string): string {
  const match = /\/providers\/([^/]+)\/(.+)$/.exec(id);
  if (match === null) throw new Error(`not a resource id: ${id}`);
  const parts = match[2].split('/');
  return [match[1], ...parts.filter((_, i) => i % 2 === 0)].join('/');
}

function call(ctx: ArmContext, name: string, args: ArmValue[]): ArmValue {
  const str = (i: number) => String(args[i]);
  switch (name) {
    case 'parameters':
      if (!(str(0) in ctx.parameters)) throw new Error(`no parameter ${str(0)}`);
      return evaluate(ctx.parameters[str(0)], ctx);
    case 'variables':
      if (!(str(0) in ctx.variables)) throw new Error(`no variable ${str(0)}`);
      return evaluate(ctx.variables[str(0)], ctx);
    case 'format':
      return str(0).replace(/\{(\d+)\}/g, (_, n: string) => String(args[Number(n) + 1]));
    case 'concat':
      return args.every(Array.isArray) ? (args as ArmValue[][]).flat() : args.map(String).join('');
    case 'take':
      return Array.isArray(args[0]) ? args[0].slice(0, Number(args[1])) : str(0).slice(0, Number(args[1]));
    case 'tolower':
      return str(0).toLowerCase();
    case 'uniquestring':
      return hash(...args).slice(0, 13);
    case 'guid':
      return guidOf(...args);
    case 'empty':
      return args[0] === null || args[0] === '' || (Array.isArray(args[0]) && args[0].length === 0) || (typeof args[0] === 'object' && args[0] !== null && Object.keys(args[0]).length === 0);
    case 'not':
      return !args[0];
    case 'if':
      return args[0] ? args[1] : args[2];
    case 'equals':
      return JSON.stringify(args[0]) === JSON.stringify(args[1]);
    case 'add':
      return Number(args[0]) + Number(args[1]);
    case 'length':
      return Array.isArray(args[0]) ? args[0].length : typeof args[0] === 'object' && args[0] !== null ? Object.keys(args[0]).length : str(0).length;
    case 'union':
      return Object.assign({}, ...(args as object[]));
    case 'createobject': {
      const object: Record<string, ArmValue> = {};
      for (let i = 0; i < args.length; i += 2) object[str(i)] = args[i + 1];
      return object;
    }
    case 'copyindex':
      if (ctx.copyIndex === undefined) throw new Error('copyIndex() outside a copy loop');
      return ctx.copyIndex;
    case 'resourcegroup':
      return { id: `/subscriptions/${ctx.subscriptionId}/resourceGroups/${ctx.resourceGroup}`, name: ctx.resourceGroup, location: ctx.location };
    case 'subscription':
      return { id: `/subscriptions/${ctx.subscriptionId}`, subscriptionId: ctx.subscriptionId, tenantId: ctx.tenantId };
    case 'tenant':
      return { tenantId: ctx.tenantId };
    case 'resourceid':
      return resourceIdOf(ctx, str(0), args.slice(1).map(String));
    case 'subscriptionresourceid':
      return `/subscriptions/${ctx.subscriptionId}/providers/${str(0)}/${args.slice(1).map(String).join('/')}`;
    case 'reference': {
      const type = typeOfResourceId(str(0));
      const stub = ctx.references[type];
      if (stub === undefined) throw new Error(`no reference stub for ${type}`);
      return stub;
    }
    default:
      throw new Error(`the test's ARM evaluator has no function ${name}()`);
  }
}

function evaluateNode(node: Node, ctx: ArmContext): ArmValue {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'call':
      return call(ctx, node.name, node.args.map((arg) => evaluateNode(arg, ctx)));
    case 'property': {
      const target = evaluateNode(node.target, ctx);
      if (typeof target !== 'object' || target === null || Array.isArray(target) || !(node.name in target)) throw new Error(`no property ${node.name}`);
      return target[node.name];
    }
    case 'index': {
      const target = evaluateNode(node.target, ctx);
      const index = evaluateNode(node.index, ctx);
      if (Array.isArray(target)) return target[Number(index)];
      if (typeof target === 'object' && target !== null) return target[String(index)];
      throw new Error('index of a scalar');
    }
  }
}

/** A template value with every `[expression]` in it evaluated (`[[` escapes a literal bracket). */
export function evaluate(value: ArmValue, ctx: ArmContext): ArmValue {
  if (typeof value === 'string') {
    if (value.startsWith('[[')) return value.slice(1);
    if (value.startsWith('[') && value.endsWith(']')) return evaluateNode(parse(value.slice(1, -1)), ctx);
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => evaluate(item, ctx));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [evaluate(key, ctx) as string, evaluate(item, ctx)]));
  return value;
}

/** The names of the functions an expression string calls (lower-cased), to find list*() calls and the like. */
export function functionsCalled(value: ArmValue): string[] {
  const names: string[] = [];
  const visit = (node: Node) => {
    if (node.kind === 'call') {
      names.push(node.name);
      node.args.forEach(visit);
    } else if (node.kind === 'property') visit(node.target);
    else if (node.kind === 'index') {
      visit(node.target);
      visit(node.index);
    }
  };
  const walk = (item: ArmValue) => {
    if (typeof item === 'string' && item.startsWith('[') && !item.startsWith('[[') && item.endsWith(']')) visit(parse(item.slice(1, -1)));
    else if (Array.isArray(item)) item.forEach(walk);
    else if (typeof item === 'object' && item !== null) Object.entries(item).forEach(([key, child]) => {
      walk(key);
      walk(child);
    });
  };
  walk(value);
  return names;
}
