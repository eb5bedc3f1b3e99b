/**
 * The vault's side of a backup server's online copy (issue 16): each registered server's copy lives in its own
 * container of the vault's storage; the vault hands the server a short-lived SAS scoped to that one container
 * (read+list to restore; also create/write/delete to copy and apply retention). The server never holds the
 * storage account's key or the vault's identity. Implementation: azure/blob-vault-copy-access.ts.
 */
export type VaultCopyPermission = 'read' | 'write';

export interface VaultCopyGrant {
  /** The container's URL, without a query string. */
  containerUrl: string;
  /** The SAS query string (no leading '?'). Never logged. */
  sasToken: string;
  expiresOn: string;
}

export interface VaultCopyAccessIssuer {
  /**
   * Creates the container if needed and returns a SAS for it alone, valid for `minutes`. SAS times are the storage
   * service's wall-clock times, so the issuer uses the real clock, not the app's injected one.
   */
  grant(container: string, permission: VaultCopyPermission, minutes: number): Promise<VaultCopyGrant>;
  /** Deletes the container and everything in it (a Deprovisioned subscription: irretrievable). */
  deleteContainer(container: string): Promise<void>;
}
