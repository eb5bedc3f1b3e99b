/** The memory backend against the source-disk conformance suite. */
import type { VmDiskRequest } from '../../lib/engine/domain/backup-job';
import type { DiskView } from '../../lib/engine/domain/disk-view';
import { MemoryDiskBackend } from '../../lib/engine/sources/memory/memory-backend';
import { DATA_SIZE, sourceDiskConformance, type SourceDiskFixture } from './source-disk-conformance';

let disks = 0;

function memoryFixture(): SourceDiskFixture {
  const backend = new MemoryDiskBackend();
  const idOf = (disk: VmDiskRequest) => ('id' in disk ? disk.id : '');
  return {
    backend: () => backend,
    // One process holds the disks: a restart of the backend is the backend itself.
    restarted: () => backend,
    async createDisk(lun) {
      const id = `disk-${++disks}`;
      backend.createDisk(id, DATA_SIZE);
      return { lun, kind: 'memory', id, storageType: 'Standard' };
    },
    missingDisk: (lun) => ({ lun, kind: 'memory', id: `missing-${++disks}`, storageType: 'Standard' }),
    write: async (disk, offset, data) => backend.write(idOf(disk), offset, data),
    clear: async (disk, offset, length) => backend.clear(idOf(disk), offset, length),
    removeView: async (view: DiskView) => backend.removeView(view),
    async expiredAccess(view) {
      backend.expireAccess(view);
      return backend;
    },
    heldAccess: () => backend.heldViews(),
  };
}

sourceDiskConformance('memory', memoryFixture);
