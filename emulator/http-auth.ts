/**
 * Function keys the way the Functions host checks them: the key comes from the `x-functions-key`
 * header or the `code` query parameter; `function` level accepts a host function key, one of the
 * function's own keys or the master key; `admin` only the master key. Keys live in a local secrets
 * file created on first start. Keys are compared in constant time and never logged.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';

export type AuthLevel = 'anonymous' | 'function' | 'admin';

export interface HostSecrets {
  masterKey: string;
  functionKeys: Record<string, string>;
  functionSpecific: Record<string, Record<string, string>>;
}

export type AuthResult = { ok: true; keyName?: string } | { ok: false };

/** The name the host gives the master key. */
export const MASTER_KEY_NAME = '_master';

const keyMap = z.record(z.string(), z.string().min(1, 'a key cannot be empty'));
const secretsFileSchema = z.object({
  masterKey: z.string().min(1, 'the master key cannot be empty'),
  functionKeys: keyMap,
  functionSpecific: z.record(z.string(), keyMap).optional(),
});

export class SecretsFileError extends Error {
  readonly code = 'InvalidSecretsFile' as const;
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`Secrets file '${file}' is not valid: ${reason}`);
    this.name = 'SecretsFileError';
  }
}

/** A random 32-byte key, base64url. */
export function generateKey(): string {
  return randomBytes(32).toString('base64url');
}

export function generateSecrets(): HostSecrets {
  return { masterKey: generateKey(), functionKeys: { default: generateKey() }, functionSpecific: {} };
}

function parseSecrets(file: string, text: string): HostSecrets {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SecretsFileError(file, 'it is not JSON');
  }
  const parsed = secretsFileSchema.safeParse(json);
  if (!parsed.success) {
    // Issue paths and messages only: zod never echoes values here, so no key reaches the message.
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new SecretsFileError(file, issues);
  }
  return { masterKey: parsed.data.masterKey, functionKeys: parsed.data.functionKeys, functionSpecific: parsed.data.functionSpecific ?? {} };
}

/**
 * Reads the secrets file, or creates it (and its directory) with fresh keys, readable by the owner
 * only. Creation is atomic and exclusive: two hosts starting at once end up with the same keys.
 */
export async function loadOrCreateSecrets(file: string): Promise<HostSecrets> {
  try {
    return parseSecrets(file, await fs.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }

  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const secrets = generateSecrets();
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(temp, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  try {
    // link() fails if the file appeared meanwhile; the other writer's keys win.
    await fs.link(temp, file);
    return secrets;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return parseSecrets(file, await fs.readFile(file, 'utf8'));
  } finally {
    await fs.rm(temp, { force: true });
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time equality (hashing first hides the length of the stored key). */
function sameKey(presented: Buffer, stored: string): boolean {
  return timingSafeEqual(presented, digest(stored));
}

/** Every stored key is compared, so timing does not tell which one matched. */
function findKey(presented: Buffer, keys: Record<string, string>): string | undefined {
  let found: string | undefined;
  for (const [name, key] of Object.entries(keys)) {
    if (sameKey(presented, key) && found === undefined) found = name;
  }
  return found;
}

function functionKeysOf(secrets: HostSecrets, functionName: string): Record<string, string> {
  const wanted = functionName.toLowerCase();
  const entry = Object.entries(secrets.functionSpecific).find(([name]) => name.toLowerCase() === wanted);
  return entry ? entry[1] : {};
}

/**
 * Decides whether a request may call a function with the given auth level. keyName names the key
 * that matched (`_master` for the master key), also for anonymous functions when a valid key was sent.
 */
export function authorize(level: AuthLevel, functionName: string, presented: string | undefined, secrets: HostSecrets): AuthResult {
  let keyName: string | undefined;
  let isMaster = false;
  if (presented) {
    const hashed = digest(presented);
    isMaster = sameKey(hashed, secrets.masterKey);
    const own = findKey(hashed, functionKeysOf(secrets, functionName));
    const host = findKey(hashed, secrets.functionKeys);
    keyName = isMaster ? MASTER_KEY_NAME : (own ?? host);
  }
  switch (level) {
    case 'anonymous':
      return keyName ? { ok: true, keyName } : { ok: true };
    case 'function':
      return keyName ? { ok: true, keyName } : { ok: false };
    case 'admin':
      return isMaster ? { ok: true, keyName: MASTER_KEY_NAME } : { ok: false };
    default:
      return { ok: false };
  }
}

function headerValue(headers: Headers | Record<string, string | string[] | undefined>, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

/** The key a request presents: the `x-functions-key` header first, then the `code` query parameter. */
export function presentedKey(headers: Headers | Record<string, string | string[] | undefined>, query: URLSearchParams): string | undefined {
  const fromHeader = headerValue(headers, 'x-functions-key');
  if (fromHeader) return fromHeader;
  return query.get('code') || undefined;
}
