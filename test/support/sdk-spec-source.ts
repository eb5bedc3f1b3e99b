/**
 * The Recovery Services specification as the official SDK packages ship it (they are generated from it):
 * - `src/operations/*.ts` and the client's own file: one `coreClient.OperationSpec` per operation — path
 *   template, method, declared statuses with their body mappers, the request body parameter;
 * - `src/models/mappers.ts`: every model (required, types, enums, polymorphic discriminators and the
 *   `discriminators` map), and `src/models/parameters.ts` (the request body parameters);
 * - `src/models/index.ts`: the known values of extensible enums (`KnownProtectionState`, …), which the
 *   mappers type as plain strings.
 *
 * All of them are parsed with the TypeScript compiler API, never run: the model files hold only object
 * literals, which refer to each other by name, spread (`...Resource.type.modelProperties`) and property
 * access; `literalValue` evaluates exactly that and refuses anything else.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** The SDK packages Kluis follows (exact versions are pinned in package.json). */
export const SDK_PACKAGES = ['@azure/arm-recoveryservicesbackup', '@azure/arm-recoveryservices'] as const;
export type SdkPackageName = (typeof SDK_PACKAGES)[number];

/** A core-client mapper, as far as a response validator reads it. */
export interface Mapper {
  serializedName?: string;
  required?: boolean;
  readOnly?: boolean;
  nullable?: boolean;
  isConstant?: boolean;
  defaultValue?: unknown;
  constraints?: MapperConstraints;
  type: MapperType;
}

export interface MapperType {
  name: string;
  className?: string;
  uberParent?: string;
  polymorphicDiscriminator?: { serializedName: string; clientName: string };
  modelProperties?: Record<string, Mapper>;
  additionalProperties?: Mapper;
  element?: Mapper;
  value?: Mapper;
  allowedValues?: unknown[];
}

export interface MapperConstraints {
  InclusiveMaximum?: number;
  ExclusiveMaximum?: number;
  InclusiveMinimum?: number;
  ExclusiveMinimum?: number;
  MultipleOf?: number;
  MaxLength?: number;
  MinLength?: number;
  Pattern?: RegExp | string;
  MaxItems?: number;
  MinItems?: number;
  UniqueItems?: true;
}

export interface SdkResponse {
  /** The body mapper's name (`Mappers.X` → X), or a description of an inline one. */
  mapperName?: string;
  mapper?: Mapper;
}

export interface SdkOperation {
  /** `Group_Operation` as the SDK names them (ProtectionPolicies_CreateOrUpdate); the swagger's operationId up to case. */
  operationId: string;
  packageName: SdkPackageName;
  method: string;
  /** The path template, e.g. `/subscriptions/{subscriptionId}/…/backupPolicies/{policyName}`. */
  path: string;
  /** The source file, relative to the package. */
  file: string;
  /** The client methods that send it: `protectionPolicies.createOrUpdate`, `vaults.beginCreateOrUpdateAndWait`, … */
  clientMethods: string[];
  /** Declared statuses (`200`, `202`, `default`, …) → body mapper, if the response has a body. */
  responses: Record<string, SdkResponse>;
  /** The request body parameter: its name in the method signature and its mapper. */
  requestBody?: { parameterPath: string; mapperName: string; mapper: Mapper };
}

/** A property's known values (from index.ts), and whether they apply to an array's elements. */
export interface KnownValues {
  values: readonly string[];
  elements: boolean;
}

export interface SdkSpec {
  packageName: SdkPackageName;
  version: string;
  /** The api-version the client sends by default. */
  apiVersion: string;
  root: string;
  operations: SdkOperation[];
  /** The mapper of a model, by class name. */
  mapper(className: string): Mapper | undefined;
  discriminators: Readonly<Record<string, Mapper>>;
  /** The known values of `className.property` when its type is an extensible enum or a literal union. */
  knownValues(className: string, property: string): KnownValues | undefined;
}

