/** How the engine names what went wrong: instance id rules, and failure details as the replay engine reads them. */
import type { FailureDetailsWire } from './history';

/** 1–256 characters, none of / \\ # ? or control characters (the Durable Task rules for instance ids). */
export function validInstanceId(id: string): boolean {
  if (id.length < 1 || id.length > 256) return false;
  return [...id].every((ch) => !'/\\#?'.includes(ch) && !(ch.charCodeAt(0) < 0x20 || (ch.charCodeAt(0) >= 0x7f && ch.charCodeAt(0) <= 0x9f)));
}

/** Failure details as the replay engine reads them; activities wrapped by durable-functions may already carry them as JSON. */
export function failureDetailsOf(error: unknown): FailureDetailsWire {
  const err = error instanceof Error ? error : new Error(String(error));
  try {
    const parsed = JSON.parse(err.message) as { errorType?: string; errorMessage?: string; stackTrace?: string; properties?: Record<string, unknown>; isNonRetriable?: boolean };
    if (parsed && typeof parsed.errorMessage === 'string') {
      return {
        ErrorType: parsed.errorType ?? err.name,
        ErrorMessage: parsed.errorMessage,
        StackTrace: parsed.stackTrace ?? err.stack,
        IsNonRetriable: parsed.isNonRetriable,
        Properties: parsed.properties,
      };
    }
  } catch {
    // a plain message
  }
  return { ErrorType: err.name || 'Error', ErrorMessage: err.message, StackTrace: err.stack };
}
