/**
 * Protect VMs: discovery (refresh, then the vault's protectable VMs), each with the reason it cannot
 * be protected when there is one, a policy to pick, and Enable. VMs of other regions are listed with
 * that reason. Enable's own refusals (the API's code and recommendation) show at the VM.
 */
import { Button, Checkbox, Field, Select, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text } from '@fluentui/react-components';
import { useState } from 'react';
import type { IaasVmPolicyProperties } from '../../../lib/domain/policy';
import { ArmError } from '../api/arm';
import { API_VERSIONS, pages, vaultId, type VaultRef } from '../api/paths';
import type { ProtectableItem, Resource, Vault, VirtualMachine } from '../api/types';
import { useApp } from '../app-context';
import { ErrorBar, GuardedButton, Loading, Notice, Page, Section, TableFrame } from '../components/common';
import { useLoad, usePermissions } from '../hooks';
import { protectionBlockers, vmsInOtherRegions } from '../logic/protectability';
import { Link, navigate } from '../router';

interface ProtectableDisk {
  kind: string;
}

export function ProtectPage({ vault }: { vault: VaultRef }) {
  const { arm } = useApp();
  const id = vaultId(vault);
  const access = usePermissions(id, `vault ${vault.vaultName}`);
  const [policy, setPolicy] = useState('DefaultPolicy');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [busy, setBusy] = useState(false);
  const [results, setResults] = useState<Record<string, { name: string; error?: unknown; jobId?: string }>>({});
  const loaded = useLoad(`protect:${id}`, async () => {
    const resource = await arm.get<Vault>(id, API_VERSIONS.vaults);
    const [policies, vms] = await Promise.all([
      arm.list<Resource<IaasVmPolicyProperties>>(`${id}/backupPolicies`, API_VERSIONS.backup),
      arm.list<VirtualMachine>(`/subscriptions/${vault.subscriptionId}/providers/Microsoft.Compute/virtualMachines`, API_VERSIONS.compute).catch(() => [] as VirtualMachine[]),
    ]);
    return { resource, policies, vms };
  });
  const discovery = useLoad(`discovery:${id}`, async () => {
    // Discovery is an action: only those who may run it refresh; the rest see the last discovery.
    try {
      const refresh = await arm.post(`${id}/backupFabrics/Azure/refreshContainers`, API_VERSIONS.backup);
      await arm.settle(refresh, API_VERSIONS.backup);
    } catch {
      // A refused refresh (no permission) still lets the list show.
    }
    try {
      const items = await arm.list<ProtectableItem>(`${id}/backupProtectableItems?$filter=${encodeURIComponent("backupManagementType eq 'AzureIaasVM'")}`, API_VERSIONS.backup);
      return { items };
    } catch (error) {
      // Roles without the protectable items' read (Backup Reader) see why, not an endless "Discovering…".
      if (error instanceof ArmError && error.status === 403) return { items: [] as ProtectableItem[], refused: error };
      throw error;
    }
  });
  const protectable = discovery.data?.items ?? [];
  const refused = discovery.data?.refused;
  const discoveredIds = new Set(protectable.map((item) => String(item.properties.virtualMachineId ?? '').toLowerCase()));
  const elsewhere = loaded.data === undefined ? [] : vmsInOtherRegions(loaded.data.vms, loaded.data.resource.location, discoveredIds);

  const enable = async () => {
    setBusy(true);
    const chosen = protectable.filter((item) => selected.has(item.name));
    const policyId = loaded.data?.policies.find((p) => p.name === policy)?.id ?? policy;
    const next: Record<string, { name: string; error?: unknown; jobId?: string }> = {};
    for (const item of chosen) {
      const container = String(item.properties.containerName ?? '');
      const itemName = String(item.properties.protectedItemName ?? '');
      const itemPath = `${id}/backupFabrics/Azure/protectionContainers/${container}/protectedItems/${itemName}`;
      try {
        const response = await arm.put(itemPath, API_VERSIONS.backup, { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', sourceResourceId: item.properties.virtualMachineId, policyId } });
        const operation = await arm.settle(response, API_VERSIONS.backup);
        const name = item.properties.friendlyName;
        next[item.name] = operation.properties?.jobId === undefined ? { name } : { name, jobId: operation.properties.jobId };
      } catch (error) {
        next[item.name] = { name: item.properties.friendlyName, error };
      }
    }
    setResults(next);
    setSelected(new Set());
    setBusy(false);
    discovery.reload();
  };

  return (
    <Page title="Protect virtual machines" subtitle={`Back up VMs of ${loaded.data?.resource.location ?? 'the vault’s region'} with a policy of this vault.`}>
      <ErrorBar error={loaded.error ?? discovery.error} />
      {Object.entries(results).map(([key, result]) =>
        result.error === undefined ? (
          <Notice key={key} intent="success" title={`Protection enabled: ${result.name}`}>
            {result.jobId === undefined ? 'Configured.' : <Link href={pages.job(vault, result.jobId)}>Follow the ConfigureBackup job</Link>} The first backup runs at the policy's next time, or now with Back up now on the item.
          </Notice>
        ) : (
          <ErrorBar key={key} error={result.error} title={`Could not protect ${result.name}`} />
        ),
      )}
      {loaded.data === undefined || discovery.data === undefined ? (
        <Loading label="Discovering virtual machines…" />
      ) : (
        <>
          <Field label="Backup policy">
            <Select value={policy} onChange={(_e, d) => setPolicy(d.value)}>
              {loaded.data.policies.map((p) => (
                <option key={p.name} value={p.name}>
                  {p.name}
                </option>
              ))}
            </Select>
          </Field>
          <Section title="Virtual machines you can protect">
            {refused !== undefined ? (
              <Notice intent="warning" title="You may not list the VMs this vault can protect">
                {refused.message}
              </Notice>
            ) : protectable.length === 0 ? (
              <Text>Every VM of this region is protected already, or there is none.</Text>
            ) : (
              <TableFrame label="Protectable virtual machines">
                <Table aria-label="Protectable virtual machines">
                  <TableHeader>
                    <TableRow>
                      <TableHeaderCell>Select</TableHeaderCell>
                      <TableHeaderCell>Name</TableHeaderCell>
                      <TableHeaderCell>Resource group</TableHeaderCell>
                      <TableHeaderCell>OS</TableHeaderCell>
                      <TableHeaderCell>Disks</TableHeaderCell>
                      <TableHeaderCell>Can be protected</TableHeaderCell>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {protectable.map((item) => {
                      const blockers = protectionBlockers(item);
                      const name = item.properties.friendlyName;
                      return (
                        <TableRow key={item.name} data-testid="protectable-vm">
                          <TableCell>
                            <Checkbox
                              aria-label={`Select ${name}`}
                              disabled={blockers.length > 0}
                              checked={selected.has(item.name)}
                              onChange={(_e, d) => {
                                const next = new Set(selected);
                                if (d.checked === true) next.add(item.name);
                                else next.delete(item.name);
                                setSelected(next);
                              }}
                            />
                          </TableCell>
                          <TableCell>{name}</TableCell>
                          <TableCell>{String(item.properties.resourceGroup ?? '')}</TableCell>
                          <TableCell>{String(item.properties.osType ?? '')}</TableCell>
                          <TableCell>{((item.properties.disks as ProtectableDisk[] | undefined) ?? []).length}</TableCell>
                          <TableCell>{blockers.length === 0 ? 'Yes' : blockers.join(' ')}</TableCell>
                        </TableRow>
                      );
                    })}
                  </TableBody>
                </Table>
              </TableFrame>
            )}
            <div>
              <GuardedButton access={access} action="writeItem" appearance="primary" disabled={selected.size === 0 || busy} onClick={() => void enable()}>
                {busy ? 'Enabling…' : `Enable backup${selected.size > 0 ? ` (${selected.size})` : ''}`}
              </GuardedButton>
            </div>
          </Section>
          {elsewhere.length === 0 ? null : (
            <Section title="Virtual machines this vault cannot protect">
              <TableFrame label="Virtual machines in other regions">
                <Table aria-label="Virtual machines in other regions" size="small">
                  <TableHeader>
                    <TableRow>
                      <TableHeaderCell>Name</TableHeaderCell>
                      <TableHeaderCell>Why</TableHeaderCell>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {elsewhere.map(({ vm, reason }) => (
                      <TableRow key={vm.id}>
                        <TableCell>{vm.name}</TableCell>
                        <TableCell>{reason}</TableCell>
                      </TableRow>
                    ))}
                  </TableBody>
                </Table>
              </TableFrame>
            </Section>
          )}
          <Button appearance="subtle" onClick={() => navigate(pages.items(vault))}>
            Back to backup items
          </Button>
        </>
      )}
    </Page>
  );
}
