/**
 * Which backend serves which kind of disk (restic's backend registry in spirit): the app wires one backend
 * per kind it can reach; the engine picks by the disks' kind, never by a global switch.
 */
import { errors } from '../../domain/errors';
import type { DiskKind } from '../domain/disk-view';
import type { SourceDiskBackend } from './source-disk';

export interface SourceDiskRegistry {
  /** The backend of `kind`; KluisSourceKindNotSupported when none is wired. */
  backendFor(kind: DiskKind): SourceDiskBackend;
  /** The backend of `kind`, or undefined. */
  find(kind: DiskKind): SourceDiskBackend | undefined;
  /** Every wired backend (sweepers visit each). */
  all(): readonly SourceDiskBackend[];
}

export function sourceDiskRegistry(...backends: SourceDiskBackend[]): SourceDiskRegistry {
  const byKind = new Map<DiskKind, SourceDiskBackend>();
  for (const backend of backends) {
    if (byKind.has(backend.kind)) throw new RangeError(`Two source-disk backends serve '${backend.kind}' disks.`);
    byKind.set(backend.kind, backend);
  }
  return {
    find: (kind) => byKind.get(kind),
    backendFor(kind) {
      const backend = byKind.get(kind);
      if (backend === undefined) {
        const served = [...byKind.keys()].join(', ') || 'none';
        throw errors.sourceKindNotSupported(kind, `this app serves ${served}`);
      }
      return backend;
    },
    all: () => [...byKind.values()],
  };
}
