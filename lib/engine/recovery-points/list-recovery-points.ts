/** The visible recovery points of a protected item, oldest first, with the status of each tier. */
import type { Consistency } from '../domain/recovery-point-manifest';
import { tiersOfState } from '../domain/restore-plan';
import type { RecoveryPointCatalog } from '../../stores/recovery-point-catalog';

export interface RecoveryPointView {
  recoveryPointId: string;
  recoveryPointTime: string;
  recoveryPointType: Consistency;
  diskCount: number;
  /** As Azure's `recoveryPointTierDetails`. */
  recoveryPointTierDetails: Array<{ type: 'InstantRP' | 'HardenedRP'; status: string }>;
}

export async function listRecoveryPoints(deps: { catalog: RecoveryPointCatalog }, itemId: string): Promise<RecoveryPointView[]> {
  const points: RecoveryPointView[] = [];
  for await (const point of deps.catalog.list(itemId)) {
    const tiers = tiersOfState(point.state);
    points.push({
      recoveryPointId: point.recoveryPointId,
      recoveryPointTime: point.createdAt,
      recoveryPointType: point.consistency,
      diskCount: point.diskCount,
      recoveryPointTierDetails: [
        { type: 'InstantRP', status: tiers.instant },
        { type: 'HardenedRP', status: tiers.vault },
      ],
    });
  }
  return points;
}
