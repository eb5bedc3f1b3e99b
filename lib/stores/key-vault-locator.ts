/**
 * Where a Key Vault is: a VM's encryption settings and a restore request name vaults by resource id;
 * the SDK clients need the vault's URL. In Azure the URL follows from the name
 * (https://{name}.vault.azure.net); locally the Key Vault emulator knows which port serves which vault.
 *
 * Implementations: azure/keyvault-locator.ts (DNS names in Azure; the emulator's admin API locally).
 */

export interface KeyVaultLocation {
  /** ARM resource id: /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name} */
  id: string;
  /** `https://host[:port]`, what the SDK clients take. */
  url: string;
  /** Its region, when the locator can read the vault (the emulator's; Azure's DNS locator cannot). */
  location?: string;
  /** Its access policies, when the locator can read the vault: who holds which key and secret permissions. */
  accessPolicies?: KeyVaultAccessPolicy[];
}

export interface KeyVaultAccessPolicy {
  objectId: string;
  permissions: { keys: string[]; secrets: string[] };
}

export interface KeyVaultLocator {
  /**
   * The vault a resource id names (the emulator's locator also takes a vault name or URL). Undefined
   * when the locator knows there is no such vault; a DNS locator cannot know, and answers the URL the
   * vault would have (KeyStore.vaultExists tells whether it answers).
   */
  locate(vaultIdNameOrUrl: string): Promise<KeyVaultLocation | undefined>;
}
