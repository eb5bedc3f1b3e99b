/** The vault's properties: backup storage redundancy (locked once something is protected) and soft delete. */
import { Field, Radio, RadioGroup, SpinButton, Switch, Text, makeStyles } from '@fluentui/react-components';
import { useState } from 'react';
import { API_VERSIONS, vaultId, type VaultRef } from '../api/paths';
import type { ProtectedItem, Resource, StorageConfigProperties, Vault, VaultConfigProperties } from '../api/types';
import { useApp } from '../app-context';
import { ErrorBar, GuardedButton, Loading, Notice, Page, Section } from '../components/common';
import { useLoad, usePermissions } from '../hooks';
import { REDUNDANCY_OPTIONS } from '../logic/vault-form';

const useStyles = makeStyles({ form: { display: 'flex', flexDirection: 'column', gap: '12px', maxWidth: '640px' } });

export function VaultPropertiesPage({ vault }: { vault: VaultRef }) {
  const styles = useStyles();
  const { arm } = useApp();
  const id = vaultId(vault);
  const access = usePermissions(id, `vault ${vault.vaultName}`);
  const loaded = useLoad(`properties:${id}`, async () => {
    const [resource, storage, config, items] = await Promise.all([
      arm.get<Vault>(id, API_VERSIONS.vaults),
      arm.get<Resource<StorageConfigProperties>>(`${id}/backupstorageconfig/vaultstorageconfig`, API_VERSIONS.backup),
      arm.get<Resource<VaultConfigProperties>>(`${id}/backupconfig/vaultconfig`, API_VERSIONS.backup),
      arm.list<ProtectedItem>(`${id}/backupProtectedItems`, API_VERSIONS.backup),
    ]);
    return { resource, storage, config, items };
  });
  const [redundancy, setRedundancy] = useState<string>();
  const [softDelete, setSoftDelete] = useState<boolean>();
  const [days, setDays] = useState<number>();
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState<string>();
  const data = loaded.data;
  const currentRedundancy = data?.storage.properties.storageModelType ?? data?.storage.properties.storageType ?? 'GeoRedundant';
  const currentSoftDelete = (data?.config.properties.softDeleteFeatureState ?? 'Enabled') !== 'Disabled';
  const currentDays = data?.config.properties.softDeleteRetentionPeriodInDays ?? 14;
  const locked = (data?.items.length ?? 0) > 0;

  const save = async (what: 'storage' | 'softDelete') => {
    setError(undefined);
    setSaved(undefined);
    try {
      if (what === 'storage') await arm.patch(`${id}/backupstorageconfig/vaultstorageconfig`, API_VERSIONS.backup, { properties: { storageModelType: redundancy ?? currentRedundancy } });
      else
        await arm.patch(`${id}/backupconfig/vaultconfig`, API_VERSIONS.backup, {
          properties: { softDeleteFeatureState: (softDelete ?? currentSoftDelete) ? 'Enabled' : 'Disabled', softDeleteRetentionPeriodInDays: days ?? currentDays },
        });
      setSaved(what === 'storage' ? 'Storage redundancy saved.' : 'Soft-delete settings saved.');
      loaded.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Page title="Properties" subtitle={data === undefined ? undefined : `${vault.vaultName} · ${data.resource.location}`}>
      <ErrorBar error={loaded.error} />
      <ErrorBar error={error} title="Not saved" />
      {saved === undefined ? null : <Notice intent="success">{saved}</Notice>}
      {data === undefined ? (
        <Loading />
      ) : (
        <>
          <Section title="Backup storage redundancy">
            <div className={styles.form}>
              {locked ? (
                <Notice intent="info" title="Locked">
                  The redundancy is fixed once the vault protects an item ({data.items.length} now): stop protection and delete every item's data to change it.
                </Notice>
              ) : null}
              <RadioGroup value={redundancy ?? currentRedundancy} onChange={(_e, d) => setRedundancy(d.value)} disabled={locked} aria-label="Backup storage redundancy">
                {REDUNDANCY_OPTIONS.map((option) => (
                  <Radio key={option.value} value={option.value} label={`${option.label} — ${option.hint}`} />
                ))}
              </RadioGroup>
              <div>
                <GuardedButton access={access} action="writeStorageConfig" disabled={locked || (redundancy ?? currentRedundancy) === currentRedundancy} onClick={() => void save('storage')}>
                  Save redundancy
                </GuardedButton>
              </div>
            </div>
          </Section>
          <Section title="Soft delete">
            <div className={styles.form}>
              <Text>With soft delete, data of a stopped-and-deleted item is kept for the retention days and can be undeleted; without it, deletion is immediate.</Text>
              <Switch checked={softDelete ?? currentSoftDelete} onChange={(_e, d) => setSoftDelete(d.checked)} label={(softDelete ?? currentSoftDelete) ? 'Soft delete enabled' : 'Soft delete disabled'} />
              <Field label="Keep soft-deleted data (days, 14–180)">
                <SpinButton min={14} max={180} value={days ?? currentDays} onChange={(_e, d) => setDays(d.value ?? Number(d.displayValue))} />
              </Field>
              <div>
                <GuardedButton access={access} action="writeVaultConfig" onClick={() => void save('softDelete')}>
                  Save soft-delete settings
                </GuardedButton>
              </div>
            </div>
          </Section>
        </>
      )}
    </Page>
  );
}
