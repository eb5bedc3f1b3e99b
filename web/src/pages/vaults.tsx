/** All Recovery Services vaults the caller can see, across their subscriptions. */
import { Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text } from '@fluentui/react-components';
import { API_VERSIONS, pages, vaultRefOf } from '../api/paths';
import type { Subscription, Vault } from '../api/types';
import { useApp } from '../app-context';
import { ErrorBar, GuardedButton, Loading, Page, TableFrame } from '../components/common';
import { useLoad, usePermissions } from '../hooks';
import { Link, navigate } from '../router';

export function VaultsPage() {
  const { arm } = useApp();
  const loaded = useLoad('vaults', async () => {
    const subscriptions = await arm.list<Subscription>('/subscriptions', API_VERSIONS.resources);
    const lists = await Promise.all(
      subscriptions.map(async (s) => ({ subscription: s, vaults: await arm.list<Vault>(`/subscriptions/${s.subscriptionId}/providers/Microsoft.RecoveryServices/vaults`, API_VERSIONS.vaults) })),
    );
    return { subscriptions, vaults: lists.flatMap((l) => l.vaults.map((vault) => ({ vault, subscription: l.subscription }))) };
  });
  const first = loaded.data?.subscriptions[0];
  const access = usePermissions(first === undefined ? undefined : `/subscriptions/${first.subscriptionId}`, `subscription ${first?.displayName ?? ''}`);
  return (
    <Page
      title="Recovery Services vaults"
      subtitle="Each vault holds the backups of the virtual machines of its region."
      actions={
        <GuardedButton access={access} action="writeVault" appearance="primary" onClick={() => navigate(pages.newVault())}>
          Create vault
        </GuardedButton>
      }
    >
      <ErrorBar error={loaded.error} />
      {loaded.data === undefined ? (
        <Loading />
      ) : loaded.data.vaults.length === 0 ? (
        <Text>No vaults yet. Create one to start protecting virtual machines.</Text>
      ) : (
        <TableFrame label="Vaults">
          <Table aria-label="Vaults">
            <TableHeader>
              <TableRow>
                <TableHeaderCell>Name</TableHeaderCell>
                <TableHeaderCell>Resource group</TableHeaderCell>
                <TableHeaderCell>Location</TableHeaderCell>
                <TableHeaderCell>Subscription</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {loaded.data.vaults.map(({ vault, subscription }) => {
                const ref = vaultRefOf(vault.id);
                return (
                  <TableRow key={vault.id}>
                    <TableCell>{ref === undefined ? vault.name : <Link href={pages.vault(ref)}>{vault.name}</Link>}</TableCell>
                    <TableCell>{ref?.resourceGroup}</TableCell>
                    <TableCell>{vault.location}</TableCell>
                    <TableCell>{subscription.displayName}</TableCell>
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
