/**
 * Azure Disk Encryption's Key Vault side, for the local fabric's `encrypt` action: through the real
 * @azure/keyvault-keys and @azure/keyvault-secrets clients it creates (or reuses) the KEK, an RSA key,
 * and stores the BEK as a secret whose value is a fresh random 32-byte key wrapped by the KEK with
 * RSA-OAEP — tagged as ADE tags it (DiskEncryptionKeyFileName, DiskEncryptionKeyEncryptionAlgorithm,
 * DiskEncryptionKeyEncryptionKeyURL, MachineName). With `bekOnly` the BEK is stored unwrapped and no KEK
 * is made (the configuration Azure Backup refuses).
 *
 * It acts as the VM's owner running ADE: locally the principal ADE_OPERATOR_OBJECT_ID, which needs keys
 * get, create and wrapKey and secrets set on the vault. The BEK's plain value never leaves this module.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { CryptographyClient, KeyClient, type KeyVaultKey } from '@azure/keyvault-keys';
import { SecretClient } from '@azure/keyvault-secrets';
import { ADE_SECRET_TAGS, ADE_WRAP_ALGORITHM } from '../../lib/domain/disk-encryption';
import { errors } from '../../lib/domain/errors';
import type { OsType } from '../../lib/domain/virtual-machine';
import type { KeyVaultClientOptions } from '../../lib/stores/azure/keyvault-client-options';

/** The local principal the fabric runs ADE as (grant it keys get/create/wrapKey and secrets set). */
export const ADE_OPERATOR_OBJECT_ID = '00000000-0000-0000-0000-000000000ade';
/** The KEK's name unless the request names one. */
export const DEFAULT_KEK_NAME = 'kluis-ade-kek';
/** What ADE's operator needs on the vault. */
export const ADE_OPERATOR_PERMISSIONS = { keys: ['get', 'create', 'wrapKey'], secrets: ['set'] } as const;

const BEK_BYTES = 32;
const KEK_SIZE_BITS = 2048;

export interface AdeKeySpec {
  vmName: string;
  osType: OsType;
  /** Absent with bekOnly. */
  kekName?: string;
  bekOnly: boolean;
}

export interface AdeKeys {
  /** The BEK secret's versioned URL. */
  secretUrl: string;
  /** The KEK's versioned URL (absent with bekOnly). */
  keyUrl?: string;
}

export interface AdeKeyWriter {
  writeKeys(vaultUrl: string, spec: AdeKeySpec): Promise<AdeKeys>;
}

export interface SdkAdeKeyWriterOptions {
  credential: TokenCredential;
  clientOptions?: (vaultUrl: string) => KeyVaultClientOptions;
  /** The principal `credential` presents, named when the vault refuses it. */
  principalId?: string;
}

export class SdkAdeKeyWriter implements AdeKeyWriter {
  constructor(private readonly options: SdkAdeKeyWriterOptions) {}

  async writeKeys(vaultUrl: string, spec: AdeKeySpec): Promise<AdeKeys> {
    const clientOptions = this.options.clientOptions?.(vaultUrl) ?? {};
    const secrets = new SecretClient(vaultUrl, this.options.credential, clientOptions);
    const secretName = randomUUID();
    const bek = randomBytes(BEK_BYTES);
    const tags: Record<string, string> = {
      [ADE_SECRET_TAGS.fileName]: spec.osType === 'Windows' ? `${secretName.toUpperCase()}.BEK` : 'LinuxPassPhraseFileName',
      [ADE_SECRET_TAGS.machineName]: spec.vmName,
    };
    try {
      if (spec.bekOnly) {
        const secret = await secrets.setSecret(secretName, bek.toString('base64'), { contentType: 'BEK', tags });
        return { secretUrl: requireId(secret.properties.id) };
      }
      const kek = await this.kekOf(vaultUrl, spec.kekName ?? DEFAULT_KEK_NAME, clientOptions);
      const keyUrl = requireId(kek.id);
      const wrapped = await new CryptographyClient(kek, this.options.credential, clientOptions).wrapKey(ADE_WRAP_ALGORITHM, bek);
      const secret = await secrets.setSecret(secretName, Buffer.from(wrapped.result).toString('base64'), {
        contentType: 'Wrapped BEK',
        tags: { ...tags, [ADE_SECRET_TAGS.algorithm]: ADE_WRAP_ALGORITHM, [ADE_SECRET_TAGS.keyEncryptionKeyUrl]: keyUrl },
      });
      return { secretUrl: requireId(secret.properties.id), keyUrl };
    } catch (err) {
      throw this.explained(err, vaultUrl);
    } finally {
      bek.fill(0);
    }
  }

  /** The named KEK if it exists (ADE reuses a KEK across VMs), else a new RSA key. */
  private async kekOf(vaultUrl: string, name: string, clientOptions: KeyVaultClientOptions): Promise<KeyVaultKey> {
    const keys = new KeyClient(vaultUrl, this.options.credential, clientOptions);
    try {
      return await keys.getKey(name);
    } catch (err) {
      if ((err as { statusCode?: unknown }).statusCode !== 404) throw err;
    }
    return keys.createRsaKey(name, { keySize: KEK_SIZE_BITS, keyOps: ['wrapKey', 'unwrapKey'] });
  }

  private explained(err: unknown, vaultUrl: string): unknown {
    const status = (err as { statusCode?: unknown }).statusCode;
    if (status === 401 || status === 403) {
      const who = this.options.principalId === undefined ? 'The identity running disk encryption' : `The disk encryption operator (object id ${this.options.principalId})`;
      return errors.invalidRequest(
        'keyVaultId',
        `${who} may not create the KEK and BEK in the Key Vault ${vaultUrl}: grant it keys ${ADE_OPERATOR_PERMISSIONS.keys.join(', ')} and secrets ${ADE_OPERATOR_PERMISSIONS.secrets.join(', ')}.`,
      );
    }
    const code = (err as { code?: unknown }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND') return errors.invalidRequest('keyVaultId', `No Key Vault answers at ${vaultUrl}.`);
    return err;
  }
}

function requireId(id: string | undefined): string {
  if (id === undefined) throw new Error('Key Vault returned an object without an id');
  return id;
}
