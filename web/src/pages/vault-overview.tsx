/**
 * The vault's overview, as the portal's vault blade: backup items by status, jobs of the last 24
 * hours by status (failed ones linked), storage used in each tier, and the next scheduled backups.
 */
import { Card, CardHeader, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text, makeStyles, tokens } from '@fluentui/react-components';
import type { IaasVmPolicyProperties } from '../../../lib/domain/policy';
import { ArmError } from '../api/arm';
import { API_VERSIONS, itemRefOf, pages, vaultId, type VaultRef } from '../api/paths';
import type { Job, ProtectedItem, Resource, Usage, Vault } from '../api/types';
import { useApp } from '../app-context';
import { ErrorBar, Loading, Page, Section, StatusBadge, TableFrame } from '../components/common';
import { useLoad } from '../hooks';
import { formatBytes, formatRelative, formatTime } from '../logic/format';
import { jobFilterQuery } from '../logic/job-filters';
import { countItemsByStatus, countJobsByStatus, ITEM_STATUSES, ITEM_STATUS_LABELS, JOB_STATUSES, jobsOfLastDay, nextScheduledBackups, storageUsedOf } from '../logic/overview';
import { Link } from '../router';

const useStyles = makeStyles({
  tiles: { display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(260px, 1fr))', gap: '16px' },
  tile: { padding: '16px' },
  counts: { display: 'grid', gridTemplateColumns: '1fr auto', rowGap: '6px', columnGap: '16px', alignItems: 'center' },
  number: { fontSize: tokens.fontSizeBase500, fontWeight: tokens.fontWeightSemibold, textAlign: 'right' },
  big: { fontSize: tokens.fontSizeHero700, fontWeight: tokens.fontWeightSemibold },
});

const JOB_STATUS_WORDS: Record<string, string> = { InProgress: 'In progress', Completed: 'Completed', CompletedWithWarnings: 'Completed with warnings', Failed: 'Failed', Cancelled: 'Cancelled' };

export function VaultOverviewPage({ vault }: { vault: VaultRef }) {
  const styles = useStyles();
  const { arm, now } = useApp();
  const id = vaultId(vault);
  const loaded = useLoad(
    `overview:${id}`,
    async () => {
      const [resource, items, jobs, policies, usages] = await Promise.all([
        arm.get<Vault>(id, API_VERSIONS.vaults),
        arm.list<ProtectedItem>(`${id}/backupProtectedItems?$filter=${encodeURIComponent("backupManagementType eq 'AzureIaasVM'")}`, API_VERSIONS.backup),
        arm.list<Job>(`${id}/backupJobs`, API_VERSIONS.backup),
        arm.list<Resource<IaasVmPolicyProperties>>(`${id}/backupPolicies`, API_VERSIONS.backup),
        arm.list<Usage>(`${id}/usages`, API_VERSIONS.vaults).catch((err: unknown) => {
          if (err instanceof ArmError && err.status === 404) return undefined;
          throw err;
        }),
      ]);
      return { resource, items, jobs, policies, usages };
    },
    { pollMs: 10_000 },
  );
  const data = loaded.data;
  const at = now();
  return (
    <Page title={vault.vaultName} subtitle={data === undefined ? 'Recovery Services vault' : `Recovery Services vault · ${data.resource.location} · resource group ${vault.resourceGroup}`}>
      <ErrorBar error={loaded.error} />
      {data === undefined ? (
        <Loading />
      ) : (
        <>
          <div className={styles.tiles}>
            <ItemsTile vault={vault} items={data.items} />
            <JobsTile vault={vault} jobs={jobsOfLastDay(data.jobs, at)} />
            <StorageTile usages={data.usages} />
          </div>
          <Section title="Next scheduled backups">
            <NextBackups items={data.items} policies={data.policies} now={at} />
          </Section>
        </>
      )}
    </Page>
  );
}

function ItemsTile({ vault, items }: { vault: VaultRef; items: ProtectedItem[] }) {
  const styles = useStyles();
  const counts = countItemsByStatus(items);
  return (
    <Card className={styles.tile} data-testid="tile-items">
      <CardHeader header={<Text as="h2" weight="semibold" size={400}>Backup items</Text>} description={<Link href={pages.items(vault)}>{items.length} virtual machines</Link>} />
      <div className={styles.counts}>
        {ITEM_STATUSES.map((status) => (
          <div key={status} style={{ display: 'contents' }} data-testid={`items-${status}`}>
            <Text>{ITEM_STATUS_LABELS[status]}</Text>
            <Text className={styles.number}>{counts[status]}</Text>
          </div>
        ))}
      </div>
    </Card>
  );
}

