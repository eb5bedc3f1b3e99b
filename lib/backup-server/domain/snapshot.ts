/**
 * A snapshot (one backup of one source) and its file tree. The tree is a list of entries in walk order (a folder
 * before what it holds), serialized as JSON lines and stored through the chunker like file data, so unchanged
 * parts of a tree dedupe across snapshots too. The snapshot document names the tree's chunks; both are encrypted.
 */
import { z } from 'zod';
import { errors } from '../../domain/errors';

export type TreeEntryType = 'file' | 'dir' | 'symlink';

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
}

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
}

export interface SnapshotDocument {
  id: string;
  time: string;
  /** What was backed up: the server's name for the source and the root path on it. */
  source: { name: string; root: string };
  tree: string[];
  stats: SnapshotStats;
}

const entrySchema = z.object({
  path: z.string().min(1),
  type: z.enum(['file', 'dir', 'symlink']),
  mode: z.number().int().min(0).max(0o7777),
  mtimeMs: z.number().finite(),
  size: z.number().int().min(0),
  chunks: z.array(z.string().regex(/^[0-9a-f]{64}$/)).optional(),
  target: z.string().optional(),
});

const documentSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{32}$/),
  time: z.string(),
  source: z.object({ name: z.string(), root: z.string() }),
  tree: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
  stats: z.object({
    files: z.number(), dirs: z.number(), bytes: z.number(), chunks: z.number(),
    newChunks: z.number(), newChunkBytes: z.number(), storedBytes: z.number(),
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
