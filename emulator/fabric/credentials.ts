/**
 * How `kluis-fabric` proves it may use the fabric (which takes the host key or an Owner's token):
 * `KLUIS_ACCESS_TOKEN` (a bearer token), else `KLUIS_HOST_KEY`, else the master key in the host's
 * secrets file (`KLUIS_HOST_SECRETS`, default `.kluis/secrets.json`, what `npm start` writes, readable
 * by its owner only). Keys come from the environment or a file, never from the command line.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export function fabricCredentialHeaders(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): Record<string, string> {
  const token = env.KLUIS_ACCESS_TOKEN?.trim();
  if (token) return { authorization: `Bearer ${token}` };
  const key = env.KLUIS_HOST_KEY?.trim();
  if (key) return { 'x-functions-key': key };
  try {
    const file = path.resolve(cwd, env.KLUIS_HOST_SECRETS ?? path.join('.kluis', 'secrets.json'));
    const masterKey = (JSON.parse(readFileSync(file, 'utf8')) as { masterKey?: unknown }).masterKey;
    return typeof masterKey === 'string' && masterKey !== '' ? { 'x-functions-key': masterKey } : {};
  } catch {
    return {};
  }
}
