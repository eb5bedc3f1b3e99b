import { retentionOrchestrator } from '../../orchestrations/retention';
import type { ApplyRetentionInput as RetentionItemRef } from '../../lib/services/apply-retention';
import { drive } from '../support/orchestration-driver';

const vault = { id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v', subscriptionId: 's', resourceGroup: 'rg', name: 'v' };
const items: RetentionItemRef[] = Array.from({ length: 20 }, (_, i) => ({ vault, itemName: `item${i}` }));

describe('retention orchestrator', () => {
  it('applies retention to every item, at most 8 at a time, and totals what went', async () => {
    const run = await drive(retentionOrchestrator, {}, (work) => {
      if (work.name === 'listRetentionItems') return { result: items };
      const { itemName } = work.parsedInput as RetentionItemRef;
      const n = Number(itemName.slice(4));
      if (n === 3) return { result: { itemName, outcome: 'Failed', error: { code: 'BackUpOperationFailed', message: 'storage down' }, expired: [], snapshotTierExpired: [], kept: 0 } };
      return { result: { itemName, outcome: n === 5 ? 'Purged' : 'Pruned', expired: n % 2 === 0 ? ['1', '2'] : [], snapshotTierExpired: ['9'], kept: 4 } };
    });
    expect(run.state.status).toBe('Completed');
    const applied = run.started.filter((w) => w.name === 'applyRetention');
    expect(applied).toHaveLength(20);
    // Every item's activity names the run, so a retried activity finishes the same deletion job.
    expect(new Set(applied.map((w) => (w.parsedInput as RetentionItemRef).runId)).size).toBe(1);
    expect((applied[0].parsedInput as RetentionItemRef).runId).toMatch(/\S/);
    expect(Math.max(...run.startedPerEpisode)).toBeLessThanOrEqual(8);
    expect(run.output).toEqual({
      items: 20,
      purgedItems: 1,
      expiredPoints: 20,
      expiredSnapshotTiers: 19,
      failures: [{ itemName: 'item3', code: 'BackUpOperationFailed', message: 'storage down' }],
    });
  });
});
