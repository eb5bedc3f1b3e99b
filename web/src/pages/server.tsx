/**
 * One backup server or MARS machine: its check-in, connectivity and subscription state with what the seed's table
 * allows, its sources (protection state, last local and vault point, health), each source's recovery points (Disk,
 * Online, DiskAndOnline) and its recent jobs. Read-only, with the `kluis-server` commands that manage it.
 */
import { Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text } from '@fluentui/react-components';
import { API_VERSIONS, pages, vaultId, type VaultRef } from '../api/paths';
import type { GenericRecoveryPoint, Job } from '../api/types';
import { useApp } from '../app-context';
import { ErrorBar, Loading, Notice, Page, Section, StatusBadge, TableFrame } from '../components/common';
import { useLoad } from '../hooks';
import { itemsOfServer, jobsOfServer, pointRowsOf, serverCommands, serverRowsOf, sourceRowsOf, type ServerRow, type SourceRow } from '../logic/backup-servers';
import { formatBytes, formatDuration, formatRelative, formatTime } from '../logic/format';
import { jobFilterQuery } from '../logic/job-filters';
import { Link } from '../router';
import { Fact } from './item';
import { CommandList, ConnectivityBadge, loadServers, ReadOnlyNotice, SubscriptionBadge, useServerStyles } from './servers';

export function ServerPage({ vault, serverName }: { vault: VaultRef; serverName: string }) {
  const { arm, now } = useApp();
  const id = vaultId(vault);
  const loaded = useLoad(
    `server:${id}:${serverName}`,
    async () => {
      const [servers, jobs] = await Promise.all([loadServers(arm, vault), arm.list<Job>(`${id}/backupJobs`, API_VERSIONS.backup)]);
      const items = itemsOfServer(servers.items, serverName);
      const points = new Map<string, GenericRecoveryPoint[]>(
        await Promise.all(items.map(async (item) => [item.id, await arm.list<GenericRecoveryPoint>(`${item.id}/recoveryPoints`, API_VERSIONS.backup)] as const)),
      );
      return { servers, items, points, jobs: jobsOfServer(jobs, serverName) };
    },
    { pollMs: 15_000 },
  );
  const data = loaded.data;
  const row = data === undefined ? undefined : serverRowsOf(data.servers.containers, data.servers.items, data.servers.subscriptionState, now()).find((r) => r.name.toLowerCase() === serverName.toLowerCase());
  const sources = data === undefined ? [] : sourceRowsOf(data.items, (item) => data.points.get(item.id));
  return (
    <Page title={serverName} subtitle={<Link href={pages.servers(vault)}>All backup servers</Link>}>
      <ErrorBar error={loaded.error} />
      {data === undefined ? (
        <Loading />
      ) : row === undefined ? (
        <Notice intent="warning">No server named {serverName} is registered with this vault.</Notice>
      ) : (
        <>
          <ReadOnlyNotice />
          <ServerFacts row={row} />
          <Section title="Sources">
            {sources.length === 0 ? (
              <Text>No items reported yet: the server reports its sources after its first run (kluis-server run).</Text>
            ) : (
              <SourcesTable sources={sources} />
            )}
          </Section>
          {sources.map((source) => (
            <Section key={source.id} title={`Recovery points · ${source.name}`}>
              <PointsTable label={`Recovery points of ${source.name}`} points={data.points.get(source.id) ?? []} />
            </Section>
          ))}
          <Section title="Recent jobs" actions={<Link href={pages.jobs(vault, jobFilterQuery({ range: 'all', type: row.managementType, text: row.name }))}>All its jobs</Link>}>
            {data.jobs.length === 0 ? <Text>No jobs reported yet.</Text> : <JobsTable vault={vault} jobs={data.jobs} />}
          </Section>
          <Section title="Manage it on the server">
            <CommandList commands={serverCommands(row.managementType)} label="kluis-server commands" />
          </Section>
        </>
      )}
    </Page>
  );
}

function ServerFacts({ row }: { row: ServerRow }) {
  const { now } = useApp();
  const allowed = row.allowed;
  const word = (permission: string | undefined) => (permission === undefined ? '—' : permission === 'Allowed' ? 'Allowed' : 'Stopped');
  return (
    <div style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(200px, 1fr))', gap: '12px' }} data-testid="server-facts">
      <Fact label="Type">{row.kindLabel}</Fact>
      <Fact label="Last check-in">
        {formatTime(row.lastCheckIn)} {row.lastCheckIn === undefined ? '' : `(${formatRelative(row.lastCheckIn, now())})`}
      </Fact>
      <Fact label="Connectivity">
        <ConnectivityBadge row={row} />
      </Fact>
      <Fact label="Subscription">
        <SubscriptionBadge row={row} />
      </Fact>
      <Fact label="Agent version">{row.agentVersion ?? '—'}</Fact>
      <Fact label="Backups to the vault">{word(allowed?.backupToAzure)}</Fact>
      {row.managementType === 'MAB' ? null : <Fact label="Backups to disk">{word(allowed?.backupToDisk)}</Fact>}
      <Fact label="Restores from the vault">{word(allowed?.restoreFromAzure)}</Fact>
      {row.managementType === 'MAB' ? null : <Fact label="Restores from disk">{word(allowed?.restoreFromDisk)}</Fact>}
      {allowed?.azureRecoveryPointsDeleted === true ? <Fact label="Vault points">Deleted (subscription deprovisioned)</Fact> : null}
    </div>
  );
}

