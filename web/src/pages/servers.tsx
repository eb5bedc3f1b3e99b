/**
 * The vault's backup servers and direct-mode MARS machines: last check-in, connectivity (Disconnected after 15 days
 * without one), the subscription's state and what the seed's table then allows, agent version and sources. Read-only:
 * servers are registered and managed with `kluis-server` on the machine; the empty state says how.
 */
import { Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text, makeStyles } from '@fluentui/react-components';
import { ArmError } from '../api/arm';
import type { ArmClient } from '../api/arm';
import { API_VERSIONS, pages, vaultId, type VaultRef } from '../api/paths';
import type { ServerContainer, ServerItem, Subscription } from '../api/types';
import { useApp } from '../app-context';
import { ErrorBar, Loading, Notice, Page, Section, StatusBadge, TableFrame } from '../components/common';
import { useLoad } from '../hooks';
import { DISCONNECTED_AFTER_DAYS, registrationSteps, serverRowsOf, SERVER_MANAGEMENT_TYPES, type ServerRow } from '../logic/backup-servers';
import { formatRelative, formatTime, plural } from '../logic/format';
import { Link } from '../router';

/** Server names are FQDNs without spaces: they wrap anywhere rather than run into the next column. */
export const useServerStyles = makeStyles({ wrap: { overflowWrap: 'anywhere' } });

export interface ServersData {
  containers: ServerContainer[];
  items: ServerItem[];
  /** ARM's state of the vault's subscription; undefined when the caller may not read it. */
  subscriptionState?: string;
}

const filterOf = (type: string) => encodeURIComponent(`backupManagementType eq '${type}'`);

/** The containers and items of both kinds of server (Azure's filtered lists), and the subscription's state. */
export async function loadServers(arm: ArmClient, vault: VaultRef): Promise<ServersData> {
  const id = vaultId(vault);
  const [containers, items, subscription] = await Promise.all([
    Promise.all(SERVER_MANAGEMENT_TYPES.map((type) => arm.list<ServerContainer>(`${id}/backupProtectionContainers?$filter=${filterOf(type)}`, API_VERSIONS.backup))),
    Promise.all(SERVER_MANAGEMENT_TYPES.map((type) => arm.list<ServerItem>(`${id}/backupProtectedItems?$filter=${filterOf(type)}`, API_VERSIONS.backup))),
    arm.get<Subscription>(`/subscriptions/${vault.subscriptionId}`, API_VERSIONS.resources).catch((err: unknown) => {
      if (err instanceof ArmError && (err.status === 403 || err.status === 404)) return undefined;
      throw err;
    }),
  ]);
  return { containers: containers.flat(), items: items.flat(), ...(subscription?.state === undefined ? {} : { subscriptionState: subscription.state }) };
}

export function ConnectivityBadge({ row }: { row: Pick<ServerRow, 'connectivity'> }) {
  return <StatusBadge status={row.connectivity === 'Connected' ? 'Connected' : 'Disconnected'} />;
}

export function SubscriptionBadge({ row }: { row: Pick<ServerRow, 'subscription'> }) {
  return row.subscription === undefined ? <Text>Unknown</Text> : <StatusBadge status={row.subscription} />;
}

export function ReadOnlyNotice() {
  return (
    <Notice title="Read-only here">
      A server&apos;s sources, schedules and restores are managed on the server itself with <code>kluis-server</code>; the vault shows what it
      reports.
    </Notice>
  );
}

