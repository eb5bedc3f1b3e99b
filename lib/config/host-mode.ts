/**
 * `kluis-host --insecure-no-auth`: the one way to run Kluis's API without tokens and roles. Only the
 * embedded host can switch it on, after refusing any bind address but loopback; no app setting does,
 * so a deployed app (Azure, `func start`) can never be opened by configuration.
 */
const INSECURE_NO_AUTH = Symbol.for('kluis.insecureNoAuth');

type WithHostMode = typeof globalThis & { [INSECURE_NO_AUTH]?: boolean };

/** Whether the hosting process turned authentication and authorization off. */
export function insecureNoAuth(): boolean {
  return (globalThis as WithHostMode)[INSECURE_NO_AUTH] === true;
}

/** Called by kluis-host before it loads the app, and only for a loopback bind. */
export function publishInsecureNoAuth(enabled: boolean): void {
  (globalThis as WithHostMode)[INSECURE_NO_AUTH] = enabled;
}
