/** Retention cleanup's steps: every item of every vault, and one item's retention (points, snapshot tiers, purge). */
import { describeFailure } from '../../lib/domain/errors';
import { applyRetention, listRetentionItems, type ApplyRetentionInput, type ApplyRetentionResult } from '../../lib/services/apply-retention';
import { declareActivity } from '../activity';
import { retentionDeps } from '../deps';

export const listRetentionItemsActivity = declareActivity('listRetentionItems', (_input: unknown, context): Promise<ApplyRetentionInput[]> => listRetentionItems(retentionDeps(context)));

/** One item's outcome; a failure is reported (`Failed` with its error) instead of thrown, so one item never stops the others. */
export type ApplyRetentionOutput = Omit<ApplyRetentionResult, 'outcome'> & { outcome: ApplyRetentionResult['outcome'] | 'Failed'; error?: { code: string; message: string } };

export const applyRetentionActivity = declareActivity('applyRetention', async (input: ApplyRetentionInput, context): Promise<ApplyRetentionOutput> => {
  try {
    return await applyRetention(retentionDeps(context), input);
  } catch (err) {
    const error = describeFailure(err);
    context.error(`Retention of ${input.itemName} failed: ${error.code}: ${error.message}`);
    return { itemName: input.itemName, outcome: 'Failed', error, expired: [], snapshotTierExpired: [], kept: 0 };
  }
});
