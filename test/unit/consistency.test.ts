/**
 * planSnapshotConsistency: every branch of DESIGN §1 "Consistency" and the Azure Backup error codes.
 */
import { planSnapshotConsistency, type PlannedVm } from '../../lib/domain/consistency';
import { ERROR_CODES } from '../../lib/domain/errors';

const windows = (over: Partial<PlannedVm> = {}): PlannedVm => ({
  name: 'web01',
  osType: 'Windows',
  powerState: 'running',
  provisioningState: 'Succeeded',
  agent: { status: 'Ready' },
  ...over,
});
const linux = (over: Partial<PlannedVm> = {}): PlannedVm => windows({ name: 'db01', osType: 'Linux', ...over });

function failure(vm: PlannedVm): { code: string; target?: string; message: string } {
  try {
    planSnapshotConsistency(vm);
  } catch (err) {
    return err as { code: string; target?: string; message: string };
  }
  throw new Error('expected planSnapshotConsistency to throw');
}

describe('planSnapshotConsistency', () => {
  it.each(['stopped', 'deallocated'] as const)('takes a %s VM crash consistent, without the agent', (powerState) => {
    for (const vm of [windows({ powerState }), linux({ powerState, agent: { status: 'Unavailable', fsFreeze: 'Fails' } })]) {
      expect(planSnapshotConsistency(vm)).toMatchObject({ consistency: 'CrashConsistent', freeze: 'none', warnings: [] });
    }
    expect(planSnapshotConsistency(windows({ powerState })).reason).toContain(powerState);
  });

  it('takes a stopped VM in the failed provisioning state crash consistent (shutting it down is the documented way out)', () => {
    expect(planSnapshotConsistency(windows({ powerState: 'stopped', provisioningState: 'Failed' })).consistency).toBe('CrashConsistent');
  });

  it.each(['Creating', 'Deleting'] as const)('refuses a VM that is %s, running or not', (provisioningState) => {
    for (const powerState of ['running', 'deallocated'] as const) {
      const err = failure(windows({ provisioningState, powerState }));
      expect(err.code).toBe('UserErrorVmNotInDesirableState');
      expect(err.message).toContain(provisioningState);
    }
  });

  it('refuses a running VM in the failed provisioning state', () => {
    expect(failure(linux({ provisioningState: 'Failed' })).code).toBe('UserErrorVmProvisioningStateFailed');
  });

  it.each(['NotReady', 'Unavailable'] as const)('refuses a running VM whose agent is %s', (status) => {
    const err = failure(windows({ agent: { status } }));
    expect(err).toMatchObject({ code: 'UserErrorGuestAgentStatusUnavailable', target: 'vm.agent' });
    expect(err.message).toContain(status);
  });

  it('takes a running Windows VM with healthy VSS application consistent', () => {
    for (const agent of [{ status: 'Ready' as const }, { status: 'Ready' as const, vss: 'Healthy' as const }]) {
      expect(planSnapshotConsistency(windows({ agent }))).toMatchObject({ consistency: 'ApplicationConsistent', freeze: 'vss', warnings: [] });
    }
  });

  it.each([
    ['WriterInBadState', 'ExtensionFailedVssWriterInBadState'],
    ['ServiceInBadState', 'ExtensionFailedVssServiceInBadState'],
  ] as const)('falls back to file-system consistency when VSS is %s, with warning %s', (vss, code) => {
    const plan = planSnapshotConsistency(windows({ agent: { status: 'Ready', vss } }));
    expect(plan).toMatchObject({ consistency: 'FileSystemConsistent', freeze: 'fsfreeze' });
    expect(plan.warnings).toEqual([{ code, message: expect.stringContaining('web01') }]);
    expect(ERROR_CODES[code].recommendation).toMatch(/VSS|vssadmin/);
  });

  it('takes a running Linux VM file-system consistent without scripts', () => {
    for (const agent of [{ status: 'Ready' as const }, { status: 'Ready' as const, fsFreeze: 'Healthy' as const }]) {
      expect(planSnapshotConsistency(linux({ agent }))).toMatchObject({ consistency: 'FileSystemConsistent', freeze: 'fsfreeze', warnings: [] });
    }
  });

  it('takes a running Linux VM application consistent with pre and post scripts', () => {
    const plan = planSnapshotConsistency(linux({ agent: { status: 'Ready', preScript: '/etc/azure/pre.sh', postScript: '/etc/azure/post.sh' } }));
    expect(plan).toMatchObject({ consistency: 'ApplicationConsistent', freeze: 'scripts', warnings: [] });
  });

  it('needs both scripts for application consistency', () => {
    expect(planSnapshotConsistency(linux({ agent: { status: 'Ready', preScript: '/pre.sh' } })).consistency).toBe('FileSystemConsistent');
  });

  it('refuses a running Linux VM whose file-system freeze fails, scripts or not', () => {
    expect(failure(linux({ agent: { status: 'Ready', fsFreeze: 'Fails' } })).code).toBe('UserErrorFsFreezeFailed');
    expect(failure(linux({ agent: { status: 'Ready', fsFreeze: 'Fails', preScript: 'a', postScript: 'b' } })).code).toBe('UserErrorFsFreezeFailed');
  });

  it('leaves a silent snapshot-status report to the agent at snapshot time', () => {
    expect(planSnapshotConsistency(windows({ agent: { status: 'Ready', snapshotStatus: 'Silent' } })).consistency).toBe('ApplicationConsistent');
  });

  it('gives every error it raises a concrete recommendation', () => {
    for (const code of [
      'UserErrorVmNotInDesirableState',
      'UserErrorVmProvisioningStateFailed',
      'UserErrorGuestAgentStatusUnavailable',
      'UserErrorFsFreezeFailed',
      'GuestAgentSnapshotTaskStatusError',
    ] as const) {
      expect(ERROR_CODES[code].recommendation.length).toBeGreaterThan(60);
    }
  });
});
