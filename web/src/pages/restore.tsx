/**
 * The restore wizard: 1 pick a recovery point → 2 restore disks to a storage account, or create a new
 * VM (name, resource group; the region is the vault's) → 3 for an encrypted VM, bring its key and
 * secret back when they are gone from the Key Vault → 4 restore, then follow the job.
 */
import { Button, Field, Input, Radio, RadioGroup, Select, Text, makeStyles } from '@fluentui/react-components';
import { useState } from 'react';
import { ArmError } from '../api/arm';
import { API_VERSIONS, itemId, pages, vaultId, type ItemRef } from '../api/paths';
import type { ProtectedItem, RecoveryPoint, StorageAccount, Vault, VirtualMachine } from '../api/types';
import { useApp } from '../app-context';
import { ErrorBar, GuardedButton, Loading, Notice, Page, Section } from '../components/common';
import { useLoad, usePermissions } from '../hooks';
import { consistencyLabel, formatTime, tierLabel } from '../logic/format';
import { resourceGroupProblem, restoreTargets, vmNameProblem } from '../logic/restore-rules';
import { navigate } from '../router';

const useStyles = makeStyles({
  form: { display: 'flex', flexDirection: 'column', gap: '16px', maxWidth: '640px' },
  step: { display: 'flex', flexDirection: 'column', gap: '8px' },
});

type RestoreType = 'RestoreDisks' | 'AlternateLocation';

