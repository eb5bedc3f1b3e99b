/**
 * Key and secret backups: opaque, authenticated blobs (AES-256-GCM under a key of this emulator
 * instance), restorable only by the emulator that made them, as Azure restores a backup only within
 * its subscription and geography. Layout (then base64url on the wire, as Key Vault's `value`):
 *
 *   "KluisKeyVaultBackupV1" | emulator id (16 bytes) | IV (12) | GCM tag (16) | ciphertext
 *
 * The marker and emulator id are the GCM additional data, so a blob of another emulator is told apart
 * ("restore into the same emulator") from a damaged one ("invalid data").
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { keyVaultErrors } from './errors';

const MARKER = Buffer.from('KluisKeyVaultBackupV1', 'ascii');
const ID_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MARKER.length + ID_BYTES;

/** Who this emulator is, for its backups: kept in the state file when the emulator persists. */
export interface BackupIdentity {
  /** 16 random bytes, base64. */
  emulatorId: string;
  /** AES-256 key, base64. */
  key: string;
}

export function newBackupIdentity(): BackupIdentity {
  return { emulatorId: randomBytes(ID_BYTES).toString('base64'), key: randomBytes(32).toString('base64') };
}

export function isBackupIdentity(value: unknown): value is BackupIdentity {
  if (typeof value !== 'object' || value === null) return false;
  const { emulatorId, key } = value as Record<string, unknown>;
  return typeof emulatorId === 'string' && Buffer.from(emulatorId, 'base64').length === ID_BYTES && typeof key === 'string' && Buffer.from(key, 'base64').length === 32;
}

export function sealBackup(identity: BackupIdentity, payload: unknown): Buffer {
  const header = Buffer.concat([MARKER, Buffer.from(identity.emulatorId, 'base64')]);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(identity.key, 'base64'), iv);
  cipher.setAAD(header);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), ciphertext]);
}

/** The payload of a blob this emulator sealed; 400 BadParameter for another emulator's or a damaged blob. */
export function openBackup(identity: BackupIdentity, blob: Buffer): unknown {
  if (blob.length <= HEADER_BYTES + IV_BYTES + TAG_BYTES || !blob.subarray(0, MARKER.length).equals(MARKER)) throw keyVaultErrors.invalidBackup();
  const header = blob.subarray(0, HEADER_BYTES);
  if (!header.subarray(MARKER.length).equals(Buffer.from(identity.emulatorId, 'base64'))) throw keyVaultErrors.foreignBackup();
  const iv = blob.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
  const tag = blob.subarray(HEADER_BYTES + IV_BYTES, HEADER_BYTES + IV_BYTES + TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(identity.key, 'base64'), iv);
    decipher.setAAD(header);
    decipher.setAuthTag(tag);
    const plaintext = Buffer.concat([decipher.update(blob.subarray(HEADER_BYTES + IV_BYTES + TAG_BYTES)), decipher.final()]);
    return JSON.parse(plaintext.toString('utf8')) as unknown;
  } catch {
    throw keyVaultErrors.invalidBackup();
  }
}
