/**
 * Point-in-time views of a VM's source disks, as the engine passes them between its steps: what a
 * source-disk backend (engine/sources) hands out when it opens the disks of a VM together, and what a
 * recovery point's manifest records so that its instant-restore tier can be read or deleted later.
 *
 * A view is plain JSON: it crosses activity boundaries and survives crashes. Its `handle` belongs to the
 * backend that opened it (the disk's `kind`) and is opaque to the engine; it never carries a secret (no
 * SAS, no key): a backend obtains access when it reads and ends it when the engine releases the view.
 */
import type { JsonValue } from './json';

/** The kinds of disk the engine knows; the registry (engine/sources/registry.ts) maps each to a backend. */
export const DISK_KINDS = ['pageBlob', 'managedDisk', 'memory'] as const;
export type DiskKind = (typeof DISK_KINDS)[number];

/** Page blobs are the default kind: requests that name no kind (every request before managed disks) are page blobs. */
export const DEFAULT_DISK_KIND: DiskKind = 'pageBlob';

/** Where a disk of a VM lives: a page blob (container and blob in the source storage account) or a disk by its id. */
export type DiskLocation = { kind?: 'pageBlob'; container: string; blob: string } | { kind: 'managedDisk' | 'memory'; id: string };

export function diskKindOf(location: DiskLocation): DiskKind {
  return location.kind ?? DEFAULT_DISK_KIND;
}

/** A disk's location for messages: `container/blob`, or the disk's id. */
export function describeLocation(location: DiskLocation): string {
  return 'id' in location ? location.id : `${location.container}/${location.blob}`;
}

/** What a backend puts in a view's handle: JSON, no secrets. */
export type ViewHandle = { [key: string]: JsonValue };

/** One disk's point-in-time view. */
export interface DiskView {
  /** The backend that opened the view. */
  kind: DiskKind;
  lun: number;
  /** The backend's resumable reference to the view (opaque to the engine). */
  handle: ViewHandle;
  /** The disk's size in the view, in bytes (page blobs: the VHD's data plus its 512-byte footer). */
  sizeBytes: number;
  /** The disk the view was taken of (page blob: its URL; managed disk: its resource id): changed ranges exist only between views of one disk. */
  diskId: string;
  /** ISO time the view was opened. */
  createdAt: string;
}

/** What a backend reports about a view it is asked about. */
export type ViewState =
  | { status: 'present'; sizeBytes: number }
  | { status: 'gone' }
  /** The backend cannot reach where the view lives (e.g. a storage account it was not given). */
  | { status: 'unreachable'; reason: string };
