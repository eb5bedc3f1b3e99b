/**
 * Unattended unlock (Azure's agent keeps its key on the machine): the repository's master secret wrapped
 * (AES-256-GCM) with a random 32-byte machine key kept owner-only on the server, so the scheduler unlocks after a
 * restart without the passphrase. The passphrase is still never stored, and the machine key never leaves the
 * machine: a copied data folder without it, or with another machine's key, still needs the passphrase. The wrap's
 * associated data binds the repository's id and config, so it opens only the repository it was made for.
 */
import { z } from 'zod';
import { decrypt, encrypt, MASTER_SECRET_BYTES, type RandomBytes } from './repository-crypto';
import { masterKeyAssociatedData, type RepositoryConfig } from './repository-config';

export const MACHINE_KEY_BYTES = 32;
const FORMAT = 'kluis-unattended-unlock';

export interface MachineWrappedKey {
  format: typeof FORMAT;
  version: 1;
  repositoryId: string;
  createdAt: string;
  /** 12-byte nonce ‖ ciphertext ‖ 16-byte tag, under the machine key. */
  wrappedMasterKeyBase64: string;
}

const schema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(1),
  repositoryId: z.string(),
  createdAt: z.string(),
  wrappedMasterKeyBase64: z.string().min(1),
});

function associatedData(config: RepositoryConfig): Buffer {
  const { wrappedMasterKeyBase64: _passphraseWrap, ...bound } = config;
  return Buffer.concat([Buffer.from(`${FORMAT}:${config.repositoryId}:`, 'utf8'), masterKeyAssociatedData(bound)]);
}

export function wrapForMachine(machineKey: Buffer, masterSecret: Buffer, config: RepositoryConfig, now: Date, random: RandomBytes): MachineWrappedKey {
  return {
    format: FORMAT,
    version: 1,
    repositoryId: config.repositoryId,
    createdAt: now.toISOString(),
    wrappedMasterKeyBase64: encrypt(machineKey, masterSecret, associatedData(config), random).toString('base64'),
  };
}

/** The master secret, or a reason it cannot be had (another repository, another machine's key, a damaged file). */
export function unwrapForMachine(machineKey: Buffer, wrapped: MachineWrappedKey, config: RepositoryConfig): { masterSecret: Buffer } | { reason: string } {
  if (wrapped.repositoryId !== config.repositoryId) return { reason: 'the remembered key belongs to another repository' };
  if (machineKey.length !== MACHINE_KEY_BYTES) return { reason: 'the machine key is damaged' };
  const secret = decrypt(machineKey, Buffer.from(wrapped.wrappedMasterKeyBase64, 'base64'), associatedData(config));
  if (secret === undefined || secret.length !== MASTER_SECRET_BYTES) {
    return { reason: "this machine's key does not open the remembered key (a data folder copied from another machine, or an edited config)" };
  }
  return { masterSecret: secret };
}

export function serializeMachineWrappedKey(wrapped: MachineWrappedKey): Buffer {
  return Buffer.from(`${JSON.stringify(wrapped, null, 2)}\n`, 'utf8');
}

export function parseMachineWrappedKey(bytes: Uint8Array): MachineWrappedKey | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
    return parsed.success ? (parsed.data as MachineWrappedKey) : undefined;
  } catch {
    return undefined;
  }
}
