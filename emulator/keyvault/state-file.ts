/**
 * The emulator's state on disk (`<dataDir>/state.json`, mode 600, only when the emulator persists):
 * the backup identity and every vault with its access policies, secrets and keys, so `npm start`
 * finds its vaults, at the same URLs, after a restart. Written whole after each change: to a temp file,
 * then renamed over the old one, so a crash leaves the previous state rather than half of one.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isBackupIdentity, type BackupIdentity } from './backup-seal';
import type { VaultSnapshot } from './vault';

export const STATE_FORMAT = 1;

export interface EmulatorState {
  format: typeof STATE_FORMAT;
  identity: BackupIdentity;
  vaults: VaultSnapshot[];
}

/** The saved state, or undefined when there is none yet; throws naming the file when it cannot be used. */
export function readState(file: string): EmulatorState | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: Partial<EmulatorState>;
  try {
    parsed = JSON.parse(text) as Partial<EmulatorState>;
  } catch {
    throw new Error(`The Key Vault emulator's state file ${file} is not valid JSON: move it away to start with no vaults.`);
  }
  if (parsed.format !== STATE_FORMAT || !isBackupIdentity(parsed.identity) || !Array.isArray(parsed.vaults)) {
    throw new Error(`The Key Vault emulator's state file ${file} has an unknown format: move it away to start with no vaults.`);
  }
  return parsed as EmulatorState;
}

export function writeState(file: string, state: EmulatorState): void {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, JSON.stringify(state), { mode: 0o600 });
    renameSync(temp, file);
  } finally {
    rmSync(temp, { force: true });
  }
}
