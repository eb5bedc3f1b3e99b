/**
 * The fabric's guest agent reads the VM's agent faults from the inventory at every call, so a fault
 * injected between two backup steps takes effect at the next one.
 */
import { planSnapshotConsistency } from '../../lib/domain/consistency';
import { vmResourceId, type VirtualMachine } from '../../lib/domain/virtual-machine';
import { FabricGuestAgent, type GuestAgentEvent } from '../../lib/stores/fabric-guest-agent';
import { MemoryVmInventory } from '../../lib/stores/memory/vm-inventory';

const SUB = '00000000-0000-0000-0000-000000000001';
const ref = { subscriptionId: SUB, resourceGroup: 'rg', name: 'vm1' };

function vm(over: Partial<VirtualMachine> = {}): VirtualMachine {
  return {
    id: vmResourceId(SUB, 'rg', 'vm1'),
    ...ref,
    location: 'westeurope',
    vmSize: 'Standard_D2s_v3',
    osType: 'Windows',
    powerState: 'running',
    provisioningState: 'Succeeded',
    agent: { status: 'Ready' },
    disks: [{ kind: 'os', name: 'vm1-osdisk', vhdUri: 'http://127.0.0.1:10000/devstoreaccount1/vhds/vm1.vhd', storageType: 'Standard', sizeBytes: 1048576 }],
    createdAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

async function setup(record: VirtualMachine) {
  const inventory = new MemoryVmInventory();
  await inventory.create(record);
  const events: GuestAgentEvent[] = [];
  const agent = new FabricGuestAgent(inventory, { onEvent: (e) => events.push(e) });
  const breakAgent = async (agentState: Partial<VirtualMachine['agent']>, over: Partial<VirtualMachine> = {}) => {
    const current = (await inventory.get(ref))!;
    await inventory.update({ ...current, ...over, agent: { ...current.agent, ...agentState } }, { ifMatch: current.etag });
  };
  return { inventory, agent, events, breakAgent };
}

describe('FabricGuestAgent', () => {
  it('freezes with VSS, thaws and confirms the snapshot report on a healthy Windows VM', async () => {
    const { agent, events } = await setup(vm());
    const plan = planSnapshotConsistency(vm());
    expect(await agent.freeze(ref, plan)).toMatchObject({ consistency: 'ApplicationConsistent', freeze: 'vss' });
    await agent.thaw(ref);
    await agent.checkSnapshotReported(ref);
    expect(events.map((e) => `${e.action}${e.method ? `:${e.method}` : ''}`)).toEqual(['freeze:vss', 'thaw', 'snapshotReported']);
  });

  it('falls back to file-system consistency when VSS broke after planning', async () => {
    const { agent, breakAgent } = await setup(vm());
    const plan = planSnapshotConsistency(vm());
    await breakAgent({ vss: 'ServiceInBadState' });
    const reached = await agent.freeze(ref, plan);
    expect(reached).toMatchObject({ consistency: 'FileSystemConsistent', freeze: 'fsfreeze' });
    expect(reached.warnings.map((w) => w.code)).toEqual(['ExtensionFailedVssServiceInBadState']);
  });

  it('fails the freeze when the agent became unavailable, and when a Linux freeze fails', async () => {
    const windows = await setup(vm());
    await windows.breakAgent({ status: 'Unavailable' });
    await expect(windows.agent.freeze(ref, planSnapshotConsistency(vm()))).rejects.toMatchObject({ code: 'UserErrorGuestAgentStatusUnavailable' });

    const linuxVm = vm({ osType: 'Linux' });
    const linux = await setup(linuxVm);
    await linux.breakAgent({ fsFreeze: 'Fails' });
    await expect(linux.agent.freeze(ref, planSnapshotConsistency(linuxVm))).rejects.toMatchObject({ code: 'UserErrorFsFreezeFailed' });
  });

  it('reports a silent snapshot task, or a dead agent after the snapshot, as GuestAgentSnapshotTaskStatusError', async () => {
    const silent = await setup(vm());
    await silent.breakAgent({ snapshotStatus: 'Silent' });
    await expect(silent.agent.checkSnapshotReported(ref)).rejects.toMatchObject({ code: 'GuestAgentSnapshotTaskStatusError' });

    const dead = await setup(vm());
    await dead.breakAgent({ status: 'NotReady' });
    await expect(dead.agent.checkSnapshotReported(ref)).rejects.toMatchObject({ code: 'GuestAgentSnapshotTaskStatusError' });
  });

  it('needs no agent for a crash-consistent plan, and thaw is best effort', async () => {
    const { agent, events, breakAgent, inventory } = await setup(vm({ powerState: 'deallocated' }));
    await breakAgent({ status: 'Unavailable' });
    const plan = planSnapshotConsistency((await inventory.get(ref))!);
    expect(await agent.freeze(ref, plan)).toBe(plan);
    await agent.thaw(ref);
    await agent.thaw({ ...ref, name: 'gone' });
    expect(events).toEqual([]);
  });

  it('says the VM is gone when it was deleted before the freeze', async () => {
    const { agent, inventory } = await setup(vm());
    await inventory.delete(ref);
    await expect(agent.freeze(ref, planSnapshotConsistency(vm()))).rejects.toMatchObject({ code: 'UserErrorVmNotFoundV2' });
    await expect(agent.checkSnapshotReported(ref)).rejects.toMatchObject({ code: 'UserErrorVmNotFoundV2' });
  });
});
