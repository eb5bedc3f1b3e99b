/** Fields every Key Vault object response shares: its URL and its `attributes` (Unix seconds). */
import type { VersionMeta } from './object-collection';
import type { EmulatedVault } from './vault';

export function objectUrl(vault: EmulatedVault, collection: 'secrets' | 'keys', name: string, version?: string): string {
  return `${vault.baseUrl}/${collection}/${name}${version === undefined ? '' : `/${version}`}`;
}

export function attributesOf(vault: EmulatedVault, version: VersionMeta): Record<string, unknown> {
  return {
    enabled: version.enabled,
    ...(version.nbf === undefined ? {} : { nbf: version.nbf }),
    ...(version.exp === undefined ? {} : { exp: version.exp }),
    created: version.created,
    updated: version.updated,
    ...vault.recoveryAttributes(),
  };
}
