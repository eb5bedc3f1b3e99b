/**
 * A version-2 repository's index in memory: where each blob lives (pack, offset, length) and what each pack holds,
 * as the index objects list them. A blob stored in two packs (two backups raced, a repack's crash) maps to the one
 * indexed last; every pack an index object names exists (packs are deleted only after the index stops naming them).
 */
import type { PackContents, PackedBlob } from '../domain/pack';

export interface BlobLocation {
  pack: string;
  offset: number;
  length: number;
}

export class BlobIndex {
  readonly blobs = new Map<string, BlobLocation>();
  readonly packs = new Map<string, PackedBlob[]>();
  /** The index objects read or written (ids), replaced whole by a prune. */
  readonly indexIds = new Set<string>();

  /** Adds a pack's entries; a pack two index objects name keeps the entries of both (verify cross-checks each). */
  add(pack: PackContents): void {
    const known = this.packs.get(pack.id);
    const seen = new Set(known?.map((b) => `${b.id}@${b.offset}+${b.length}`));
    this.packs.set(pack.id, [...(known ?? []), ...pack.blobs.filter((b) => !seen.has(`${b.id}@${b.offset}+${b.length}`))]);
    for (const b of pack.blobs) this.blobs.set(b.id, { pack: pack.id, offset: b.offset, length: b.length });
  }

  /** The packs as index objects list them (for a rewrite of the index). */
  contents(): PackContents[] {
    return [...this.packs].map(([id, blobs]) => ({ id, blobs }));
  }

  clear(): void {
    this.blobs.clear();
    this.packs.clear();
    this.indexIds.clear();
  }
}
