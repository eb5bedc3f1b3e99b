/**
 * Errors the Key Vault emulator answers with, in Key Vault's envelope
 * `{error:{code,message,innererror?:{code}}}` and with its codes and wording, built by one factory.
 * The admin API uses the same class with ARM-style codes (VaultAlreadyExists, ResourceNotFound …).
 */

export type ObjectKind = 'secret' | 'key';

export class KeyVaultError extends Error {
  override readonly name = 'KeyVaultError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
  ) {
    super(message);
  }

  toBody(): { error: { code: string; message: string; innererror?: { code: string } } } {
    return { error: { code: this.code, message: this.message, ...(this.innerCode === undefined ? {} : { innererror: { code: this.innerCode } }) } };
  }
}

const HELP_NOT_FOUND = 'For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182';
const HELP_FORBIDDEN = 'For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287';

const capitalized = (kind: ObjectKind): string => (kind === 'secret' ? 'Secret' : 'Key');
const notFoundCode = (kind: ObjectKind): string => (kind === 'secret' ? 'SecretNotFound' : 'KeyNotFound');

export const keyVaultErrors = {
  missingToken(): KeyVaultError {
    return new KeyVaultError(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.');
  },
  invalidToken(detail: string): KeyVaultError {
    return new KeyVaultError(401, 'Unauthorized', detail);
  },
  forbidden(caller: string, collection: 'keys' | 'secrets', permission: string, vault: string): KeyVaultError {
    return new KeyVaultError(
      403,
      'Forbidden',
      `The user, group or application '${caller}' does not have ${collection} ${permission} permission on key vault '${vault}'. ${HELP_FORBIDDEN}`,
      'AccessDenied',
    );
  },
  notFound(kind: ObjectKind, nameOrId: string): KeyVaultError {
    return new KeyVaultError(
      404,
      notFoundCode(kind),
      `A ${kind} with (name/id) ${nameOrId} was not found in this key vault. If you recently deleted this ${kind} you may be able to recover it using the correct recovery command. ${HELP_NOT_FOUND}`,
    );
  },
  deletedNotFound(kind: ObjectKind): KeyVaultError {
    return new KeyVaultError(404, notFoundCode(kind), `Deleted ${capitalized(kind)} not found`);
  },
  deletedButRecoverable(kind: ObjectKind, name: string): KeyVaultError {
    return new KeyVaultError(
      409,
      'Conflict',
      `${capitalized(kind)} ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the ${kind} can only be recovered or purged.`,
      'ObjectIsDeletedButRecoverable',
    );
  },
  alreadyExists(kind: ObjectKind, name: string): KeyVaultError {
    return new KeyVaultError(409, 'Conflict', `${capitalized(kind)} ${name} already exists in this key vault. A backup can only be restored under a name that is not in use: delete and purge the ${kind} first.`);
  },
  disabled(kind: ObjectKind, operation: string): KeyVaultError {
    return new KeyVaultError(403, 'Forbidden', `Operation ${operation} is not allowed on a disabled ${kind}.`, `${capitalized(kind)}Disabled`);
  },
  operationNotPermitted(operation: string): KeyVaultError {
    return new KeyVaultError(403, 'Forbidden', `Operation ${operation} is not permitted for this key.`, 'KeyOperationForbidden');
  },
  badParameter(message: string): KeyVaultError {
    return new KeyVaultError(400, 'BadParameter', message);
  },
  invalidName(name: string): KeyVaultError {
    return new KeyVaultError(400, 'BadParameter', `The request URI contains an invalid name: ${name}`);
  },
  invalidBackup(): KeyVaultError {
    return new KeyVaultError(400, 'BadParameter', 'Backup blob contains invalid data.');
  },
  foreignBackup(): KeyVaultError {
    return new KeyVaultError(
      400,
      'BadParameter',
      'The backup blob was made by another Key Vault and cannot be restored here: a backup restores only into a vault of the same emulator (in Azure: the same subscription and geography).',
    );
  },
  missingApiVersion(): KeyVaultError {
    return new KeyVaultError(400, 'BadParameter', "The 'api-version' query parameter is missing.");
  },
  unsupportedApiVersion(version: string, latest: string): KeyVaultError {
    return new KeyVaultError(400, 'BadParameter', `The specified version (${version}) is not recognized. Consider using the latest supported version (${latest}).`);
  },
  routeNotFound(method: string, path: string): KeyVaultError {
    return new KeyVaultError(404, 'NotFound', `The Key Vault emulator serves no operation ${method} ${path}.`);
  },
  methodNotAllowed(method: string, path: string): KeyVaultError {
    return new KeyVaultError(405, 'MethodNotAllowed', `The method ${method} is not allowed on ${path}.`);
  },
  // Admin API (ARM-style codes)
  vaultAlreadyExists(name: string): KeyVaultError {
    return new KeyVaultError(409, 'VaultAlreadyExists', `The vault name '${name}' is already in use. Vault names are globally unique.`);
  },
  vaultNotFound(name: string): KeyVaultError {
    return new KeyVaultError(404, 'ResourceNotFound', `The Resource 'Microsoft.KeyVault/vaults/${name}' was not found.`);
  },
  invalidVaultParameter(field: string, reason: string): KeyVaultError {
    return new KeyVaultError(400, 'BadRequest', `The parameter '${field}' is invalid: ${reason}.`);
  },
  vaultPortInUse(name: string, port: number): KeyVaultError {
    return new KeyVaultError(
      500,
      'VaultPortInUse',
      `Key vault '${name}' listens on port ${port}, which another process holds: its URLs (stored in keys, secrets and backups) would change. Stop that process, or start the emulator with another data directory.`,
    );
  },
};

/** Whatever was thrown, as a KeyVaultError (unknown failures become 500 without their text). */
export function asKeyVaultError(err: unknown): KeyVaultError {
  if (err instanceof KeyVaultError) return err;
  return new KeyVaultError(500, 'InternalServerError', 'The Key Vault emulator failed to process the request.');
}