/** The installed package's folder (its `package.json` is not exported, its main file is). */
export function packageRoot(packageName: SdkPackageName): string {
  let dir = path.dirname(require.resolve(packageName));
  while (!readFileSafe(path.join(dir, 'package.json')).includes(`"name": "${packageName}"`)) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`${packageName} is not installed`);
    dir = parent;
  }
  return dir;
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export function loadSdkSpec(packageName: SdkPackageName): SdkSpec {
  const root = packageRoot(packageName);
  const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const models = evaluateModels(root);

  const sourceFiles = [
    ...readdirSync(path.join(root, 'src', 'operations'))
      .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
      .map((f) => path.posix.join('src', 'operations', f)),
    ...readdirSync(path.join(root, 'src')).filter((f) => /Client\.ts$/.test(f)).map((f) => path.posix.join('src', f)),
  ];
  let apiVersion = '';
  const operations: SdkOperation[] = [];
  for (const file of sourceFiles) {
    const text = readFileSync(path.join(root, file), 'utf8');
    apiVersion ||= /options\.apiVersion\s*\|\|\s*"([^"]+)"/.exec(text)?.[1] ?? '';
    operations.push(...operationSpecsOf(packageName, file, text, models));
  }
  if (apiVersion === '') throw new Error(`${packageName}: no default api-version found`);

  const known = knownValuesOf(readFileSync(path.join(root, 'src', 'models', 'index.ts'), 'utf8'));
  return { packageName, version, apiVersion, root, operations, mapper: models.mapper, discriminators: models.discriminators, knownValues: known };
}

// ---- mappers and parameters ---------------------------------------------------------------------

const parse = (file: string, text: string) => ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);

/** The top-level `const`/`let` declarations of a module, by name, evaluated on first use. */
function lazyConstants(source: ts.SourceFile, resolveOther: (node: ts.Expression) => unknown): (name: string) => unknown {
  const initializers = new Map<string, ts.Expression>();
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (ts.isIdentifier(declaration.name) && declaration.initializer !== undefined) initializers.set(declaration.name.text, declaration.initializer);
    }
  }
  const values = new Map<string, unknown>();
  const valueOf = (name: string): unknown => {
    if (!values.has(name)) {
      const initializer = initializers.get(name);
      if (initializer === undefined) return undefined;
      values.set(name, literalValue(initializer, resolve));
    }
    return values.get(name);
  };
  // `X`, `X.type.modelProperties`: a constant of this module, or of the module's imports.
  const resolve = (node: ts.Expression): unknown => {
    if (ts.isIdentifier(node) && initializers.has(node.text)) return valueOf(node.text);
    if (ts.isPropertyAccessExpression(node)) {
      const owner = resolve(node.expression);
      if (typeof owner === 'object' && owner !== null && node.name.text in owner) return (owner as Record<string, unknown>)[node.name.text];
      throw new Error(`${source.fileName}: ${node.name.text} is undefined`);
    }
    return resolveOther(node);
  };
  return valueOf;
}

function evaluateModels(root: string): { mapper: (name: string) => Mapper | undefined; discriminators: Record<string, Mapper>; parameter: (name: string) => unknown } {
  const mappersFile = path.join(root, 'src', 'models', 'mappers.ts');
  const mappersSource = parse(mappersFile, readFileSync(mappersFile, 'utf8'));
  const refuse = (node: ts.Expression): never => {
    throw new Error(`not literal data (${ts.SyntaxKind[node.kind]}${ts.isIdentifier(node) ? ` ${node.text}` : ''})`);
  };
  const mappers = lazyConstants(mappersSource, refuse);

  const parametersFile = path.join(root, 'src', 'models', 'parameters.ts');
  const parametersSource = parse(parametersFile, readFileSync(parametersFile, 'utf8'));
  // `import { ProtectionPolicyResource as ProtectionPolicyResourceMapper } from "../models/mappers"`
  const imported = new Map<string, string>();
  for (const statement of parametersSource.statements) {
    const bindings = ts.isImportDeclaration(statement) ? statement.importClause?.namedBindings : undefined;
    if (bindings === undefined || !ts.isNamedImports(bindings)) continue;
    for (const element of bindings.elements) imported.set(element.name.text, (element.propertyName ?? element.name).text);
  }
  const parameters = lazyConstants(parametersSource, (node) => {
    const name = ts.isIdentifier(node) ? imported.get(node.text) : undefined;
    return name === undefined ? refuse(node) : mappers(name);
  });
  return {
    mapper: (name) => mappers(name) as Mapper | undefined,
    discriminators: (mappers('discriminators') ?? {}) as Record<string, Mapper>,
    parameter: parameters,
  };
}

