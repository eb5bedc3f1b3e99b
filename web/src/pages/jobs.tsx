/** The vault's backup jobs, filterable by status, operation, time and item; the filters live in the URL. */
import { Field, Input, Select, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text, makeStyles } from '@fluentui/react-components';
import { API_VERSIONS, pages, vaultId, type VaultRef } from '../api/paths';
import type { Job } from '../api/types';
import { useApp } from '../app-context';
import { ErrorBar, Loading, Page, StatusBadge, TableFrame } from '../components/common';
import { useLoad } from '../hooks';
import { formatDuration, formatTime } from '../logic/format';
import { serverOfJob } from '../logic/backup-servers';
import { filterJobs, jobFilterQuery, JOB_MANAGEMENT_TYPES, JOB_OPERATIONS, JOB_RANGES, JOB_STATUS_FILTERS, parseJobFilter, type JobFilter, type JobRange } from '../logic/job-filters';
import { Link, navigate } from '../router';

const useStyles = makeStyles({
  filters: { display: 'flex', flexWrap: 'wrap', gap: '12px', alignItems: 'flex-end' },
});

const RANGE_WORDS: Record<JobRange, string> = { '24h': 'Last 24 hours', '7d': 'Last 7 days', '30d': 'Last 30 days', all: 'All' };
const TYPE_WORDS: Record<(typeof JOB_MANAGEMENT_TYPES)[number], string> = { AzureIaasVM: 'Azure VMs', AzureBackupServer: 'Backup servers', MAB: 'MARS agents' };

export function JobsPage({ vault, search }: { vault: VaultRef; search: string }) {
  const styles = useStyles();
  const { arm, now } = useApp();
  const id = vaultId(vault);
  const filter = parseJobFilter(search);
  const loaded = useLoad(`jobs:${id}`, () => arm.list<Job>(`${id}/backupJobs`, API_VERSIONS.backup), { pollMs: 5_000 });
  const update = (change: Partial<JobFilter>) => {
    const next: JobFilter = { ...filter, ...change };
    (Object.keys(next) as Array<keyof JobFilter>).forEach((key) => next[key] === undefined && delete next[key]);
    navigate(pages.jobs(vault, jobFilterQuery(next)), { replace: true });
  };
  const jobs = loaded.data === undefined ? undefined : filterJobs(loaded.data, filter, now());
  return (
    <Page title="Backup jobs" subtitle="Every operation of the vault is a job: backups, restores, configuring and stopping protection; and the jobs backup servers report.">
      <div className={styles.filters} role="search" aria-label="Filter jobs">
        <Field label="Status">
          <Select value={filter.status ?? ''} onChange={(_e, d) => update({ status: d.value === '' ? undefined : d.value })}>
            <option value="">All</option>
            {JOB_STATUS_FILTERS.map((status) => (
              <option key={status} value={status}>
                {status}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Operation">
          <Select value={filter.operation ?? ''} onChange={(_e, d) => update({ operation: d.value === '' ? undefined : d.value })}>
            <option value="">All</option>
            {JOB_OPERATIONS.map((operation) => (
              <option key={operation} value={operation}>
                {operation}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Backup type">
          <Select value={filter.type ?? ''} onChange={(_e, d) => update({ type: d.value === '' ? undefined : d.value })}>
            <option value="">All</option>
            {JOB_MANAGEMENT_TYPES.map((type) => (
              <option key={type} value={type}>
                {TYPE_WORDS[type]}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Time range">
          <Select value={filter.range} onChange={(_e, d) => update({ range: d.value as JobRange })}>
            {(Object.keys(JOB_RANGES) as JobRange[]).map((range) => (
              <option key={range} value={range}>
                {RANGE_WORDS[range]}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="Backup item">
          <Input value={filter.text ?? ''} placeholder="VM, source or server name" onChange={(_e, d) => update({ text: d.value === '' ? undefined : d.value })} />
        </Field>
      </div>
      <ErrorBar error={loaded.error} />
      {jobs === undefined ? (
        <Loading />
      ) : jobs.length === 0 ? (
        <Text>No jobs match.</Text>
      ) : (
        <TableFrame label="Jobs">
          <Table aria-label="Jobs">
            <TableHeader>
              <TableRow>
                <TableHeaderCell>Backup item</TableHeaderCell>
                <TableHeaderCell>Operation</TableHeaderCell>
                <TableHeaderCell>Status</TableHeaderCell>
                <TableHeaderCell>Start time</TableHeaderCell>
                <TableHeaderCell>Duration</TableHeaderCell>
                <TableHeaderCell>Error</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {jobs.map((job) => (
                <TableRow key={job.name} data-testid="job-row">
                  <TableCell>
                    <Link href={pages.job(vault, job.name)}>{job.properties.entityFriendlyName}</Link>
                    {serverOfJob(job) === undefined ? null : <Text size={200}> on {serverOfJob(job)}</Text>}
                  </TableCell>
                  <TableCell>{job.properties.operation}</TableCell>
                  <TableCell>
                    <StatusBadge status={job.properties.status} />
                  </TableCell>
                  <TableCell>{formatTime(job.properties.startTime, { seconds: true })}</TableCell>
                  <TableCell>{formatDuration(job.properties.duration)}</TableCell>
                  <TableCell>{job.properties.errorDetails?.[0]?.errorTitle ?? ''}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableFrame>
      )}
    </Page>
  );
}