function JobsTile({ vault, jobs }: { vault: VaultRef; jobs: Job[] }) {
  const styles = useStyles();
  const counts = countJobsByStatus(jobs);
  const failed = jobs.filter((job) => job.properties.status === 'Failed');
  return (
    <Card className={styles.tile} data-testid="tile-jobs">
      <CardHeader header={<Text as="h2" weight="semibold" size={400}>Jobs in the last 24 hours</Text>} description={<Link href={pages.jobs(vault, jobFilterQuery({ range: '24h' }))}>{jobs.length} jobs</Link>} />
      <div className={styles.counts}>
        {JOB_STATUSES.map((status) => (
          <div key={status} style={{ display: 'contents' }} data-testid={`jobs-${status}`}>
            {status === 'Failed' && counts.Failed > 0 ? <Link href={pages.jobs(vault, jobFilterQuery({ range: '24h', status: 'Failed' }))}>Failed</Link> : <Text>{JOB_STATUS_WORDS[status]}</Text>}
            <Text className={styles.number}>{counts[status]}</Text>
          </div>
        ))}
      </div>
      {failed.length === 0 ? null : (
        <ul aria-label="Failed jobs">
          {failed.slice(0, 5).map((job) => (
            <li key={job.name}>
              <Link href={pages.job(vault, job.name)}>
                {job.properties.operation} of {job.properties.entityFriendlyName} · {formatTime(job.properties.startTime)}
              </Link>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function StorageTile({ usages }: { usages?: Usage[] }) {
  const styles = useStyles();
  const used = usages === undefined ? undefined : storageUsedOf(usages);
  return (
    <Card className={styles.tile} data-testid="tile-storage">
      <CardHeader header={<Text as="h2" weight="semibold" size={400}>Storage used</Text>} description={<Text>Backup data of this vault</Text>} />
      {used === undefined ? (
        <Text>This server does not report the vault's usage.</Text>
      ) : (
        <div className={styles.counts}>
          <Text>Vault tier{used.vaultRedundancy === undefined ? '' : ` (${used.vaultRedundancy})`}</Text>
          <Text className={styles.number} data-testid="storage-vault">
            {formatBytes(used.vaultBytes ?? 0)}
          </Text>
          <Text>Snapshot tier (instant restore)</Text>
          <Text className={styles.number} data-testid="storage-snapshot">
            {formatBytes(used.snapshotBytes ?? 0)}
          </Text>
        </div>
      )}
    </Card>
  );
}

function NextBackups({ items, policies, now }: { items: ProtectedItem[]; policies: Resource<IaasVmPolicyProperties>[]; now: Date }) {
  const next = nextScheduledBackups(items, policies, now);
  if (next.length === 0) return <Text>No scheduled backups: no item is protected by a policy.</Text>;
  return (
    <TableFrame label="Next scheduled backups">
      <Table aria-label="Next scheduled backups" size="small">
        <TableHeader>
          <TableRow>
            <TableHeaderCell>Backup item</TableHeaderCell>
            <TableHeaderCell>Policy</TableHeaderCell>
            <TableHeaderCell>Next backup</TableHeaderCell>
            <TableHeaderCell>Status</TableHeaderCell>
          </TableRow>
        </TableHeader>
        <TableBody>
          {next.slice(0, 10).map(({ item, policyName, time }) => {
            const ref = itemRefOf(item.id);
            return (
              <TableRow key={item.id}>
                <TableCell>{ref === undefined ? item.properties.friendlyName : <Link href={pages.item(ref)}>{item.properties.friendlyName}</Link>}</TableCell>
                <TableCell>{policyName}</TableCell>
                <TableCell>
                  {formatTime(time)} ({formatRelative(time, now)})
                </TableCell>
                <TableCell>
                  <StatusBadge status={item.properties.protectionState} />
                </TableCell>
              </TableRow>
            );
          })}
        </TableBody>
      </Table>
    </TableFrame>
  );
}