// ---- operation specs ----------------------------------------------------------------------------

function operationSpecsOf(
  packageName: SdkPackageName,
  file: string,
  text: string,
  models: ReturnType<typeof evaluateModels>,
): SdkOperation[] {
  const source = parse(file, text);
  let group = '';
  const specs: Array<{ name: string; literal: ts.ObjectLiteralExpression }> = [];
  const methods = new Map<string, { specs: Set<string>; calls: Set<string> }>();
  for (const statement of source.statements) {
    if (ts.isClassDeclaration(statement) && statement.name !== undefined) {
      if (statement.name.text.endsWith('Impl')) group = statement.name.text.slice(0, -'Impl'.length);
      collectMethods(statement, methods);
    }
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      const name = ts.isIdentifier(declaration.name) ? declaration.name.text : '';
      if (name.endsWith('OperationSpec') && declaration.initializer !== undefined && ts.isObjectLiteralExpression(declaration.initializer)) {
        specs.push({ name: name.slice(0, -'OperationSpec'.length), literal: declaration.initializer });
      }
    }
  }
  const mapperRef = (node: ts.Expression): unknown => {
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Mappers') {
      const mapper = models.mapper(node.name.text);
      if (mapper === undefined) throw new Error(`${file}: no mapper ${node.name.text}`);
      return mapper;
    }
    throw new Error(`${file}: not literal data (${ts.SyntaxKind[node.kind]})`);
  };

  return specs.flatMap(({ name, literal }): SdkOperation[] => {
    const fields = propertiesOf(literal);
    const pathNode = fields.get('path');
    const methodNode = fields.get('httpMethod');
    if (pathNode === undefined || methodNode === undefined) throw new Error(`${file}: ${name}OperationSpec has no path or httpMethod`);
    const template = String(literalValue(pathNode));
    if (!template.startsWith('/')) return []; // `{nextLink}`: the next page of a list, at the address the list gave
    const responses: Record<string, SdkResponse> = {};
    const responsesNode = fields.get('responses');
    if (responsesNode !== undefined && ts.isObjectLiteralExpression(responsesNode)) {
      for (const [status, responseNode] of propertiesOf(responsesNode)) {
        const bodyNode = ts.isObjectLiteralExpression(responseNode) ? propertiesOf(responseNode).get('bodyMapper') : undefined;
        if (bodyNode === undefined) {
          responses[status] = {};
        } else {
          const mapper = literalValue(bodyNode, mapperRef) as Mapper;
          const mapperName = ts.isPropertyAccessExpression(bodyNode) ? bodyNode.name.text : describeInline(mapper);
          responses[status] = { mapperName, mapper };
        }
      }
    }
    const bodyNode = fields.get('requestBody');
    let requestBody: SdkOperation['requestBody'];
    if (bodyNode !== undefined && ts.isPropertyAccessExpression(bodyNode)) {
      const parameter = models.parameter(bodyNode.name.text) as { parameterPath?: string | string[]; mapper?: Mapper } | undefined;
      if (parameter?.mapper === undefined) throw new Error(`${file}: no request body parameter ${bodyNode.name.text}`);
      const parameterPath = Array.isArray(parameter.parameterPath) ? parameter.parameterPath.join('.') : String(parameter.parameterPath);
      requestBody = { parameterPath, mapperName: parameter.mapper.type.className ?? parameter.mapper.type.name, mapper: parameter.mapper };
    }
    const operationName = name.charAt(0).toUpperCase() + name.slice(1);
    const owner = group === '' ? '' : `${group.charAt(0).toLowerCase()}${group.slice(1)}.`;
    const clientMethods = [...methods.keys()].filter((method) => !method.startsWith('_') && !/Paging(All|Page)$/.test(method) && reaches(methods, method, `${name}OperationSpec`));
    return [
      {
        operationId: group === '' ? operationName : `${group}_${operationName}`,
        packageName,
        method: String(literalValue(methodNode)).toUpperCase(),
        path: template,
        file,
        clientMethods: clientMethods.map((method) => `${owner}${method}`),
        responses,
        ...(requestBody === undefined ? {} : { requestBody }),
      },
    ];
  });
}

