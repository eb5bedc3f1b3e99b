/**
 * Registers an activity and returns its declaration (orchestrations/steps.ts `ActivityDeclaration`): the
 * durable-js `backupSiteContent` style, where an activity's name, payload types and handler live in one
 * place. Orchestrators `import type` the declaration and call it with `callActivity<typeof x>(context, name, input)`.
 */
import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { errors, isServiceUnavailableError } from '../lib/domain/errors';
import type { ActivityDeclaration } from '../orchestrations/steps';

export function declareActivity<Name extends string, Input, Output>(
  name: Name,
  handler: (input: Input, context: InvocationContext) => Promise<Output>,
): ActivityDeclaration<Name, Input, Output> {
  df.app.activity(name, { handler: withFailureCodes(handler) });
  return { name };
}

/**
 * Only an error's message and stack cross the activity boundary, so a storage call that failed through all
 * of the SDK's tries leaves as KluisStorageUnavailable (its code in the text, where describeFailure reads it):
 * the activity retry policy retries it, and a job that still fails says it is retryable.
 */
function withFailureCodes<Input, Output>(handler: (input: Input, context: InvocationContext) => Promise<Output>) {
  return async (input: Input, context: InvocationContext): Promise<Output> => {
    try {
      return await handler(input, context);
    } catch (err) {
      throw isServiceUnavailableError(err) ? errors.storageUnavailable(err) : err;
    }
  };
}
