import type * as df from 'durable-functions';

/**
 * Starts an orchestration under a deterministic instance id unless one with that id exists (in any
 * state): Durable's startNew would otherwise restart a finished instance.
 */
export async function startOnce(client: df.DurableClient, orchestrator: string, instanceId: string, input: unknown): Promise<boolean> {
  if (await exists(client, instanceId)) return false;
  try {
    await client.startNew(orchestrator, { instanceId, input });
    return true;
  } catch (err) {
    // Another host started it between the check and the start.
    if (await exists(client, instanceId)) return false;
    throw err;
  }
}

async function exists(client: df.DurableClient, instanceId: string): Promise<boolean> {
  try {
    const status = await client.getStatus(instanceId);
    return status !== undefined && status !== null && Boolean(status.instanceId);
  } catch (err) {
    if (err instanceof Error && /404/.test(err.message)) return false;
    throw err;
  }
}
