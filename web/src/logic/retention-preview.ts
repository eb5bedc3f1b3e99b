/**
 * "What would this retention change do to the points I have?" — the policy page runs the server's
 * own retention function (lib/domain/retention.ts `evaluateRetention`) in the browser, once with the
 * policy as saved and once with the draft, over an item's recovery points, and says per point whether
 * it stays, goes, or stays until another time. Pure.
 *
 * The API does not show a point's long-term tags (which weekly/monthly/yearly rule selected its day
 * when it was taken); the preview takes them from the rule that keeps the point now (`ruleName`), else
 * lets the policy tag it, as retention does for points without tags.
 */
import type { IaasVmPolicyProperties } from '../../../lib/domain/policy';
import { validatePolicy } from '../../../lib/domain/policy-rules';
import { evaluateRetention, type LongTermRuleName, type RetentionDecision, type RetentionPointInput } from '../../../lib/domain/retention';
import type { RecoveryPoint } from '../api/types';
import { withoutNulls } from './json';

export type PreviewChange = 'unchanged' | 'expiresNow' | 'keptNow' | 'expiryChanged';

export interface PointPreview {
  recoveryPointId: string;
  time: string;
  current: RetentionDecision;
  draft: RetentionDecision;
  change: PreviewChange;
}

const LONG_TERM: readonly string[] = ['Weekly', 'Monthly', 'Yearly'];

/** A recovery point of the API as retention's input. */
export function retentionInputOf(point: RecoveryPoint): RetentionPointInput {
  const p = point.properties;
  const rule = p.recoveryPointProperties?.ruleName;
  const isOnDemand = rule === 'OnDemand';
  const input: RetentionPointInput = {
    recoveryPointId: point.name,
    time: p.recoveryPointTime,
    isOnDemand,
    hasSnapshotTier: p.recoveryPointTierDetails.some((tier) => tier.type === 'InstantRP' && tier.status === 'Valid'),
  };
  if (isOnDemand && p.recoveryPointProperties?.expiryTime !== undefined) input.retainUntil = p.recoveryPointProperties.expiryTime;
  if (!isOnDemand && rule !== undefined && LONG_TERM.includes(rule)) input.longTermTags = [rule as LongTermRuleName];
  return input;
}

/** Points still in the vault (their vault tier valid), the ones retention decides about. */
export function livePoints(points: readonly RecoveryPoint[]): RecoveryPoint[] {
  return points.filter((point) => point.properties.recoveryPointTierDetails.some((tier) => tier.status === 'Valid'));
}

/** Throws the API's own validation error (code, target) when the draft is not a valid policy. */
export function previewRetention(current: IaasVmPolicyProperties, draft: IaasVmPolicyProperties, points: readonly RecoveryPoint[], now: Date): PointPreview[] {
  const live = livePoints(points);
  if (live.length === 0) return [];
  const inputs = live.map(retentionInputOf);
  const decide = (policy: IaasVmPolicyProperties) => {
    const normalized = validatePolicy(withoutNulls(policy) as IaasVmPolicyProperties);
    return evaluateRetention({ policy: normalized, timeZone: normalized.ianaTimeZone, points: inputs, now });
  };
  const before = decide(current);
  const after = decide(draft);
  return inputs.map((input, i) => ({
    recoveryPointId: input.recoveryPointId,
    time: input.time,
    current: before[i],
    draft: after[i],
    change: changeOf(before[i], after[i]),
  }));
}

function changeOf(current: RetentionDecision, draft: RetentionDecision): PreviewChange {
  if (current.keep && !draft.keep) return 'expiresNow';
  if (!current.keep && draft.keep) return 'keptNow';
  if (current.keep && draft.keep && current.expiryTime !== draft.expiryTime) return 'expiryChanged';
  return 'unchanged';
}

export function summarizePreview(previews: readonly PointPreview[]): Record<PreviewChange, number> {
  const summary: Record<PreviewChange, number> = { unchanged: 0, expiresNow: 0, keptNow: 0, expiryChanged: 0 };
  for (const preview of previews) summary[preview.change] += 1;
  return summary;
}
