/**
 * The official Azure SDK clients (`@azure/arm-recoveryservicesbackup`, `@azure/arm-recoveryservices`)
 * pointed at a Kluis host: the endpoint is the host's ARM base URL, plain HTTP is allowed, and the bearer
 * token comes from a TokenCredential this module provides through a policy of our own (the SDK's bearer
 * policy refuses non-TLS URLs). Every response the SDK receives is also checked against the specification
 * the SDK packages carry (test/support/arm-spec.ts) by a pipeline policy, so an SDK journey is a conformance test too.
 *
 * `kluisTestCredential(host)` is the one place tests get a credential from: it hands out the tokens the
 * host's identity endpoint issues to the test's principal (HostProcess.accessToken), as any client's would.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { checkArmConformance } from './arm-spec';
import type { HostProcess } from './host-process';

/** The audience the SDKs ask for (Azure Resource Manager). */
export const ARM_SCOPE = 'https://management.azure.com/.default';

/** A credential for Kluis's API in tests: the tokens the host's identity endpoint issues to the test's principal. */
export function kluisTestCredential(host: Pick<HostProcess, 'accessToken'>): TokenCredential {
  return {
    async getToken(_scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
      // The host refreshes its token before it expires; an hour is the identity endpoint's lifetime.
      return { token: await host.accessToken(), expiresOnTimestamp: Date.now() + 5 * 60 * 1000 };
    },
  };
}

/** Client options for a Kluis host: its ARM base URL (the root path, as ARM's), HTTP allowed, no retries (a failure shows at once). */
export function kluisClientOptions(origin: string) {
  return { endpoint: origin, allowInsecureConnection: true, retryOptions: { maxRetries: 0 } };
}

interface PipelineOwner {
  pipeline: { removePolicy(options: { name: string }): unknown; addPolicy(policy: PipelinePolicy, options?: { phase?: 'Serialize' | 'Retry' | 'Sign' }): void };
}

/**
 * Replaces the SDK's bearer policy by one that sends the credential's token over HTTP too, and adds the
 * spec check; `problems` collects every response that does not conform, `checked.responses` counts them all.
 */
export function useKluisPipeline<T extends PipelineOwner>(client: T, credential: TokenCredential, problems: string[], checked = { responses: 0 }): T {
  client.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
  client.pipeline.addPolicy(
    {
      name: 'kluisBearerToken',
      async sendRequest(request, next) {
        const token = await credential.getToken(ARM_SCOPE);
        if (token !== null) request.headers.set('authorization', `Bearer ${token.token}`);
        return next(request);
      },
    },
    { phase: 'Sign' },
  );
  client.pipeline.addPolicy({
    name: 'kluisSpecConformance',
    async sendRequest(request, next) {
      const response = await next(request);
      const text = response.bodyAsText ?? '';
      let body: unknown = text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        // not JSON: checked as text
      }
      checked.responses += 1;
      problems.push(...checkArmConformance(request.method, request.url, response.status, body, text).problems);
      return response;
    },
  });
  return client;
}