export function ServersPage({ vault }: { vault: VaultRef }) {
  const { arm, now } = useApp();
  const styles = useServerStyles();
  const id = vaultId(vault);
  const loaded = useLoad(`servers:${id}`, () => loadServers(arm, vault), { pollMs: 15_000 });
  const rows = loaded.data === undefined ? undefined : serverRowsOf(loaded.data.containers, loaded.data.items, loaded.data.subscriptionState, now());
  return (
    <Page title="Backup servers" subtitle="Machines outside Azure that back up to this vault: backup servers (a local copy first, the vault second) and MARS agents (straight to the vault).">
      <ErrorBar error={loaded.error} />
      {rows === undefined ? (
        <Loading />
      ) : rows.length === 0 ? (
        <EmptyServers vault={vault} />
      ) : (
        <>
          <ReadOnlyNotice />
          <TableFrame label="Backup servers">
            <Table aria-label="Backup servers">
              <TableHeader>
                <TableRow>
                  <TableHeaderCell>Name</TableHeaderCell>
                  <TableHeaderCell>Type</TableHeaderCell>
                  <TableHeaderCell>Last check-in</TableHeaderCell>
                  <TableHeaderCell>Connectivity</TableHeaderCell>
                  <TableHeaderCell>Subscription</TableHeaderCell>
                  <TableHeaderCell>Backups</TableHeaderCell>
                  <TableHeaderCell>Agent version</TableHeaderCell>
                  <TableHeaderCell>Sources</TableHeaderCell>
                  <TableHeaderCell>Last recovery point</TableHeaderCell>
                </TableRow>
              </TableHeader>
              <TableBody>
                {rows.map((row) => (
                  <TableRow key={row.name} data-testid="server-row">
                    <TableCell className={styles.wrap}>
                      <Link href={pages.server(vault, row.name)}>{row.name}</Link>
                    </TableCell>
                    <TableCell>{row.kindLabel}</TableCell>
                    <TableCell>
                      {formatTime(row.lastCheckIn)}
                      {row.lastCheckIn === undefined ? null : <Text size={200} block>{formatRelative(row.lastCheckIn, now())}</Text>}
                    </TableCell>
                    <TableCell>
                      <ConnectivityBadge row={row} />
                    </TableCell>
                    <TableCell>
                      <SubscriptionBadge row={row} />
                    </TableCell>
                    <TableCell>{row.allowed === undefined ? '—' : row.allowed.backupToAzure === 'Allowed' ? 'Running' : 'Stopped'}</TableCell>
                    <TableCell>{row.agentVersion ?? '—'}</TableCell>
                    <TableCell>
                      {row.sources === 0 ? 'No items reported' : plural(row.sources, 'source')}
                      {row.failedSources === 0 ? null : <Text size={200} block>{row.failedSources} failed</Text>}
                    </TableCell>
                    <TableCell>{formatTime(row.lastRecoveryPoint)}</TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </TableFrame>
          <Text size={200}>
            A server that has not checked in for more than {DISCONNECTED_AFTER_DAYS} days is Disconnected: it stops its backups (to disk and to the vault)
            until it checks in again; restores still work. An expired subscription stops backups too; a deprovisioned one deletes the vault&apos;s points.
          </Text>
        </>
      )}
    </Page>
  );
}

function EmptyServers({ vault }: { vault: VaultRef }) {
  return (
    <Section title="No backup servers registered">
      <Text>
        Protect machines outside Azure — servers on premises, VMs on Azure Stack — with a Kluis backup server: it keeps a copy on its own disks for
        fast restores and sends a second copy to this vault, encrypted with a passphrase the vault never sees. On the machine:
      </Text>
      <CommandList commands={registrationSteps(vaultId(vault))} label="Register a server" />
      <Text size={200}>
        <code>credentials</code> needs your sign-in (a token in KLUIS_ACCESS_TOKEN); <code>npm start</code> registers a demo server next to its demo vault.
        See docs/backup-server.md.
      </Text>
    </Section>
  );
}

export function CommandList({ commands, label }: { commands: Array<{ command: string; what: string }>; label: string }) {
  return (
    <TableFrame label={label}>
      <Table aria-label={label} size="small">
        <TableHeader>
          <TableRow>
            <TableHeaderCell>Command</TableHeaderCell>
            <TableHeaderCell>What it does</TableHeaderCell>
          </TableRow>
        </TableHeader>
        <TableBody>
          {commands.map((c) => (
            <TableRow key={c.command}>
              <TableCell>
                <code>{c.command}</code>
              </TableCell>
              <TableCell>{c.what}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableFrame>
  );
}
