/**
 * Pack files and index documents of a version-2 repository (session 9), as bytes: no I/O, no keys.
 *
 * A pack is the concatenation of chunk envelopes exactly as a version-1 `data/` object holds them (each bound to
 * `kluis/chunk:<id>`, so a blob moved to another id still fails to open), then the sealed header (an envelope bound
 * to `kluis/pack-header:` whose plaintext lists id, offset and length per blob), then the header's length as a
 * 4-byte big-endian integer. A pack's id is the SHA-256 of all its bytes: packs are immutable, and a copy can skip a
 * pack the target already holds by name.
 *
 * An index document (sealed, `kluis/index:<id>`) lists packs with their blobs; the repository reads all of them at
 * unlock instead of listing its chunks.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { errors } from '../../domain/errors';

/** A pack is closed once it holds this much (or when its batch commits). */
export const PACK_TARGET_BYTES = 8 * 1024 * 1024;
const TRAILER_BYTES = 4;

export interface PackedBlob {
  id: string;
  offset: number;
  length: number;
}

export interface PackContents {
  id: string;
  blobs: PackedBlob[];
}

const HEX64 = /^[0-9a-f]{64}$/;
const blobTuple = z.tuple([z.string().regex(HEX64), z.number().int().min(0), z.number().int().min(1)]);
const headerSchema = z.array(blobTuple);
const indexSchema = z.object({ packs: z.array(z.object({ id: z.string().regex(HEX64), blobs: headerSchema })) });

const toTuples = (blobs: readonly PackedBlob[]) => blobs.map((b) => [b.id, b.offset, b.length]);
const fromTuples = (tuples: Array<[string, number, number]>): PackedBlob[] => tuples.map(([id, offset, length]) => ({ id, offset, length }));

export function packIdOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function serializePackHeader(blobs: readonly PackedBlob[]): Buffer {
  return Buffer.from(JSON.stringify(toTuples(blobs)), 'utf8');
}

/** The header's blobs, each checked to lie within the pack's data part (before the header). */
export function parsePackHeader(plaintext: Uint8Array, packId: string, dataBytes: number): PackedBlob[] {
  const parsed = headerSchema.safeParse(parseJson(plaintext));
  if (!parsed.success) throw errors.repositoryDataCorrupt('pack', packId, 'its header is not a list of blobs');
  const blobs = fromTuples(parsed.data);
  if (blobs.some((b) => b.offset + b.length > dataBytes)) throw errors.repositoryDataCorrupt('pack', packId, 'its header names a blob beyond its data');
  return blobs;
}

/** blobs ‖ sealed header ‖ header length (uint32 BE). */
export function assemblePack(envelopes: readonly Buffer[], sealedHeader: Buffer): Buffer {
  return Buffer.concat([...envelopes, packTail(sealedHeader)]);
}

/** What follows a pack's blobs: the sealed header and its length (a pack written piece by piece ends with this). */
export function packTail(sealedHeader: Buffer): Buffer {
  const tail = Buffer.alloc(sealedHeader.length + TRAILER_BYTES);
  sealedHeader.copy(tail);
  tail.writeUInt32BE(sealedHeader.length, sealedHeader.length);
  return tail;
}

/** The sealed header and where the data part ends; throws when the trailer cannot be right. */
export function splitPack(pack: Buffer, packId: string): { sealedHeader: Buffer; dataBytes: number } {
  if (pack.length < TRAILER_BYTES) throw errors.repositoryDataCorrupt('pack', packId, 'it is too short to be a pack');
  const headerLength = pack.readUInt32BE(pack.length - TRAILER_BYTES);
  const dataBytes = pack.length - TRAILER_BYTES - headerLength;
  if (headerLength === 0 || dataBytes < 0) throw errors.repositoryDataCorrupt('pack', packId, 'its trailer names an impossible header length');
  return { sealedHeader: pack.subarray(dataBytes, pack.length - TRAILER_BYTES), dataBytes };
}

export function serializeIndex(packs: readonly PackContents[]): Buffer {
  return Buffer.from(JSON.stringify({ packs: packs.map((p) => ({ id: p.id, blobs: toTuples(p.blobs) })) }), 'utf8');
}

export function parseIndex(plaintext: Uint8Array, indexId: string): PackContents[] {
  const parsed = indexSchema.safeParse(parseJson(plaintext));
  if (!parsed.success) throw errors.repositoryDataCorrupt('index', indexId, 'it is not a list of packs');
  return parsed.data.packs.map((p) => ({ id: p.id, blobs: fromTuples(p.blobs) }));
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}
