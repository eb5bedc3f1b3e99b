/**
 * Unattended unlock's files in a state folder (`<data>/server` of a backup server, `<data>/agent` of a machine in
 * direct mode): a random 32-byte machine key (`machine-key`, owner-only like every file the file store writes) and
 * the repository's master secret wrapped with it (`unattended-unlock.json`, lib/backup-server/domain/
 * unattended-unlock.ts). The passphrase is never stored; whoever can read the folder as its owner can unlock.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { errors } from '../../domain/errors';
import type { RepositoryStore } from '../../stores/repository-store';
import { MACHINE_KEY_BYTES, parseMachineWrappedKey, serializeMachineWrappedKey } from '../domain/unattended-unlock';
import { openRepositoryWithMachineKey, type Repository } from '../repository/repository';

export const MACHINE_KEY = 'machine-key';
export const MACHINE_WRAPPED_KEY = 'unattended-unlock.json';

/** Wraps the unlocked repository's master key with this machine's key (made on first use). */
export async function rememberRepositoryKey(state: RepositoryStore, repository: Repository, now: Date, random: (size: number) => Buffer = nodeRandomBytes): Promise<void> {
  let machineKey = await state.read(MACHINE_KEY);
  if (machineKey === undefined || machineKey.length !== MACHINE_KEY_BYTES) {
    machineKey = random(MACHINE_KEY_BYTES);
    await state.write(MACHINE_KEY, machineKey);
  }
  await state.write(MACHINE_WRAPPED_KEY, serializeMachineWrappedKey(repository.wrapForMachine(machineKey, now)));
}

/** Deletes both files; whether a key was remembered. */
export async function forgetRepositoryKey(state: RepositoryStore): Promise<boolean> {
  const had = await state.exists(MACHINE_WRAPPED_KEY);
  await state.delete(MACHINE_WRAPPED_KEY);
  await state.delete(MACHINE_KEY);
  return had;
}

/**
 * Opens the repository in `store` with the remembered key; KluisUnattendedUnlockUnavailable when none is remembered
 * (`where`: "on this server", "on this machine"), the machine key is missing, or the wrap does not fit.
 */
export async function unlockWithRememberedKey(
  state: RepositoryStore,
  store: RepositoryStore,
  where: string,
  options: { knownChunks?: Iterable<string> } = {},
): Promise<Repository> {
  const wrappedBytes = await state.read(MACHINE_WRAPPED_KEY);
  if (wrappedBytes === undefined) throw errors.unattendedUnlockUnavailable(`no key is remembered ${where} (kluis-server remember-key)`);
  const machineKey = await state.read(MACHINE_KEY);
  if (machineKey === undefined) throw errors.unattendedUnlockUnavailable("this machine's key is missing (a data folder copied without it)");
  const wrapped = parseMachineWrappedKey(wrappedBytes);
  if (wrapped === undefined) throw errors.unattendedUnlockUnavailable('the remembered key is damaged');
  return openRepositoryWithMachineKey(store, machineKey, wrapped, options);
}
