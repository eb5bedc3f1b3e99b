/**
 * The fabric's Microsoft.Compute ARM endpoint on its own HTTPS port of 127.0.0.1, so that a client
 * changes only the endpoint it was given, exactly as it would point at https://management.azure.com:
 *
 *   const endpoint = await startComputeEndpoint({ fabric, tls });
 *   new ComputeManagementClient(credential, subscriptionId, { endpoint: endpoint.url, tlsOptions: { ca: [...rootCertificates, caPem] } });
 *
 * HTTPS because the SDK's bearer-token policy refuses plain http; the certificate is the local CA's
 * (what KLUIS_CA_FILE names). Pollers get absolute operation URLs on this origin (operations.ts).
 */
import type { HostRequest, HostResponse } from '../../http-types';
import type { HostLogger } from '../../logger';
import { listen } from '../../listener';
import type { ComputeFabric } from './compute-fabric';
import { computeRoutes } from './router';

export { ComputeFabric } from './compute-fabric';
export { ComputeError, computeErrors } from './errors';

export interface ComputeEndpointOptions {
  /** The service, or a function building it on first request (after the host applied its settings). */
  fabric: ComputeFabric | (() => ComputeFabric);
  /** PEM key and certificate of the local CA's server certificate. */
  tls: { key: string; cert: string };
  /** Default 0: any free port. */
  port?: number;
  logger?: HostLogger;
  /** Runs before the routes: a response refuses the request (kluis-host's admin gate: who may use the fabric). */
  guard?: (request: HostRequest) => Promise<HostResponse | undefined>;
}

export interface RunningComputeEndpoint {
  /** e.g. https://127.0.0.1:41234 — what the ARM client takes as `endpoint`. */
  readonly url: string;
  readonly port: number;
  /** Closes the listener; idempotent. */
  stop(): Promise<void>;
}

export async function startComputeEndpoint(options: ComputeEndpointOptions): Promise<RunningComputeEndpoint> {
  const routes = computeRoutes(options.fabric, { logger: options.logger });
  const guard = options.guard;
  const handler = guard === undefined ? routes : async (request: HostRequest) => (await guard(request)) ?? routes(request);
  const listener = await listen({ port: options.port ?? 0, tls: options.tls }, handler);
  return { url: listener.origin, port: listener.port, stop: () => listener.close() };
}
