/** Create a Recovery Services vault: subscription, resource group (existing or new), name with its rules inline, region, redundancy. */
import { Button, Combobox, Field, Input, Option, Radio, RadioGroup, Select, makeStyles } from '@fluentui/react-components';
import { useState } from 'react';
import { API_VERSIONS, pages } from '../api/paths';
import type { ResourceGroup, Subscription, Vault } from '../api/types';
import { useApp } from '../app-context';
import { ErrorBar, GuardedButton, Loading, Page } from '../components/common';
import { useLoad, usePermissions } from '../hooks';
import { REDUNDANCY_OPTIONS, resourceGroupNameProblem, vaultNameProblem } from '../logic/vault-form';
import { navigate } from '../router';

const useStyles = makeStyles({ form: { display: 'flex', flexDirection: 'column', gap: '16px', maxWidth: '560px' } });

export function NewVaultPage() {
  const styles = useStyles();
  const { arm } = useApp();
  const [subscriptionId, setSubscriptionId] = useState('');
  const [group, setGroup] = useState('');
  const [name, setName] = useState('');
  const [location, setLocation] = useState('westeurope');
  const [redundancy, setRedundancy] = useState('GeoRedundant');
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const subs = useLoad('subscriptions', () => arm.list<Subscription>('/subscriptions', API_VERSIONS.resources));
  const sub = subscriptionId !== '' ? subscriptionId : (subs.data?.[0]?.subscriptionId ?? '');
  const scope = useLoad(`scope:${sub}`, async () => {
    if (sub === '') return { groups: [] as ResourceGroup[], vaults: [] as Vault[] };
    const [groups, vaults] = await Promise.all([
      arm.list<ResourceGroup>(`/subscriptions/${sub}/resourcegroups`, API_VERSIONS.resources),
      arm.list<Vault>(`/subscriptions/${sub}/providers/Microsoft.RecoveryServices/vaults`, API_VERSIONS.vaults),
    ]);
    return { groups, vaults };
  });
  const existingGroup = scope.data?.groups.find((g) => g.name.toLowerCase() === group.toLowerCase());
  const access = usePermissions(sub === '' ? undefined : `/subscriptions/${sub}${existingGroup === undefined ? '' : `/resourceGroups/${existingGroup.name}`}`, existingGroup === undefined ? 'this subscription' : `resource group ${existingGroup.name}`);
  const nameProblem = vaultNameProblem(name, scope.data?.vaults.map((v) => v.name) ?? []);
  const groupProblem = resourceGroupNameProblem(group);

  const create = async () => {
    setTouched(true);
    if (nameProblem !== undefined || groupProblem !== undefined) return;
    setBusy(true);
    setError(undefined);
    try {
      if (existingGroup === undefined) await arm.put(`/subscriptions/${sub}/resourcegroups/${group}`, API_VERSIONS.resources, { location });
      const vaultPath = `/subscriptions/${sub}/resourceGroups/${group}/providers/Microsoft.RecoveryServices/vaults/${name}`;
      await arm.put(vaultPath, API_VERSIONS.vaults, { location: existingGroup?.location ?? location, sku: { name: 'Standard' }, properties: { publicNetworkAccess: 'Enabled' } });
      if (redundancy !== 'GeoRedundant') await arm.patch(`${vaultPath}/backupstorageconfig/vaultstorageconfig`, API_VERSIONS.backup, { properties: { storageModelType: redundancy } });
      navigate(pages.vault({ subscriptionId: sub, resourceGroup: group, vaultName: name }));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Page title="Create a Recovery Services vault">
      <ErrorBar error={subs.error ?? scope.error} />
      {subs.data === undefined ? (
        <Loading />
      ) : (
        <div className={styles.form}>
          <Field label="Subscription">
            <Select value={sub} onChange={(_e, d) => setSubscriptionId(d.value)}>
              {subs.data.map((s) => (
                <option key={s.subscriptionId} value={s.subscriptionId}>
                  {s.displayName} ({s.subscriptionId})
                </option>
              ))}
            </Select>
          </Field>
          <Field label="Resource group" required validationMessage={touched || group !== '' ? groupProblem : undefined} hint={existingGroup === undefined && group !== '' ? 'A new resource group is created.' : undefined}>
            <Combobox freeform value={group} onInput={(e) => setGroup((e.target as HTMLInputElement).value)} onOptionSelect={(_e, d) => setGroup(d.optionText ?? '')} placeholder="Pick or type a new name">
              {(scope.data?.groups ?? []).map((g) => (
                <Option key={g.name} text={g.name}>
                  {g.name} ({g.location})
                </Option>
              ))}
            </Combobox>
          </Field>
          <Field label="Vault name" required validationMessage={touched || name !== '' ? nameProblem : undefined} validationState={(touched || name !== '') && nameProblem !== undefined ? 'error' : 'none'} hint="2–50 characters: a letter first, then letters, digits and hyphens.">
            <Input value={name} onChange={(_e, d) => setName(d.value)} />
          </Field>
          <Field label="Region" hint={existingGroup === undefined ? undefined : `The vault is made in ${existingGroup.location}, the resource group's region.`}>
            <Input value={existingGroup?.location ?? location} disabled={existingGroup !== undefined} onChange={(_e, d) => setLocation(d.value)} />
          </Field>
          <Field label="Backup storage redundancy" hint="Changeable until the first item is protected.">
            <RadioGroup value={redundancy} onChange={(_e, d) => setRedundancy(d.value)}>
              {REDUNDANCY_OPTIONS.map((option) => (
                <Radio key={option.value} value={option.value} label={`${option.label} — ${option.hint}`} />
              ))}
            </RadioGroup>
          </Field>
          <ErrorBar error={error} title="The vault was not created" />
          <div style={{ display: 'flex', gap: '8px', flexWrap: 'wrap' }}>
            <GuardedButton access={access} action="writeVault" appearance="primary" disabled={busy} onClick={() => void create()}>
              {busy ? 'Creating…' : 'Create'}
            </GuardedButton>
            <Button onClick={() => navigate(pages.vaults())}>Cancel</Button>
          </div>
        </div>
      )}
    </Page>
  );
}
