/**
 * What a suite's host needs before vault routes answer as ARM does: its subscription is the host's
 * default one (`subscriptionEnv`, passed in the host's env) and its resource groups exist
 * (`createResourceGroups`, through the ARM route, as `az group create` would).
 */
import { http, type HostProcess } from './host-process';

/** Host env that makes `subscriptionId` the host's default subscription. */
export function subscriptionEnv(subscriptionId: string): Record<string, string> {
  return { KLUIS_SUBSCRIPTION_ID: subscriptionId };
}

/** PUTs each resource group (idempotent) in the subscription; fails loudly on anything but 200/201. */
export async function createResourceGroups(host: HostProcess, subscriptionId: string, names: readonly string[], location = 'westeurope'): Promise<void> {
  for (const name of names) {
    const response = await http(`${host.origin}/api/subscriptions/${subscriptionId}/resourcegroups/${encodeURIComponent(name)}?api-version=2022-09-01`, {
      method: 'PUT',
      body: { location },
    });
    if (response.status !== 200 && response.status !== 201) throw new Error(`resource group ${name}: ${response.status} ${response.text}`);
  }
}