/** Per method of a class: the operation specs it names and the methods it calls on `this`. */
function collectMethods(declaration: ts.ClassDeclaration, methods: Map<string, { specs: Set<string>; calls: Set<string> }>): void {
  for (const member of declaration.members) {
    if (!ts.isMethodDeclaration(member) || member.body === undefined || !ts.isIdentifier(member.name)) continue;
    const found = { specs: new Set<string>(), calls: new Set<string>() };
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node) && node.text.endsWith('OperationSpec')) found.specs.add(node.text);
      if (ts.isPropertyAccessExpression(node) && node.expression.kind === ts.SyntaxKind.ThisKeyword) found.calls.add(node.name.text);
      ts.forEachChild(node, visit);
    };
    visit(member.body);
    methods.set(member.name.text, found);
  }
}

function reaches(methods: Map<string, { specs: Set<string>; calls: Set<string> }>, method: string, spec: string, seen = new Set<string>()): boolean {
  const found = methods.get(method);
  if (found === undefined || seen.has(method)) return false;
  seen.add(method);
  return found.specs.has(spec) || [...found.calls].some((callee) => reaches(methods, callee, spec, seen));
}

function describeInline(mapper: Mapper): string {
  const { type } = mapper;
  if (type.name === 'Sequence' && type.element !== undefined) return `${describeInline(type.element)}[]`;
  if (type.name === 'Dictionary' && type.value !== undefined) return `Record<string, ${describeInline(type.value)}>`;
  return type.className ?? type.name;
}

function propertyNameOf(name: ts.PropertyName): string {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name)) return name.text;
  if (ts.isComputedPropertyName(name) && ts.isStringLiteralLike(name.expression)) return name.expression.text;
  throw new Error(`a property name that is not literal (${ts.SyntaxKind[name.kind]})`);
}

/** The `key: value` entries of an object literal (shorthands and spreads are not literal data here). */
function propertiesOf(literal: ts.ObjectLiteralExpression): Map<string, ts.Expression> {
  const entries = new Map<string, ts.Expression>();
  for (const property of literal.properties) {
    if (ts.isPropertyAssignment(property)) entries.set(propertyNameOf(property.name), property.initializer);
  }
  return entries;
}

/**
 * The value of a literal expression: strings, numbers, booleans, null, arrays, objects and `new Date(…)`
 * of literals. Anything else goes to `resolve` (e.g. `Mappers.X`, or a sample's own constant), and with
 * no resolver it is refused: only data is evaluated.
 */
