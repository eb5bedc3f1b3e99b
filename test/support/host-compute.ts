/**
 * The unchanged @azure/arm-compute client pointed at a running host's fabric Compute endpoint (announced in its log),
 * signed in as the local administrator: the endpoint takes only tokens the host's identity endpoint signed, and
 * writes need an Owner. A reused keep-alive socket the endpoint closed meanwhile is retried (the test's calls, not
 * the product's).
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { ComputeManagementClient } from '@azure/arm-compute';
import type { HostProcess } from './host-process';

export async function hostComputeClient(host: HostProcess, subscriptionId: string) {
  const announced = await host.waitForLog((record) => typeof record.computeEndpoint === 'string');
  const endpoint = String(announced.computeEndpoint).replace(/\/$/, '');
  const caPem = readFileSync(String(announced.caFile), 'utf8');
  const administrator = { getToken: async () => ({ token: await host.accessToken(), expiresOnTimestamp: Date.now() + 600_000 }) };
  const client = new ComputeManagementClient(administrator, subscriptionId, { endpoint, tlsOptions: { ca: [...rootCertificates, caPem] }, retryOptions: { maxRetries: 2 } });
  return { client, endpoint, caPem };
}
