/** VaultRegistrar over HTTP: POST {kluisEndpoint}/backupServer/registrations, signed with the credentials' key. */
import { signRegistration } from '../../backup-server/registration-client';
import { ERROR_CODES, KluisError, type KluisErrorCode } from '../../domain/errors';
import type { VaultCredentials } from '../../domain/backup-server/vault-credentials';
import type { RegisteredEngine, VaultRegistrar } from '../vault-registrar';

export class HttpVaultRegistrar implements VaultRegistrar {
  constructor(private readonly clock: () => Date) {}

  async register(credentials: VaultCredentials, serverName: string): Promise<RegisteredEngine> {
    const url = `${credentials.kluisEndpoint.replace(/\/+$/, '')}/backupServer/registrations`;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(signRegistration(credentials, serverName, this.clock())),
    });
    const body = (await response.json().catch(() => ({}))) as { engine?: RegisteredEngine; error?: { code?: string; message?: string } };
    if (response.ok && body.engine !== undefined) return body.engine;
    const code = body.error?.code;
    if (code !== undefined && code in ERROR_CODES) throw new KluisError(code as KluisErrorCode, body.error?.message ?? 'The vault refused the registration.');
    throw new Error(`The vault at ${new URL(url).origin} answered ${response.status} to the registration.`);
  }
}
