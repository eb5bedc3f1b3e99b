/**
 * The official Azure SDK clients pointed at a host started by the e2e support: the endpoint is the
 * host's API base, plain HTTP allowed, no retries (a failure shows at once), and every request signed
 * by the credential given (the SDKs' own bearer policy refuses plain HTTP, so a header policy stands in
 * for it on the host's HTTP port).
 */
import type { TokenCredential } from '@azure/core-auth';
import type { Pipeline, PipelinePolicy } from '@azure/core-rest-pipeline';

/** A credential handing out the host's tokens (HostProcess.accessToken: a service principal of its identity endpoint). */
export function hostCredential(host: { accessToken(): Promise<string> }): TokenCredential {
  return { getToken: async () => ({ token: await host.accessToken(), expiresOnTimestamp: Date.now() + 5 * 60_000 }) };
}

export function sdkClientOptions(apiBase: string) {
  return { endpoint: apiBase, allowInsecureConnection: true, retryOptions: { maxRetries: 0 } };
}

/** Replaces the SDK's bearer policy (HTTPS only) by one that sets the same header over HTTP. */
export function overHttp<T extends { pipeline: Pipeline }>(client: T, credential: TokenCredential): T {
  client.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
  const bearer: PipelinePolicy = {
    name: 'testBearerOverHttp',
    async sendRequest(request, next) {
      const token = await credential.getToken('https://management.azure.com/.default');
      if (token !== null) request.headers.set('authorization', `Bearer ${token.token}`);
      return next(request);
    },
  };
  client.pipeline.addPolicy(bearer);
  return client;
}