function SourcesTable({ sources }: { sources: SourceRow[] }) {
  const styles = useServerStyles();
  return (
    <TableFrame label="Sources">
      <Table aria-label="Sources">
        <TableHeader>
          <TableRow>
            <TableHeaderCell>Source</TableHeaderCell>
            <TableHeaderCell>Protection group</TableHeaderCell>
            <TableHeaderCell>Protection</TableHeaderCell>
            <TableHeaderCell>Health</TableHeaderCell>
            <TableHeaderCell>Last local point</TableHeaderCell>
            <TableHeaderCell>Last vault point</TableHeaderCell>
          </TableRow>
        </TableHeader>
        <TableBody>
          {sources.map((s) => (
            <TableRow key={s.id} data-testid="server-source">
              <TableCell className={styles.wrap}>
                {s.name}
                {s.path === undefined || s.path === s.name ? null : <Text size={200} block>{s.path}</Text>}
              </TableCell>
              <TableCell>{s.group ?? '—'}</TableCell>
              <TableCell>
                <StatusBadge status={s.protectionState} />
              </TableCell>
              <TableCell>
                <StatusBadge status={s.lastBackupStatus ?? s.health} />
              </TableCell>
              <TableCell>
                {formatTime(s.lastLocalPoint)}
                <Text size={200} block>{s.localPoints} on disk</Text>
              </TableCell>
              <TableCell>
                {formatTime(s.lastVaultPoint)}
                <Text size={200} block>{s.vaultPoints} in the vault</Text>
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableFrame>
  );
}

function PointsTable({ label, points }: { label: string; points: GenericRecoveryPoint[] }) {
  const styles = useServerStyles();
  const rows = pointRowsOf(points);
  if (rows.length === 0) return <Text>No recovery points yet.</Text>;
  return (
    <TableFrame label={label}>
      <Table aria-label={label} size="small">
        <TableHeader>
          <TableRow>
            <TableHeaderCell>Time</TableHeaderCell>
            <TableHeaderCell>Where</TableHeaderCell>
            <TableHeaderCell>Size</TableHeaderCell>
            <TableHeaderCell>Snapshot id</TableHeaderCell>
          </TableRow>
        </TableHeader>
        <TableBody>
          {rows.map((p) => (
            <TableRow key={p.id} data-testid="server-point">
              <TableCell>{formatTime(p.time, { seconds: true })}</TableCell>
              <TableCell>{p.location}</TableCell>
              <TableCell>{formatBytes(p.bytes)}</TableCell>
              <TableCell className={styles.wrap}>
                <code>{p.name}</code>
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableFrame>
  );
}

function JobsTable({ vault, jobs }: { vault: VaultRef; jobs: Job[] }) {
  return (
    <TableFrame label="Recent jobs">
      <Table aria-label="Recent jobs" size="small">
        <TableHeader>
          <TableRow>
            <TableHeaderCell>Source</TableHeaderCell>
            <TableHeaderCell>Operation</TableHeaderCell>
            <TableHeaderCell>Kind</TableHeaderCell>
            <TableHeaderCell>Status</TableHeaderCell>
            <TableHeaderCell>Start time</TableHeaderCell>
            <TableHeaderCell>Duration</TableHeaderCell>
          </TableRow>
        </TableHeader>
        <TableBody>
          {jobs.map((job) => (
            <TableRow key={job.name} data-testid="server-job">
              <TableCell>
                <Link href={pages.job(vault, job.name)}>{job.properties.entityFriendlyName}</Link>
              </TableCell>
              <TableCell>{job.properties.operation}</TableCell>
              <TableCell>{job.properties.extendedInfo?.propertyBag?.Kind ?? '—'}</TableCell>
              <TableCell>
                <StatusBadge status={job.properties.status} />
              </TableCell>
              <TableCell>{formatTime(job.properties.startTime, { seconds: true })}</TableCell>
              <TableCell>{formatDuration(job.properties.duration)}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableFrame>
  );
}
