/**
 * Microsoft.Compute virtual machines, read-only, from the VM inventory (the local fabric, or Azure):
 * GET of one VM (what `az backup protection enable-for-vm` reads first, api-version 2022-11-01), its
 * instance view, and the lists by subscription and resource group.
 */
import { virtualMachineResource, instanceView } from '../../../lib/domain/arm/virtual-machine-resource';
import { getVirtualMachine, listVirtualMachines } from '../../../lib/services/arm-resources';
import { vmInventory } from '../../deps';
import { armRoute, list, ok, readableBy } from './route';

const TAG = 'Virtual machines';
const COMPUTE = 'providers/Microsoft.Compute/virtualMachines';
const VM_ROUTE = `subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/${COMPUTE}/{vmName}`;

const vmRef = (params: Record<string, string>) => ({ subscriptionId: params.subscriptionId ?? '', resourceGroup: params.resourceGroupName ?? '', name: params.vmName ?? '' });
const expandsInstanceView = (query: URLSearchParams) => (query.get('$expand') ?? '').toLowerCase() === 'instanceview';

armRoute({
  operationId: 'VirtualMachines_Get',
  action: 'Microsoft.Compute/virtualMachines/read',
  method: 'GET',
  route: VM_ROUTE,
  summary: 'Gets a virtual machine (`$expand=instanceView` adds its power state and VM agent).',
  tag: TAG,
  responses: { 200: 'The virtual machine.', 404: 'No such VM (ResourceNotFound), resource group or subscription.' },
  handler: async ({ params, query }) => ok(virtualMachineResource(await getVirtualMachine({ inventory: vmInventory() }, vmRef(params)), { instanceView: expandsInstanceView(query) })),
});

armRoute({
  operationId: 'VirtualMachines_InstanceView',
  action: 'Microsoft.Compute/virtualMachines/instanceView/read',
  method: 'GET',
  route: `${VM_ROUTE}/instanceView`,
  summary: "Gets a virtual machine's instance view: provisioning and power state, VM agent.",
  tag: TAG,
  responses: { 200: 'The instance view.', 404: 'No such VM.' },
  handler: async ({ params }) => ok(instanceView(await getVirtualMachine({ inventory: vmInventory() }, vmRef(params)))),
});

armRoute({
  operationId: 'VirtualMachines_List',
  action: 'Microsoft.Compute/virtualMachines/read',
  access: 'filtered',
  method: 'GET',
  route: `subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/${COMPUTE}`,
  summary: "Lists a resource group's virtual machines.",
  tag: TAG,
  responses: { 200: 'The virtual machines, in `value`.' },
  handler: async ({ params, query, access }) => {
    const all = await listVirtualMachines({ inventory: vmInventory() }, params.subscriptionId ?? '', params.resourceGroupName ?? '');
    const vms = await readableBy(access, 'Microsoft.Compute/virtualMachines/read', all, (vm) => vm.id);
    return list(vms.map((vm) => virtualMachineResource(vm, { instanceView: expandsInstanceView(query) })));
  },
});

armRoute({
  operationId: 'VirtualMachines_ListAll',
  action: 'Microsoft.Compute/virtualMachines/read',
  access: 'filtered',
  method: 'GET',
  route: `subscriptions/{subscriptionId}/${COMPUTE}`,
  summary: "Lists a subscription's virtual machines.",
  tag: TAG,
  responses: { 200: 'The virtual machines, in `value`.' },
  handler: async ({ params, access }) => {
    const all = await listVirtualMachines({ inventory: vmInventory() }, params.subscriptionId ?? '');
    return list((await readableBy(access, 'Microsoft.Compute/virtualMachines/read', all, (vm) => vm.id)).map((vm) => virtualMachineResource(vm)));
  },
});
