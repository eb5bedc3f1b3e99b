/**
 * A snapshot (one backup of one source) and its file tree. The tree is a list of entries in walk order (a folder
 * before what it holds), serialized as JSON lines and stored through the chunker like file data, so unchanged
 * parts of a tree dedupe across snapshots too. The snapshot document names the tree's chunks; both are encrypted.
 */
import { z } from 'zod';
import { errors } from '../../domain/errors';

export type TreeEntryType = 'file' | 'dir' | 'symlink' | 'image';

/** A disk image source's one entry: the virtual disk's non-zero extents, each chunked (session 7). */
export interface ImageLayout {
  format: 'raw' | 'vhd-fixed' | 'vhd-dynamic';
  /** The virtual disk's size in bytes (the entry's `chunks` hold the extents' chunks, extent after extent). */
  virtualSize: number;
  /** SHA-256 of the whole virtual disk (zeros included), checked after every restore. */
  sha256: string;
  /** VHDs: the source's footer (512 bytes, base64), so a restore can write a fixed VHD of the same disk. */
  footerBase64?: string;
  /** Regions that are not all zero, in order; everything else reads as zeros. */
  extents: Array<{ offset: number; length: number; chunkCount: number }>;
}

export interface TreeEntry {
  /** Relative to the source root, '/'-separated; never empty, never '.'/'..' segments. */
  path: string;
  type: TreeEntryType;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** Modification time in milliseconds since the epoch (fractional: sub-millisecond precision kept as the OS gives it). */
  mtimeMs: number;
  /** Bytes (files); 0 for folders and links. */
  size: number;
  /** Files: the chunk ids of the content, in order. */
  chunks?: string[];
  /** Symbolic links: the target as stored on the source. */
  target?: string;
  /** Owner and group ids on the source (Linux); restored when the restore runs as root. */
  uid?: number;
  gid?: number;
  /** Disk images (`type: 'image'`): how the volume's bytes lie; `chunks` then holds every extent's chunks. */
  image?: ImageLayout;
}

/** An entry the backup left out and why (a socket, a device, a file it could not read): never an abort. */
export interface SkippedEntry {
  path: string;
  reason: string;
}

/** At most this many skipped entries are listed in a snapshot's stats (all are counted). */
export const MAX_LISTED_SKIPPED = 100;

export interface SnapshotStats {
  files: number;
  dirs: number;
  bytes: number;
  chunks: number;
  newChunks: number;
  /** Plaintext bytes of chunks this snapshot added to the repository. */
  newChunkBytes: number;
  /** Bytes written to the repository (compressed, encrypted envelopes). */
  storedBytes: number;
  /** Entries left out (special files, unreadable files), counted; the first MAX_LISTED_SKIPPED listed with the reason. */
  skipped?: number;
  skippedEntries?: SkippedEntry[];
  /** Entries the source's exclude/include rules left out (an excluded folder counts once). */
  excluded?: number;
  /** Disk images: bytes of all-zero regions not stored. */
  zeroBytes?: number;
}

export interface SnapshotDocument {
  id: string;
  time: string;
  /** What was backed up: the server's name for the source and the root path on it. */
  source: { name: string; root: string; pathStyle?: 'posix' | 'windows'; kind?: 'Folder' | 'DiskImage' };
  tree: string[];
  stats: SnapshotStats;
}

const entrySchema = z.object({
  path: z.string().min(1),
  type: z.enum(['file', 'dir', 'symlink', 'image']),
  mode: z.number().int().min(0).max(0o7777),
  mtimeMs: z.number().finite(),
  size: z.number().int().min(0),
  chunks: z.array(z.string().regex(/^[0-9a-f]{64}$/)).optional(),
  target: z.string().optional(),
  uid: z.number().int().min(0).optional(),
  gid: z.number().int().min(0).optional(),
  image: z.object({
    format: z.enum(['raw', 'vhd-fixed', 'vhd-dynamic']),
    virtualSize: z.number().int().min(0),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    footerBase64: z.string().optional(),
    extents: z.array(z.object({ offset: z.number().int().min(0), length: z.number().int().min(1), chunkCount: z.number().int().min(0) })),
  }).optional(),
});

const documentSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{32}$/),
  time: z.string(),
  source: z.object({ name: z.string(), root: z.string(), pathStyle: z.enum(['posix', 'windows']).optional(), kind: z.enum(['Folder', 'DiskImage']).optional() }),
  tree: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
  stats: z.object({
    files: z.number(), dirs: z.number(), bytes: z.number(), chunks: z.number(),
    newChunks: z.number(), newChunkBytes: z.number(), storedBytes: z.number(),
    skipped: z.number().optional(), skippedEntries: z.array(z.object({ path: z.string(), reason: z.string() })).optional(),
    excluded: z.number().optional(), zeroBytes: z.number().optional(),
  }),
});

export function isSafeRelativePath(path: string): boolean {
  return path.length > 0 && !path.startsWith('/') && !path.includes('\0') &&
    path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

export function serializeTree(entries: readonly TreeEntry[]): Buffer {
  return Buffer.from(entries.map((e) => JSON.stringify(e)).join('\n'), 'utf8');
}

export function parseTree(bytes: Uint8Array, snapshotId: string): TreeEntry[] {
  const text = Buffer.from(bytes).toString('utf8');
  if (text.length === 0) return [];
  return text.split('\n').map((line, index) => {
    let parsed: z.ZodSafeParseResult<z.infer<typeof entrySchema>>;
    try {
      parsed = entrySchema.safeParse(JSON.parse(line));
    } catch {
      throw errors.repositoryDataCorrupt('snapshot', snapshotId, `tree entry ${index} is not JSON`);
    }
    if (!parsed.success || !isSafeRelativePath(parsed.data.path)) {
      throw errors.repositoryDataCorrupt('snapshot', snapshotId, `tree entry ${index} is not a valid entry`);
    }
    return parsed.data as TreeEntry;
  });
}

export function serializeSnapshot(doc: SnapshotDocument): Buffer {
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

export function parseSnapshot(bytes: Uint8Array, snapshotId: string): SnapshotDocument {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw errors.repositoryDataCorrupt('snapshot', snapshotId, 'its document is not JSON');
  }
  const parsed = documentSchema.safeParse(json);
  if (!parsed.success || parsed.data.id !== snapshotId) {
    throw errors.repositoryDataCorrupt('snapshot', snapshotId, 'its document is not a valid snapshot');
  }
  return parsed.data;
}
