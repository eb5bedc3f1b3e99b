/** What the disks' backend can do here (true diff, safe server-side copies): probed once per process, the same facts for every step of the job. */
import type { DiskKind } from '../../lib/engine/domain/disk-view';
import { sourceCapabilities } from '../../lib/engine/backup/source-views';
import type { SourceCapabilities } from '../../lib/engine/sources/source-disk';
import { declareActivity } from '../activity';
import { sourceDisks } from '../deps';

/** `kind` absent (inputs from before managed disks): page blobs. */
export const probeStorageActivity = declareActivity('probeStorage', (input: { kind?: DiskKind } | null, context): Promise<SourceCapabilities> =>
  sourceCapabilities({ sources: sourceDisks(context) }, input ?? {}),
);
