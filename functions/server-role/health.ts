/**
 * GET /health (KLUIS_ROLE=server): that this host runs a backup server (or, `mode: "direct"`, a machine in direct
 * mode), whether it is registered and unlocked, and what the seed's table allows now. Nothing secret: no passphrase, key or vault address.
 */
import { app, type HttpResponseInit } from '@azure/functions';
import { isDirectModeData, readingAgent, readingServer } from './server';

export async function backupServerHealth(): Promise<HttpResponseInit> {
  try {
    const body = isDirectModeData() ? await readingAgent(async (agent) => {
      const state = await agent.readState();
      if (state === undefined) return { role: 'server', mode: 'direct', registered: false, unlocked: true };
      const { connectivity, subscription, allowed } = await agent.operations();
      return { role: 'server', mode: 'direct', registered: true, unlocked: true, machineName: state.machineName, lastCheckInAt: state.lastCheckInAt, connectivity, subscription, allowed };
    }) : await readingServer(async (server) => {
      const state = await server.readState();
      if (state === undefined) return { role: 'server', registered: false, unlocked: true };
      const { connectivity, subscription, allowed } = await server.operations();
      return { role: 'server', registered: true, unlocked: true, serverName: state.serverName, lastCheckInAt: state.lastCheckInAt, connectivity, subscription, allowed };
    });
    return { status: 200, jsonBody: body };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { status: 503, jsonBody: { role: 'server', unlocked: false, error: typeof code === 'string' ? code : 'KluisServerUnavailable' } };
  }
}

app.http('backupServerHealth', { route: 'health', methods: ['GET'], authLevel: 'anonymous', handler: backupServerHealth });
