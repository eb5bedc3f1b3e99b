/**
 * What must never appear in a log line or a response: bearer tokens (any JWT), the host's keys, the
 * identity endpoint's MSI secret, storage account keys and SAS signatures. `leaksIn` names each line
 * that holds one (truncated, with what it holds) so a failing test shows where.
 */
import { readFileSync } from 'node:fs';
import type { HostProcess } from './host-process';

/** Azurite's well-known development account key (public, but a key all the same: it must not be logged either). */
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const PATTERNS: Array<[string, RegExp]> = [
  ['a JWT', /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./],
  ['an account key', /AccountKey=[A-Za-z0-9+/=]{20,}/i],
  ['a SAS signature', /[?&]sig=[A-Za-z0-9%+/=]{10,}/i],
  ['a client secret', /client_secret=[^&\s"]{8,}/i],
];

/** The secrets a host knows: its keys and, when its identity endpoint logged its file, the MSI secret. */
export function knownSecretsOf(host: HostProcess): string[] {
  const secrets = [host.secrets.masterKey, ...Object.values(host.secrets.functionKeys ?? {}), AZURITE_KEY];
  if (host.identity?.secretsFile !== undefined) secrets.push((JSON.parse(readFileSync(host.identity.secretsFile, 'utf8')) as { msiSecret: string }).msiSecret);
  return secrets.filter((secret) => typeof secret === 'string' && secret.length >= 8);
}

export function leaksIn(lines: readonly string[], secrets: readonly string[]): string[] {
  const found: string[] = [];
  for (const line of lines) {
    const what = [...PATTERNS.filter(([, pattern]) => pattern.test(line)).map(([name]) => name), ...(secrets.some((secret) => line.includes(secret)) ? ['a known secret'] : [])];
    if (what.length > 0) found.push(`${what.join(', ')}: ${line.slice(0, 200)}`);
  }
  return found;
}
