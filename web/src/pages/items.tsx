/** The vault's backup items: each VM with its status, last backup and policy. */
import { Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text } from '@fluentui/react-components';
import { API_VERSIONS, itemRefOf, pages, vaultId, type VaultRef } from '../api/paths';
import type { ProtectedItem } from '../api/types';
import { useApp } from '../app-context';
import { ErrorBar, GuardedButton, Loading, Page, StatusBadge, TableFrame } from '../components/common';
import { useLoad, usePermissions } from '../hooks';
import { formatTime } from '../logic/format';
import { itemStatusOf } from '../logic/overview';
import { Link, navigate } from '../router';

/** The list is of VMs: backup servers' data sources (AzureBackupServer) are in the same ARM list without a filter. */
const VM_ITEMS = "backupManagementType eq 'AzureIaasVM'";

export function ItemsPage({ vault }: { vault: VaultRef }) {
  const { arm } = useApp();
  const id = vaultId(vault);
  const access = usePermissions(id, `vault ${vault.vaultName}`);
  const loaded = useLoad(`items:${id}`, () => arm.list<ProtectedItem>(`${id}/backupProtectedItems?$filter=${encodeURIComponent(VM_ITEMS)}`, API_VERSIONS.backup), { pollMs: 10_000 });
  return (
    <Page
      title="Backup items"
      subtitle="Azure virtual machines this vault protects"
      actions={
        <GuardedButton access={access} action="writeItem" appearance="primary" onClick={() => navigate(pages.protect(vault))}>
          Protect VMs
        </GuardedButton>
      }
    >
      <ErrorBar error={loaded.error} />
      {loaded.data === undefined ? (
        <Loading />
      ) : loaded.data.length === 0 ? (
        <Text>No backup items yet.</Text>
      ) : (
        <TableFrame label="Backup items">
          <Table aria-label="Backup items">
            <TableHeader>
              <TableRow>
                <TableHeaderCell>Name</TableHeaderCell>
                <TableHeaderCell>Status</TableHeaderCell>
                <TableHeaderCell>Protection</TableHeaderCell>
                <TableHeaderCell>Last backup</TableHeaderCell>
                <TableHeaderCell>Last backup status</TableHeaderCell>
                <TableHeaderCell>Policy</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {loaded.data.map((item) => {
                const ref = itemRefOf(item.id);
                const p = item.properties;
                return (
                  <TableRow key={item.id}>
                    <TableCell>{ref === undefined ? p.friendlyName : <Link href={pages.item(ref)}>{p.friendlyName}</Link>}</TableCell>
                    <TableCell>
                      <StatusBadge status={itemStatusOf(item)} />
                    </TableCell>
                    <TableCell>
                      <StatusBadge status={p.isScheduledForDeferredDelete ? 'SoftDeleted' : p.protectionState} />
                    </TableCell>
                    <TableCell>{formatTime(p.lastBackupTime)}</TableCell>
                    <TableCell>
                      <StatusBadge status={p.lastBackupStatus} />
                    </TableCell>
                    <TableCell>{p.policyName ?? '—'}</TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        </TableFrame>
      )}
    </Page>
  );
}
