/**
 * The official examples (the specification's x-ms-examples) as the SDK packages ship them:
 * `dist-esm/samples-dev/*Sample.js`, one function per example, named by its `x-ms-original-file` comment,
 * each calling one client method (`client.protectionPolicies.createOrUpdate(vaultName, …, parameters)`)
 * with arguments it declares as constants. The files are parsed with the TypeScript compiler API; of each
 * sample only the call's shape is taken and its arguments' literals evaluated (`literalValue`: strings,
 * numbers, objects, arrays, `new Date(…)`; `process.env.X || "default"` takes the default). Nothing runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { literalValue, packageRoot, type SdkPackageName } from './sdk-spec-source';

export interface SdkSample {
  packageName: SdkPackageName;
  /** The sample file, relative to the package. */
  file: string;
  /** The example it was generated from, e.g. `specification/…/2023-06-01/examples/AzureIaasVm/ConfigureProtection.json`. */
  originalFile: string;
  /** The part of `originalFile` after `examples/`, e.g. `AzureIaasVm/ConfigureProtection.json`. */
  example: string;
  /** The client's operation group property (`protectionPolicies`; '' for the client's own methods), and the method called (`createOrUpdate`, `beginTriggerAndWait`). */
  group: string;
  method: string;
  /** The call's arguments in order, by the names the sample gives them. */
  args: Array<{ name: string; value: unknown }>;
  /** Why the arguments could not be read, if they are not literal data (e.g. `Buffer.from(…)`); `args` is empty then. */
  unreadable?: string;
}

/** Every sample of one SDK package, in file order. */
export function sdkSamples(packageName: SdkPackageName): SdkSample[] {
  const folder = path.posix.join('dist-esm', 'samples-dev');
  const root = packageRoot(packageName);
  return readdirSync(path.join(root, folder))
    .filter((f) => f.endsWith('Sample.js'))
    .sort()
    .flatMap((f) => samplesOf(packageName, path.posix.join(folder, f), readFileSync(path.join(root, folder, f), 'utf8')));
}

function samplesOf(packageName: SdkPackageName, file: string, text: string): SdkSample[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  return source.statements.flatMap((statement): SdkSample[] => {
    if (!ts.isFunctionDeclaration(statement)) return [];
    const comments = (ts.getLeadingCommentRanges(text, statement.getFullStart()) ?? []).map((range) => text.slice(range.pos, range.end)).join('\n');
    const originalFile = /x-ms-original-file:\s*(\S+)/.exec(comments)?.[1];
    if (originalFile === undefined) return [];

    const constants = new Map<string, ts.Expression>();
    let call: ts.CallExpression | undefined;
    const visit = (node: ts.Node): void => {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer !== undefined) constants.set(node.name.text, node.initializer);
      if (call === undefined && ts.isCallExpression(node) && isClientCall(node)) call = node;
      ts.forEachChild(node, visit);
    };
    visit(statement);
    if (call === undefined) throw new Error(`${file}: the sample for ${originalFile} calls no client method`);

    const callee = call.expression as ts.PropertyAccessExpression;
    const group = ts.isPropertyAccessExpression(callee.expression) ? callee.expression.name.text : '';
    const method = callee.name.text;
    const resolve = (node: ts.Expression): unknown => {
      if (ts.isIdentifier(node)) {
        const initializer = constants.get(node.text);
        if (initializer === undefined) throw new Error(`${file}: ${node.text} is not a constant of the sample`);
        return literalValue(initializer, resolve);
      }
      // process.env["RECOVERYSERVICESBACKUP_SUBSCRIPTION_ID"] || "00000000-…": the default
      if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.BarBarToken && isProcessEnv(node.left)) return literalValue(node.right);
      throw new Error(`${file}: not literal data (${ts.SyntaxKind[node.kind]} ${node.getText()})`);
    };
    let args: SdkSample['args'] = [];
    let unreadable: string | undefined;
    try {
      args = call.arguments.map((arg) => ({ name: ts.isIdentifier(arg) ? arg.text : arg.getText(), value: literalValue(arg, resolve) }));
    } catch (err) {
      unreadable = (err as Error).message.slice(0, 200);
    }
    return [
      {
        packageName,
        file,
        originalFile,
        example: originalFile.split('/examples/')[1] ?? originalFile,
        group,
        method,
        args,
        ...(unreadable === undefined ? {} : { unreadable }),
      },
    ];
  });
}

/** `client.<group>.<method>(…)` or `client.<method>(…)` */
function isClientCall(node: ts.CallExpression): boolean {
  const callee = node.expression;
  if (!ts.isPropertyAccessExpression(callee)) return false;
  const owner = ts.isPropertyAccessExpression(callee.expression) ? callee.expression.expression : callee.expression;
  return ts.isIdentifier(owner) && owner.text === 'client';
}

function isProcessEnv(node: ts.Expression): boolean {
  return ts.isElementAccessExpression(node) && node.expression.getText() === 'process.env';
}
