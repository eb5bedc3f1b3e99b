import * as df from 'durable-functions';
import { describeFailure } from '../../lib/domain/errors';
import { applyRetention, listRetentionItems } from '../../lib/services/apply-retention';
import { Activities, type ApplyRetentionActivityOutput, type RetentionItemRef } from '../../orchestrations/contracts';
import { retentionDeps } from '../deps';

df.app.activity(Activities.ListRetentionItems, {
  handler: (_input: unknown, context): Promise<RetentionItemRef[]> => listRetentionItems(retentionDeps(context)),
});

df.app.activity(Activities.ApplyRetention, {
  handler: async (input: RetentionItemRef, context): Promise<ApplyRetentionActivityOutput> => {
    try {
      return await applyRetention(retentionDeps(context), input);
    } catch (err) {
      const error = describeFailure(err);
      context.error(`Retention of ${input.itemName} failed: ${error.code}: ${error.message}`);
      return { itemName: input.itemName, outcome: 'Failed', error, expired: [], snapshotTierExpired: [], kept: 0 };
    }
  },
});
