/**
 * The outline of a Bicep file and of an ARM JSON template in one comparable shape: parameters (type,
 * default, allowed values, bounds), resources (type, API version, conditional, loop), role assignments
 * (scope and role), custom role permissions and outputs. No Bicep compiler runs offline, so infra/*.json
 * are kept by hand and test/infra checks both files give the same outline.
 *
 * The Bicep reader is made for infra/*.bicep, not for every Bicep file: declarations start a line;
 * comments are whole lines (`//` inside strings, as in URLs, is text); strings are single-quoted.
 */

export interface ParameterOutline {
  type: string;
  hasDefault: boolean;
  allowed?: (string | number)[];
  minValue?: number;
  maxValue?: number;
  minLength?: number;
  maxLength?: number;
}

export interface Outline {
  parameters: Record<string, ParameterOutline>;
  /** `type@apiVersion`, `?` when conditional, `[]` when a loop; sorted. */
  resources: string[];
  /** `scopeType:scopeName:role`: the scope's resource type and name (a variable, or `param[]` in a loop), or the deployment's own scope (`resourceGroup::role`, `subscription::role`), and the role (a key of the `roles` variable, or a custom role's name variable); sorted. */
  roleAssignments: string[];
  /** Custom role (its name variable) → its actions and data actions, sorted. */
  customRoles: Record<string, { actions: string[]; dataActions: string[] }>;
  outputs: Record<string, string>;
}

interface BicepResource {
  symbol: string;
  type: string;
  apiVersion: string;
  existing: boolean;
  conditional: boolean;
  /** The collection a `for x in <collection>` loop runs over. */
  loopOver?: string;
  body: string;
}

/** The text from an opening brace or bracket to its match, skipping single-quoted strings. */
function balanced(text: string, start: number): string {
  const open = text[start];
  const close = open === '{' ? '}' : ']';
  let depth = 0;
  for (let i = start; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === "'") {
      i += 1;
      while (i < text.length && text[i] !== "'") i += text[i] === '\\' ? 2 : 1;
    } else if (ch === open) depth += 1;
    else if (ch === close) {
      depth -= 1;
      if (depth === 0) return text.slice(start, i + 1);
    }
  }
  throw new Error(`unbalanced ${open} at ${start}`);
}

/** A top-level `key: value` line of a resource body (two-space indent), value as written. */
function topLevel(body: string, key: string): string | undefined {
  const match = new RegExp(`^  ${key}: (.+)$`, 'm').exec(body);
  return match?.[1].trim();
}

function stringsIn(list: string): string[] {
  return [...list.matchAll(/'([^']*)'/g)].map((m) => m[1]);
}

