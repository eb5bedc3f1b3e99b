/** The restore drill orchestrator in the durable-functions replay engine: a drill's result, and a drill that could not run. */
import { restoreDrillOrchestrator } from '../../orchestrations/restore-drill';
import type { RestoreDrillRun } from '../../lib/services/restore-drills';
import { drive } from '../support/orchestration-driver';

const input: RestoreDrillRun = {
  vault: { id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v', subscriptionId: 's', resourceGroup: 'rg', name: 'v' },
  itemName: 'VM;iaasvmcontainerv2;rg;web01',
  engineItemId: 'item-1',
  recoveryPointId: '1772391600000',
  jobId: 'drill-job',
};

describe('restore drill orchestrator', () => {
  it("returns the drill's result (a failed verification is a result, not a failure)", async () => {
    const result = { jobId: 'drill-job', status: 'Failed', recoveryPointId: input.recoveryPointId, bytesVerified: 0, errorCode: 'KluisRestoreVerificationFailed' };
    const run = await drive(restoreDrillOrchestrator, input, () => ({ result }));
    expect(run.state.status).toBe('Completed');
    expect(run.output).toEqual(result);
    expect(run.started.map((w) => w.name)).toEqual(['runRestoreDrill']);
  });

  it('retries a drill that could not run, then fails its job with the code and fails itself', async () => {
    const run = await drive(restoreDrillOrchestrator, input, (work) =>
      work.name === 'runRestoreDrill' ? { error: 'KluisError [KluisStorageUnavailable]: the storage service did not answer' } : { result: null },
    );
    expect(run.started.filter((w) => w.name === 'runRestoreDrill').length).toBeGreaterThan(1);
    const failed = run.started.filter((w) => w.name === 'failRestoreDrill');
    expect(failed).toHaveLength(1);
    expect(failed[0].parsedInput).toEqual({ run: input, error: expect.stringContaining('KluisError [KluisStorageUnavailable]') });
    expect(run.state.status).toBe('Failed');
  });
});