export function RestorePage({ item, initialPoint }: { item: ItemRef; initialPoint?: string }) {
  const styles = useStyles();
  const { arm } = useApp();
  const id = itemId(item);
  const vault = vaultId(item);
  const access = usePermissions(vault, `vault ${item.vaultName}`);
  const [point, setPoint] = useState(initialPoint ?? '');
  const [type, setType] = useState<RestoreType>('RestoreDisks');
  const [account, setAccount] = useState('');
  const [vmName, setVmName] = useState('');
  const [resourceGroup, setResourceGroup] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [keysRestored, setKeysRestored] = useState<string>();
  const loaded = useLoad(`restore:${id}`, async () => {
    const [resource, points, vaultResource] = await Promise.all([
      arm.get<ProtectedItem>(id, API_VERSIONS.backup),
      arm.list<RecoveryPoint>(`${id}/recoveryPoints`, API_VERSIONS.backup),
      arm.get<Vault>(vault, API_VERSIONS.vaults),
    ]);
    const accounts = await arm.list<StorageAccount>(`/subscriptions/${item.subscriptionId}/providers/Microsoft.Storage/storageAccounts`, API_VERSIONS.storage).catch(() => [] as StorageAccount[]);
    return { resource, points: points.filter((p) => p.properties.recoveryPointTierDetails.some((t) => t.status === 'Valid')), vaultResource, accounts };
  });
  const data = loaded.data;
  const chosen = data?.points.find((p) => p.name === point) ?? data?.points[data.points.length - 1];
  const targets = data === undefined ? [] : restoreTargets(data.accounts, data.vaultResource.location);
  const target = account !== '' ? account : (targets[0]?.id ?? '');
  const sourceGroup = data?.resource.properties.sourceResourceId?.split('/')[4] ?? '';
  const group = resourceGroup !== '' ? resourceGroup : sourceGroup;
  const existingVms = useLoad(`vms:${item.subscriptionId}:${group}`, async () => {
    if (group === '') return [] as string[];
    try {
      return (await arm.list<VirtualMachine>(`/subscriptions/${item.subscriptionId}/resourceGroups/${group}/providers/Microsoft.Compute/virtualMachines`, API_VERSIONS.compute)).map((vm) => vm.name);
    } catch {
      return [] as string[];
    }
  });
  const encrypted = chosen?.properties.isSourceVMEncrypted === true;
  const nameProblem = type === 'AlternateLocation' ? vmNameProblem(vmName, existingVms.data ?? []) : undefined;
  const groupProblem = type === 'AlternateLocation' ? resourceGroupProblem(group) : undefined;
  const ready = chosen !== undefined && target !== '' && nameProblem === undefined && groupProblem === undefined;

  const restoreKeys = async () => {
    if (chosen === undefined) return;
    setError(undefined);
    const keyVaultId = chosen.properties.keyAndSecret?.bekDetails?.secretVaultId ?? chosen.properties.keyAndSecret?.kekDetails?.keyVaultId;
    try {
      const response = await arm.post<{ properties?: { keyUrl?: string; secretUrl?: string } }>(`${id}/recoveryPoints/${chosen.name}/restoreKeyAndSecret`, API_VERSIONS.backup, { properties: { keyVaultId } });
      setKeysRestored(`Restored into the Key Vault: key ${response.body.properties?.keyUrl ?? '—'}, secret ${response.body.properties?.secretUrl ?? '—'}.`);
    } catch (err) {
      if (err instanceof ArmError && err.code === 'UserErrorKeyVaultObjectAlreadyExists') setKeysRestored('The key and secret are still in the Key Vault: nothing to restore.');
      else setError(err);
    }
  };

  const restore = async () => {
    if (chosen === undefined || data === undefined) return;
    setBusy(true);
    setError(undefined);
    const properties: Record<string, unknown> = {
      objectType: 'IaasVMRestoreRequest',
      recoveryPointId: chosen.name,
      recoveryType: type,
      sourceResourceId: data.resource.properties.sourceResourceId ?? data.resource.properties.virtualMachineId,
      region: data.vaultResource.location,
      storageAccountId: target,
      originalStorageAccountOption: false,
      encryptionDetails: { encryptionEnabled: encrypted },
    };
    if (type === 'AlternateLocation') {
      properties.targetResourceGroupId = `/subscriptions/${item.subscriptionId}/resourceGroups/${group}`;
      properties.targetVirtualMachineId = `/subscriptions/${item.subscriptionId}/resourceGroups/${group}/providers/Microsoft.Compute/virtualMachines/${vmName}`;
    }
    try {
      const response = await arm.post(`${id}/recoveryPoints/${chosen.name}/restore`, API_VERSIONS.backup, { properties });
      const operation = await arm.settle(response, API_VERSIONS.backup);
      const jobId = operation.properties?.jobId;
      navigate(jobId === undefined ? pages.jobs(item) : pages.job(item, jobId));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Page title={`Restore ${data?.resource.properties.friendlyName ?? ''}`} subtitle="Restore disks into a storage account, or create a new virtual machine from a recovery point.">
      <ErrorBar error={loaded.error} />
      {data === undefined ? (
        <Loading />
      ) : data.points.length === 0 ? (
        <Notice intent="warning">This item has no recovery point to restore.</Notice>
      ) : (
        <div className={styles.form}>
          <Section title="1. Recovery point">
            <Field label="Restore point">
              <Select value={chosen?.name ?? ''} onChange={(_e, d) => setPoint(d.value)}>
                {[...data.points].reverse().map((p) => (
                  <option key={p.name} value={p.name}>
                    {formatTime(p.properties.recoveryPointTime, { seconds: true })} · {consistencyLabel(p.properties.recoveryPointType)} ·{' '}
                    {p.properties.recoveryPointTierDetails.filter((t) => t.status === 'Valid').map((t) => tierLabel(t.type)).join(' + ')}
                    {p.properties.isSourceVMEncrypted ? ' · encrypted' : ''}
                  </option>
                ))}
              </Select>
            </Field>
          </Section>
          <Section title="2. Restore configuration">
            <RadioGroup value={type} onChange={(_e, d) => setType(d.value as RestoreType)} aria-label="Restore type">
              <Radio value="RestoreDisks" label="Restore disks (to a storage account, with the VM's configuration)" />
              <Radio value="AlternateLocation" label="Create a new virtual machine" disabled={encrypted} />
            </RadioGroup>
            {encrypted ? <Text>Encrypted VMs (Azure Disk Encryption) restore as disks; create the VM from them with its key and secret.</Text> : null}
            <Field label={`Region: ${data.vaultResource.location}`} hint="A restore stays in the vault's region (cross-region restore is not offered)." />
            <Field label="Target storage account" hint={targets.length === 0 ? 'No storage account in the vault’s region.' : undefined}>
              <Select value={target} onChange={(_e, d) => setAccount(d.value)}>
                {targets.map((a) => (
                  <option key={a.id} value={a.id}>
                    {a.name} ({a.sku?.name ?? a.kind ?? 'storage'})
                  </option>
                ))}
              </Select>
            </Field>
            {type === 'AlternateLocation' ? (
              <>
                <Field label="New VM name" validationMessage={nameProblem} validationState={nameProblem === undefined ? 'none' : 'error'}>
                  <Input value={vmName} onChange={(_e, d) => setVmName(d.value)} />
                </Field>
                <Field label="Resource group" validationMessage={groupProblem} validationState={groupProblem === undefined ? 'none' : 'error'} hint="Created when it does not exist.">
                  <Input value={group} onChange={(_e, d) => setResourceGroup(d.value)} />
                </Field>
              </>
            ) : null}
          </Section>
          {encrypted ? (
            <Section title="3. Key and secret">
              <Text>
                This VM was encrypted with Azure Disk Encryption. The restore needs its key (KEK) and secret (BEK) in the Key Vault. When they were deleted, bring them back from
                this recovery point first.
              </Text>
              {keysRestored === undefined ? null : <Notice intent="success">{keysRestored}</Notice>}
              <div>
                <GuardedButton access={access} action="restore" onClick={() => void restoreKeys()}>
                  Restore key and secret
                </GuardedButton>
              </div>
            </Section>
          ) : null}
          <ErrorBar error={error} title="The restore was refused" />
          <div style={{ display: 'flex', gap: '8px', flexWrap: 'wrap' }}>
            <GuardedButton access={access} action="restore" appearance="primary" disabled={!ready || busy} onClick={() => void restore()}>
              {busy ? 'Starting…' : 'Restore'}
            </GuardedButton>
            <Button onClick={() => navigate(pages.item(item))}>Cancel</Button>
          </div>
        </div>
      )}
    </Page>
  );
}