export function literalValue(node: ts.Expression, resolve?: (node: ts.Expression) => unknown): unknown {
  const recurse = (child: ts.Expression) => literalValue(child, resolve);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isNumericLiteral(node)) return Number(node.text);
  if (node.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (node.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (node.kind === ts.SyntaxKind.NullKeyword) return null;
  if (ts.isParenthesizedExpression(node)) return recurse(node.expression);
  if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.MinusToken) {
    const value = recurse(node.operand);
    if (typeof value === 'number') return -value;
  }
  if (ts.isArrayLiteralExpression(node)) return node.elements.map(recurse);
  if (ts.isObjectLiteralExpression(node)) {
    const value: Record<string, unknown> = {};
    for (const property of node.properties) {
      if (ts.isPropertyAssignment(property)) value[propertyNameOf(property.name)] = recurse(property.initializer);
      else if (ts.isShorthandPropertyAssignment(property) && resolve !== undefined) value[property.name.text] = resolve(property.name);
      else if (ts.isSpreadAssignment(property) && resolve !== undefined) Object.assign(value, resolve(property.expression));
      else throw new Error(`not literal data (${ts.SyntaxKind[property.kind]})`);
    }
    return value;
  }
  if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Date') {
    const args = (node.arguments ?? []).map(recurse);
    if (args.every((arg) => typeof arg === 'string' || typeof arg === 'number')) return new Date(...(args as [string]));
  }
  if (resolve !== undefined) return resolve(node);
  throw new Error(`not literal data (${ts.SyntaxKind[node.kind]})`);
}

// ---- known values of extensible enums -----------------------------------------------------------

interface InterfaceInfo {
  parents: string[];
  properties: Map<string, ts.TypeNode>;
}

function knownValuesOf(indexText: string): SdkSpec['knownValues'] {
  const source = parse('index.ts', indexText);
  const knownEnums = new Map<string, string[]>();
  const aliases = new Map<string, ts.TypeNode>();
  const interfaces = new Map<string, InterfaceInfo>();
  for (const statement of source.statements) {
    if (ts.isEnumDeclaration(statement) && statement.name.text.startsWith('Known')) {
      const values = statement.members.flatMap((member) => (member.initializer !== undefined && ts.isStringLiteral(member.initializer) ? [member.initializer.text] : []));
      knownEnums.set(statement.name.text.slice('Known'.length), values);
    } else if (ts.isTypeAliasDeclaration(statement)) {
      aliases.set(statement.name.text, statement.type);
    } else if (ts.isInterfaceDeclaration(statement)) {
      const parents = (statement.heritageClauses ?? []).flatMap((clause) => clause.types.flatMap((t) => (ts.isIdentifier(t.expression) ? [t.expression.text] : [])));
      const properties = new Map<string, ts.TypeNode>();
      for (const member of statement.members) {
        if (ts.isPropertySignature(member) && member.type !== undefined) properties.set(propertyNameOf(member.name), member.type);
      }
      interfaces.set(statement.name.text, { parents, properties });
    }
  }

  const literalUnion = (type: ts.TypeNode): string[] | undefined => {
    const parts = ts.isUnionTypeNode(type) ? type.types : [type];
    const values = parts.map((part) => (ts.isLiteralTypeNode(part) && ts.isStringLiteral(part.literal) ? part.literal.text : undefined));
    return values.every((v): v is string => v !== undefined) ? values : undefined;
  };
  const valuesOfType = (type: ts.TypeNode): KnownValues | undefined => {
    if (ts.isArrayTypeNode(type)) {
      const element = valuesOfType(type.elementType);
      return element === undefined || element.elements ? undefined : { values: element.values, elements: true };
    }
    if (ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName)) {
      const name = type.typeName.text;
      const known = knownEnums.get(name);
      if (known !== undefined) return { values: known, elements: false };
      const alias = aliases.get(name);
      const union = alias === undefined ? undefined : literalUnion(alias);
      return union === undefined ? undefined : { values: union, elements: false };
    }
    const union = literalUnion(type);
    return union === undefined ? undefined : { values: union, elements: false };
  };
  const propertyType = (className: string, property: string, seen = new Set<string>()): ts.TypeNode | undefined => {
    const info = interfaces.get(className);
    if (info === undefined || seen.has(className)) return undefined;
    seen.add(className);
    return info.properties.get(property) ?? info.parents.map((parent) => propertyType(parent, property, seen)).find((t) => t !== undefined);
  };
  const cache = new Map<string, KnownValues | undefined>();
  return (className, property) => {
    const key = `${className}.${property}`;
    if (!cache.has(key)) {
      const type = propertyType(className, property);
      cache.set(key, type === undefined ? undefined : valuesOfType(type));
    }
    return cache.get(key);
  };
}
