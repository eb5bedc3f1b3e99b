/**
 * The backup server's own long-lived identity (issue 16). The vault credentials file's key is good for 48 hours
 * and only for registering; at registration the server also sends the public half of its own EC P-256 key, which
 * the vault keeps with the server's record. Every later call (check-in, vault copy access) is a small request
 * signed with that key: who (vault, server), what (operation and its arguments), when (a 10-minute window).
 * The private key never leaves the server. Pure apart from node:crypto.
 */
import { createPublicKey, verify } from 'node:crypto';
import { vaultId, type VaultRef } from '../arm-names';
import { errors } from '../errors';
import { PROOF_MAX_SKEW_MS } from './registration';

export type ServerOperation = 'checkIn' | 'vaultCopyAccess' | 'report';

export interface ServerRequest {
  vaultId: string;
  serverName: string;
  operation: ServerOperation;
  /** ISO time the request was made. */
  issuedAt: string;
  /** Operation arguments (vaultCopyAccess: `sourceServer`, `access`; report: `reportSha256`), bound into the signature. */
  arguments?: Record<string, string>;
}

export interface SignedServerRequest {
  request: ServerRequest;
  /** base64 ECDSA-SHA-256 (DER) over serverRequestPayload(request). */
  signature: string;
}

export function serverRequestPayload(request: ServerRequest): Buffer {
  const args = Object.entries(request.arguments ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return Buffer.from(JSON.stringify(['kluis/server-request/1', request.vaultId.toLowerCase(), request.serverName.toLowerCase(), request.operation, request.issuedAt, args]), 'utf8');
}

/** Base64 SPKI DER of an EC P-256 public key (PEM or base64 DER accepted); anything else is refused. */
export function normalizeServerPublicKey(text: string): string {
  let key;
  try {
    key = text.includes('-----BEGIN') ? createPublicKey(text) : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw errors.invalidRequest('proof.serverPublicKey', 'The server public key is not an SPKI public key.');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw errors.invalidRequest('proof.serverPublicKey', 'The server public key must be an EC P-256 key.');
  }
  return key.export({ type: 'spki', format: 'der' }).toString('base64');
}

/**
 * Checks a signed server request against the key the vault stored at registration: the request must be for this
 * vault and server, for the expected operation, current, and signed by the registered key.
 */
export function checkServerRequest(
  signed: SignedServerRequest,
  expected: { vault: VaultRef; operation: ServerOperation; serverPublicKey: string | undefined },
  now: Date,
): void {
  const { request } = signed;
  if (expected.serverPublicKey === undefined) throw errors.backupServerSignatureInvalid('the server registered without an identity key; register it again');
  if (request.vaultId.toLowerCase() !== vaultId(expected.vault).toLowerCase()) throw errors.backupServerSignatureInvalid('the request is for another vault');
  if (request.operation !== expected.operation) throw errors.backupServerSignatureInvalid(`the request is for '${request.operation}', not '${expected.operation}'`);
  const issued = Date.parse(request.issuedAt);
  if (!Number.isFinite(issued) || Math.abs(now.getTime() - issued) > PROOF_MAX_SKEW_MS) {
    throw errors.backupServerSignatureInvalid('the request is not current (check the server clock)');
  }
  const publicKey = createPublicKey({ key: Buffer.from(expected.serverPublicKey, 'base64'), format: 'der', type: 'spki' });
  if (!verify('sha256', serverRequestPayload(request), publicKey, Buffer.from(signed.signature, 'base64'))) {
    throw errors.backupServerSignatureInvalid('the signature does not match the key the server registered');
  }
}
