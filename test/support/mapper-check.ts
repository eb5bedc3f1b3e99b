/**
 * A JSON value checked against a core-client mapper of the official SDKs (test/support/sdk-spec-source.ts),
 * as strictly as the swagger they are generated from:
 * - required properties present (null reads as absent: Azure sends nulls for optional fields, the clients
 *   read them as absent), flattened `serializedName` paths (`properties.x`) followed;
 * - types: String, Number, Boolean, DateTime (RFC 3339 with a zone), Date, DateTimeRfc1123, UnixTime,
 *   TimeSpan (ISO 8601 duration), Uuid, ByteArray/Base64Url, Sequence, Dictionary, Composite, Enum; Object
 *   and `any` take anything;
 * - `allowedValues` of enums, and the known values of extensible enums (`KnownX` of index.ts): Kluis must
 *   send only documented values, as the swagger validator required;
 * - constraints (bounds, lengths, patterns, item counts, unique items), constant values;
 * - polymorphic composites resolved as core-client resolves them (`discriminators`, `uberParent.value`,
 *   searched through the subtypes): a missing or unknown discriminator value fails, and so does a subtype
 *   that does not descend from the declared type;
 * - properties the model does not declare are allowed (Azure's swagger sets no `additionalProperties: false`
 *   on these models and the clients ignore them), unless the model types them (`additionalProperties`).
 * `readOnly` does not matter: responses carry read-only fields.
 */
import type { Mapper, SdkSpec } from './sdk-spec-source';

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DURATION = /^-?P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

type Models = Pick<SdkSpec, 'mapper' | 'discriminators' | 'knownValues'>;

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const show = (value: unknown) => (value instanceof Date ? value.toISOString() : JSON.stringify(value)?.slice(0, 80));

/** `properties.x` → ['properties', 'x']; `odata\\.type` stays one segment. */
export function serializedPath(serializedName: string): string[] {
  return serializedName.split(/(?<!\\)\./).map((segment) => segment.replace(/\\\./g, '.'));
}

export class MapperCheck {
  constructor(private readonly models: Models) {}

  /** The problems of `value` against `mapper` (empty when it conforms); paths read `/properties/x/0`. */
  check(mapper: Mapper, value: unknown): string[] {
    const problems: string[] = [];
    this.visit(mapper, value, '', problems);
    return [...new Set(problems)];
  }