function numberOf(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

export function outlineOfBicep(source: string): Outline {
  const text = source
    .split('\n')
    .filter((line) => !line.trim().startsWith('//'))
    .join('\n');
  const targetScope = /^targetScope = '(\w+)'$/m.exec(text)?.[1] ?? 'resourceGroup';

  const parameters: Record<string, ParameterOutline> = {};
  for (const match of text.matchAll(/^param (\w+) (\w+)( = .+)?$/gm)) {
    // A parameter's decorators are the lines above it, back to the blank line before them.
    const before = text.slice(0, match.index);
    const decorators = before.slice(before.lastIndexOf('\n\n') + 1);
    const allowed = /@allowed\(\[([\s\S]*?)\]\)/.exec(decorators);
    const bound = (name: string) => numberOf(new RegExp(`@${name}\\((-?\\d+)\\)`).exec(decorators)?.[1]);
    const outline: ParameterOutline = { type: match[2], hasDefault: match[3] !== undefined };
    if (allowed !== null) {
      outline.allowed = allowed[1]
        .split('\n')
        .map((item) => item.trim())
        .filter((item) => item !== '')
        .map((item) => (item.startsWith("'") ? item.slice(1, -1) : Number(item)));
    }
    for (const name of ['minValue', 'maxValue', 'minLength', 'maxLength'] as const) {
      const value = bound(name);
      if (value !== undefined) outline[name] = value;
    }
    parameters[match[1]] = outline;
  }

  const resources: BicepResource[] = [];
  const resourcePattern = /^resource (\w+) '([^'@]+)@([^']+)'( existing)? = (if \([^\n]*?\) )?(\[for [^\n]*? in (\w+): )?\{/gm;
  for (const match of text.matchAll(resourcePattern)) {
    const braceAt = (match.index ?? 0) + match[0].length - 1;
    resources.push({
      symbol: match[1],
      type: match[2],
      apiVersion: match[3],
      existing: match[4] !== undefined,
      conditional: match[5] !== undefined,
      ...(match[7] === undefined ? {} : { loopOver: match[7] }),
      body: balanced(text, braceAt),
    });
  }
  const bySymbol = new Map(resources.map((resource) => [resource.symbol, resource]));
  const nameKeyOf = (resource: BicepResource): string => (resource.existing && resource.loopOver !== undefined ? `${resource.loopOver}[]` : (topLevel(resource.body, 'name') ?? '?'));

  const roleAssignments: string[] = [];
  const customRoles: Outline['customRoles'] = {};
  for (const resource of resources) {
    if (resource.type === 'Microsoft.Authorization/roleAssignments') {
      const scopeSymbol = topLevel(resource.body, 'scope')?.replace(/\[\w+\]$/, '');
      const scope = scopeSymbol === undefined ? undefined : bySymbol.get(scopeSymbol);
      if (scopeSymbol !== undefined && scope === undefined) throw new Error(`${resource.symbol}: unknown scope ${scopeSymbol}`);
      const roleExpr = /roleDefinitionId: (.+)$/m.exec(resource.body)?.[1] ?? '';
      const builtIn = /roles\.(\w+)/.exec(roleExpr)?.[1];
      const custom = /^(\w+)\.id$/.exec(roleExpr.trim())?.[1];
      const role = builtIn ?? (custom === undefined ? undefined : topLevel((bySymbol.get(custom) as BicepResource).body, 'name'));
      if (role === undefined) throw new Error(`${resource.symbol}: role not understood: ${roleExpr}`);
      roleAssignments.push(scope === undefined ? `${targetScope}::${role}` : `${scope.type}:${nameKeyOf(scope)}:${role}`);
    }
    if (resource.type === 'Microsoft.Authorization/roleDefinitions') {
      const list = (key: string) => stringsIn(new RegExp(`\\b${key}: \\[([^\\]]*)\\]`).exec(resource.body)?.[1] ?? '').sort();
      customRoles[topLevel(resource.body, 'name') ?? '?'] = { actions: list('actions'), dataActions: list('dataActions') };
    }
  }

  const outputs: Record<string, string> = {};
  for (const match of text.matchAll(/^output (\w+) (\w+) = /gm)) outputs[match[1]] = match[2];

  return {
    parameters,
    resources: resources
      .filter((resource) => !resource.existing)
      .map((resource) => `${resource.type}@${resource.apiVersion}${resource.conditional ? '?' : ''}${resource.loopOver === undefined ? '' : '[]'}`)
      .sort(),
    roleAssignments: roleAssignments.sort(),
    customRoles,
    outputs,
  };
}

type Json = Record<string, unknown>;

/** `variables('x')` → x, `parameters('x')[copyIndex()]` → x[], in a scope or role expression. */
function nameKeyOfExpression(expression: string): string | undefined {
  const loop = /parameters\('(\w+)'\)\[copyIndex\(\)\]/.exec(expression);
  if (loop !== null) return `${loop[1]}[]`;
  return /variables\('(\w+)'\)/.exec(expression)?.[1];
}

/** The deployment scope a template's $schema names. */
export function targetScopeOfArm(template: Json): string {
  return String(template.$schema).includes('subscriptionDeploymentTemplate') ? 'subscription' : 'resourceGroup';
}

export function outlineOfArm(template: Json): Outline {
  const parameters: Record<string, ParameterOutline> = {};
  for (const [name, raw] of Object.entries(template.parameters as Record<string, Json>)) {
    const outline: ParameterOutline = { type: String(raw.type), hasDefault: 'defaultValue' in raw };
    if (Array.isArray(raw.allowedValues)) outline.allowed = raw.allowedValues as (string | number)[];
    for (const key of ['minValue', 'maxValue', 'minLength', 'maxLength'] as const) {
      if (typeof raw[key] === 'number') outline[key] = raw[key];
    }
    parameters[name] = outline;
  }
  const resources = template.resources as Json[];
  const roleAssignments: string[] = [];
  const customRoles: Outline['customRoles'] = {};
  for (const resource of resources) {
    const properties = resource.properties as Json;
    if (resource.type === 'Microsoft.Authorization/roleAssignments') {
      const roleExpr = String(properties.roleDefinitionId);
      const role = /variables\('roles'\)\.(\w+)/.exec(roleExpr)?.[1] ?? /roleDefinitions', variables\('(\w+)'\)/.exec(roleExpr)?.[1];
      if (role === undefined) throw new Error(`role not understood: ${roleExpr}`);
      if (resource.scope === undefined) {
        roleAssignments.push(`${targetScopeOfArm(template)}::${role}`);
      } else {
        const scope = /^\[format\('([^']+)\/\{0\}', (.+)\)\]$/.exec(String(resource.scope));
        if (scope === null) throw new Error(`scope not understood: ${String(resource.scope)}`);
        roleAssignments.push(`${scope[1]}:${nameKeyOfExpression(scope[2]) ?? '?'}:${role}`);
      }
    }
    if (resource.type === 'Microsoft.Authorization/roleDefinitions') {
      const permissions = (properties.permissions as Json[])[0];
      const key = nameKeyOfExpression(String(resource.name)) ?? '?';
      customRoles[key] = { actions: [...(permissions.actions as string[])].sort(), dataActions: [...(permissions.dataActions as string[])].sort() };
    }
  }
  const outputs: Record<string, string> = {};
  for (const [name, raw] of Object.entries((template.outputs ?? {}) as Record<string, Json>)) outputs[name] = String(raw.type);
  return {
    parameters,
    resources: resources.map((resource) => `${String(resource.type)}@${String(resource.apiVersion)}${'condition' in resource ? '?' : ''}${'copy' in resource ? '[]' : ''}`).sort(),
    roleAssignments: roleAssignments.sort(),
    customRoles,
    outputs,
  };
}
