/**
 * Registers an activity and returns its declaration (orchestrations/steps.ts `ActivityDeclaration`): the
 * durable-js `backupSiteContent` style, where an activity's name, payload types and handler live in one
 * place. Orchestrators `import type` the declaration and call it with `callActivity<typeof x>(context, name, input)`.
 */
import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { ActivityDeclaration } from '../orchestrations/steps';

export function declareActivity<Name extends string, Input, Output>(
  name: Name,
  handler: (input: Input, context: InvocationContext) => Promise<Output>,
): ActivityDeclaration<Name, Input, Output> {
  df.app.activity(name, { handler });
  return { name };
}