  private visit(mapper: Mapper, value: unknown, at: string, problems: string[], known?: readonly string[]): void {
    const where = at === '' ? '(body)' : at;
    const fail = (message: string): void => {
      problems.push(`${where} ${message}`);
    };
    const { type } = mapper;
    switch (type.name) {
      case 'String':
        if (typeof value !== 'string') return fail(`must be a string, got ${show(value)}`);
        if (known !== undefined && !known.includes(value)) return fail(`must be one of the known values ${JSON.stringify(known)}, got ${show(value)}`);
        break;
      case 'Number':
        if (typeof value !== 'number' || !Number.isFinite(value)) return fail(`must be a number, got ${show(value)}`);
        break;
      case 'Boolean':
        if (typeof value !== 'boolean') return fail(`must be a boolean, got ${show(value)}`);
        break;
      case 'DateTime':
        if (typeof value !== 'string' || !DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) return fail(`must be a date-time (RFC 3339, with a zone), got ${show(value)}`);
        break;
      case 'Date':
        if (typeof value !== 'string' || !DATE.test(value) || Number.isNaN(Date.parse(value))) return fail(`must be a date (YYYY-MM-DD), got ${show(value)}`);
        break;
      case 'DateTimeRfc1123':
        if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) return fail(`must be an RFC 1123 date-time, got ${show(value)}`);
        break;
      case 'UnixTime':
        if (typeof value !== 'number' || !Number.isInteger(value)) return fail(`must be a Unix time (integer seconds), got ${show(value)}`);
        break;
      case 'TimeSpan':
        if (typeof value !== 'string' || !ISO_DURATION.test(value)) return fail(`must be an ISO 8601 duration, got ${show(value)}`);
        break;
      case 'Uuid':
        if (typeof value !== 'string' || !UUID.test(value)) return fail(`must be a UUID, got ${show(value)}`);
        break;
      case 'ByteArray':
      case 'Base64Url':
        if (typeof value !== 'string' || !BASE64.test(value)) return fail(`must be base64, got ${show(value)}`);
        break;
      case 'Enum':
        if (!(type.allowedValues ?? []).includes(value)) return fail(`must be one of ${JSON.stringify(type.allowedValues)}, got ${show(value)}`);
        break;
      case 'Sequence':
        if (!Array.isArray(value)) return fail(`must be an array, got ${show(value)}`);
        value.forEach((element, index) => this.visit(type.element!, element, `${at}/${index}`, problems, known));
        break;
      case 'Dictionary':
        if (!isPlainObject(value)) return fail(`must be an object (a dictionary), got ${show(value)}`);
        for (const [key, entry] of Object.entries(value)) if (entry !== null) this.visit(type.value!, entry, `${at}/${key}`, problems);
        break;
      case 'Composite':
        if (!isPlainObject(value)) return fail(`must be an object (${type.className}), got ${show(value)}`);
        this.visitComposite(mapper, value, at, problems);
        break;
      case 'Object':
      case 'any':
      case 'Stream':
        break;
      default:
        return fail(`has a mapper type this check does not know: ${type.name}`);
    }
    if (mapper.isConstant === true && value !== mapper.defaultValue) fail(`must be ${show(mapper.defaultValue)}, got ${show(value)}`);
    this.checkConstraints(mapper, value, fail);
  }

  private visitComposite(mapper: Mapper, value: Record<string, unknown>, at: string, problems: string[]): void {
    const declared = this.resolve(mapper);
    const actual = this.polymorphic(declared, value, at, problems);
    if (actual === undefined) return;
    const className = actual.type.className ?? '';
    const declaredKeys = new Set<string>();
    for (const [clientName, property] of Object.entries(actual.type.modelProperties ?? {})) {
      const segments = serializedPath(property.serializedName ?? clientName);
      declaredKeys.add(segments[0]);
      let field: unknown = value;
      for (const segment of segments) field = isPlainObject(field) ? field[segment] : undefined;
      const where = `${at}/${segments.join('/')}`;
      if (field === undefined || field === null) {
        if (property.required === true) problems.push(`${at === '' ? '(body)' : at} must have required property '${segments.join('.')}'`);
        continue;
      }
      const known = this.models.knownValues(className, clientName);
      const elementsKnown = known !== undefined && known.elements === (property.type.name === 'Sequence') ? known.values : undefined;
      this.visit(property, field, where, problems, elementsKnown);
    }
    const extra = actual.type.additionalProperties;
    if (extra !== undefined && !['Object', 'any'].includes(extra.type.name)) {
      for (const [key, field] of Object.entries(value)) if (!declaredKeys.has(key) && field !== null) this.visit(extra, field, `${at}/${key}`, problems);
    }
  }

  /** A reference `{ type: { name: 'Composite', className } }` → the model's own mapper. */
  private resolve(mapper: Mapper): Mapper {
    if (mapper.type.modelProperties !== undefined || mapper.type.className === undefined) return mapper;
    const model = this.models.mapper(mapper.type.className);
    if (model === undefined) throw new Error(`the SDK has no model ${mapper.type.className}`);
    return model;
  }

  /**
   * The model a polymorphic value is, by its discriminator: the declared type itself when the value names
   * it, else the subtype keyed `<type>.<value>` in `discriminators`, searched through the declared type's
   * subtypes (as core-client's getIndexDiscriminator does, but from the declared type, not its root).
   */
  private polymorphic(declared: Mapper, value: Record<string, unknown>, at: string, problems: string[]): Mapper | undefined {
    const discriminator = declared.type.polymorphicDiscriminator;
    const className = declared.type.className ?? '';
    if (discriminator === undefined) return declared;
    const key = serializedPath(discriminator.serializedName)[0];
    const name = value[key];
    if (typeof name !== 'string') {
      problems.push(`${at === '' ? '(body)' : at} must have the discriminator '${key}' of ${className}, got ${show(name)}`);
      return undefined;
    }
    const found = this.subtype(className, name);
    if (found !== undefined) return found;
    const root = this.rootOf(declared);
    const elsewhere = root === className ? undefined : this.subtype(root, name);
    problems.push(
      elsewhere === undefined
        ? `${at}/${key} ${show(name)} names no ${className} the specification knows (${this.subtypeNames(className).join(', ')})`
        : `${at}/${key} ${show(name)} is a ${elsewhere.type.className}, which is not a ${className}`,
    );
    return undefined;
  }

  private subtype(className: string, name: string): Mapper | undefined {
    const queue = [className];
    const discriminators = this.models.discriminators;
    while (queue.length > 0) {
      const current = queue.shift()!;
      if (name === current) return this.models.mapper(current);
      const hit = discriminators[`${current}.${name}`];
      if (hit !== undefined) return this.resolve(hit);
      for (const [key, mapper] of Object.entries(discriminators)) {
        if (key.startsWith(`${current}.`) && mapper.type.uberParent === current && mapper.type.className !== undefined) queue.push(mapper.type.className);
      }
    }
    return undefined;
  }

  /** The discriminator values the declared type and its subtypes take. */
  private subtypeNames(className: string): string[] {
    const names = [className];
    for (const [key, mapper] of Object.entries(this.models.discriminators)) {
      if (key.startsWith(`${className}.`)) {
        names.push(key.slice(className.length + 1));
        if (mapper.type.className !== undefined && mapper.type.className !== className) names.push(...this.subtypeNames(mapper.type.className).slice(1));
      }
    }
    return [...new Set(names)];
  }

  private rootOf(mapper: Mapper): string {
    let current = mapper;
    while (current.type.uberParent !== undefined && current.type.uberParent !== current.type.className) {
      const parent = this.models.mapper(current.type.uberParent);
      if (parent === undefined) break;
      current = parent;
    }
    return current.type.className ?? '';
  }

  private checkConstraints(mapper: Mapper, value: unknown, fail: (message: string) => void): void {
    const c = mapper.constraints;
    if (c === undefined) return;
    if (typeof value === 'number') {
      if (c.InclusiveMaximum !== undefined && value > c.InclusiveMaximum) fail(`must be at most ${c.InclusiveMaximum}, got ${value}`);
      if (c.ExclusiveMaximum !== undefined && value >= c.ExclusiveMaximum) fail(`must be below ${c.ExclusiveMaximum}, got ${value}`);
      if (c.InclusiveMinimum !== undefined && value < c.InclusiveMinimum) fail(`must be at least ${c.InclusiveMinimum}, got ${value}`);
      if (c.ExclusiveMinimum !== undefined && value <= c.ExclusiveMinimum) fail(`must be above ${c.ExclusiveMinimum}, got ${value}`);
      if (c.MultipleOf !== undefined && value % c.MultipleOf !== 0) fail(`must be a multiple of ${c.MultipleOf}, got ${value}`);
    }
    if (typeof value === 'string') {
      if (c.MaxLength !== undefined && value.length > c.MaxLength) fail(`must be at most ${c.MaxLength} characters long, got ${value.length}`);
      if (c.MinLength !== undefined && value.length < c.MinLength) fail(`must be at least ${c.MinLength} characters long, got ${value.length}`);
      if (c.Pattern !== undefined && !new RegExp(c.Pattern).test(value)) fail(`must match ${String(c.Pattern)}, got ${show(value)}`);
    }
    if (Array.isArray(value)) {
      if (c.MaxItems !== undefined && value.length > c.MaxItems) fail(`must have at most ${c.MaxItems} items, got ${value.length}`);
      if (c.MinItems !== undefined && value.length < c.MinItems) fail(`must have at least ${c.MinItems} items, got ${value.length}`);
      if (c.UniqueItems === true && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) fail('must not repeat an item');
    }
  }
}
