/**
 * Options for the Key Vault clients (@azure/keyvault-secrets, @azure/keyvault-keys) that reach real Key
 * Vault and the local emulator with the same code. For a vault on a loopback address
 * (https://127.0.0.1:<port>, https://localhost:<port>) and only there:
 *  - the emulator's CA is trusted by these clients alone (tlsOptions.ca = Node's bundled roots + that
 *    CA): TLS verification stays on, nothing changes for other connections of the process;
 *  - the challenge resource check is off: the emulator names Azure's resource (https://vault.azure.net)
 *    in its challenge, as Key Vault does, and 127.0.0.1 can never be a subdomain of it.
 * For every other URL the options are the SDK's defaults (plus `base`): in Azure nothing special happens.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { errors } from '../../domain/errors';
import { serviceTryTimeoutPolicies } from './storage-retry';

/** The options this module sets; assignable to SecretClientOptions, KeyClientOptions and CryptographyClientOptions. */
export type KeyVaultClientOptions = Pick<SecretClientOptions, 'disableChallengeResourceVerification' | 'tlsOptions' | 'retryOptions' | 'additionalPolicies'>;

export interface KeyVaultTrust {
  /** PEM of the local emulator's CA (see KLUIS_KEYVAULT_CA_FILE). */
  caCertificatePem?: string;
  /** Or the path of that PEM file; read on first use. */
  caCertificateFile?: string;
}

/** The setting naming the emulator's CA file; read only when set, never needed in Azure. */
export const KEYVAULT_CA_FILE_SETTING = 'KLUIS_KEYVAULT_CA_FILE';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopbackVaultUrl(vaultUrl: string): boolean {
  let url: URL;
  try {
    url = new URL(vaultUrl);
  } catch {
    return false;
  }
  return LOOPBACK_HOSTS.has(url.hostname.toLowerCase());
}

const caFiles = new Map<string, string>();

function readCaFile(file: string): string {
  let pem = caFiles.get(file);
  if (pem === undefined) {
    try {
      pem = readFileSync(file, 'utf8');
    } catch (err) {
      throw errors.invalidConfiguration(KEYVAULT_CA_FILE_SETTING, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw errors.invalidConfiguration(KEYVAULT_CA_FILE_SETTING, 'the file holds no PEM certificate');
    caFiles.set(file, pem);
  }
  return pem;
}

/** Every vault's clients also bound each try (SERVICE_TRY_TIMEOUT_MS); the SDK's retry policy retries a try abandoned at it. */
export function keyVaultClientOptions(vaultUrl: string, trust: KeyVaultTrust = {}, base: KeyVaultClientOptions = {}, tryTimeoutInMs?: number): KeyVaultClientOptions {
  const bounded = { ...base, additionalPolicies: [...(base.additionalPolicies ?? []), ...serviceTryTimeoutPolicies(tryTimeoutInMs)] };
  if (!isLoopbackVaultUrl(vaultUrl)) return bounded;
  const pem = trust.caCertificatePem ?? (trust.caCertificateFile === undefined ? undefined : readCaFile(trust.caCertificateFile));
  return {
    ...bounded,
    disableChallengeResourceVerification: true,
    ...(pem === undefined ? {} : { tlsOptions: { ...base.tlsOptions, ca: [...rootCertificates, pem] } }),
  };
}
