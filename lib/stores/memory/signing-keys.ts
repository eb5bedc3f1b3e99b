/** Signing keys from a JWKS document held in memory (unit tests; no fetch). */
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { errors } from '../../domain/errors';
import type { SigningKeys, TokenHeader, VerificationKey } from '../signing-keys';

export class MemorySigningKeys implements SigningKeys {
  private readonly resolve: JWTVerifyGetKey;

  constructor(jwks: JSONWebKeySet) {
    this.resolve = createLocalJWKSet(jwks);
  }

  async keyFor(header: TokenHeader): Promise<VerificationKey> {
    try {
      return await this.resolve({ ...header, alg: header.alg ?? '' }, { payload: '', signature: '' });
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) throw errors.invalidAuthenticationToken();
      throw err;
    }
  }
}
