/**
 * VaultRegistrar over HTTP: POST {kluisEndpoint}/backupServer/registrations (signed with the credentials' key),
 * then /backupServer/checkIns, /backupServer/vaultCopyAccess and /backupServer/reports (signed with the server's identity key).
 */
import { signRegistration } from '../../backup-server/registration-client';
import { ERROR_CODES, KluisError, type KluisErrorCode } from '../../domain/errors';
import type { SignedServerRequest } from '../../domain/backup-server/server-identity';
import type { VaultCredentials } from '../../domain/backup-server/vault-credentials';
import type { VaultCopyGrant } from '../vault-copy-access';
import type { RegisteredEngine, VaultRegistrar } from '../vault-registrar';

export class HttpVaultRegistrar implements VaultRegistrar {
  constructor(private readonly clock: () => Date) {}

  async register(credentials: VaultCredentials, serverName: string, serverPublicKey: string, options: { backupManagementType?: 'MAB' } = {}): Promise<RegisteredEngine> {
    const body = await post<{ engine?: RegisteredEngine }>(credentials.kluisEndpoint, 'backupServer/registrations', signRegistration(credentials, serverName, this.clock(), { serverPublicKey, ...options }));
    if (body.engine === undefined) throw new Error('The vault answered the registration without an engine.');
    return body.engine;
  }

  checkIn(endpoint: string, signed: SignedServerRequest) {
    return post<Awaited<ReturnType<VaultRegistrar['checkIn']>>>(endpoint, 'backupServer/checkIns', signed);
  }

  vaultCopyAccess(endpoint: string, signed: SignedServerRequest) {
    return post<VaultCopyGrant>(endpoint, 'backupServer/vaultCopyAccess', signed);
  }

  report(endpoint: string, signed: SignedServerRequest, reportJson: string) {
    return post<unknown>(endpoint, 'backupServer/reports', { ...signed, report: reportJson });
  }
}

async function post<T>(endpoint: string, route: string, payload: unknown): Promise<T> {
  const url = `${endpoint.replace(/\/+$/, '')}/${route}`;
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  const body = (await response.json().catch(() => ({}))) as T & { error?: { code?: string; message?: string } };
  if (response.ok) return body;
  const code = body.error?.code;
  if (code !== undefined && code in ERROR_CODES) throw new KluisError(code as KluisErrorCode, body.error?.message ?? 'The vault refused the request.');
  throw new Error(`The vault at ${new URL(url).origin} answered ${response.status} to ${route}.`);
}
