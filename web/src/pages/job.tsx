/**
 * One job: what it did, its tasks with live progress (polled every 2 s while it runs), the error's
 * code, message and recommendation, and Cancel while it may be cancelled (only while snapshotting).
 */
import { ProgressBar, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text } from '@fluentui/react-components';
import { useState } from 'react';
import { API_VERSIONS, pages, vaultId, type VaultRef } from '../api/paths';
import type { Job, JobTask } from '../api/types';
import { useApp } from '../app-context';
import { ErrorBar, GuardedButton, Loading, Notice, Page, Section, StatusBadge, TableFrame } from '../components/common';
import { useLoad, usePermissions } from '../hooks';
import { formatDuration, formatTime } from '../logic/format';
import { isCancellable, isRunning, jobProgress } from '../logic/job-filters';
import { serverOfJob } from '../logic/backup-servers';
import { Fact } from './item';
import { Link } from '../router';

export const JOB_POLL_MS = 2_000;

/** A task's progress; a finished task that reports none (a backup server's) is done. */
const taskPercent = (task: JobTask) => task.progressPercentage ?? (task.status === 'Completed' ? 100 : 0);

export function JobPage({ vault, jobName }: { vault: VaultRef; jobName: string }) {
  const { arm } = useApp();
  const id = `${vaultId(vault)}/backupJobs/${encodeURIComponent(jobName)}`;
  const access = usePermissions(vaultId(vault), `vault ${vault.vaultName}`);
  const [cancelError, setCancelError] = useState<unknown>();
  const [cancelling, setCancelling] = useState(false);
  const loaded = useLoad(`job:${id}`, () => arm.get<Job>(id, API_VERSIONS.backup), { pollMs: JOB_POLL_MS, poll: isRunning });
  const job = loaded.data;
  const p = job?.properties;
  const cancel = async () => {
    setCancelError(undefined);
    setCancelling(true);
    try {
      await arm.post(`${id}/cancel`, API_VERSIONS.backup);
      loaded.reload();
    } catch (err) {
      setCancelError(err);
    } finally {
      setCancelling(false);
    }
  };
  const bag = p?.extendedInfo?.propertyBag ?? {};
  return (
    <Page
      title={p === undefined ? 'Job' : `${p.operation} · ${p.entityFriendlyName}`}
      subtitle={<Link href={pages.jobs(vault)}>All jobs</Link>}
      actions={
        job !== undefined && isRunning(job) ? (
          <GuardedButton access={access} action="cancelJob" disabled={!isCancellable(job) || cancelling} onClick={() => void cancel()}>
            Cancel job
          </GuardedButton>
        ) : undefined
      }
    >
      <ErrorBar error={loaded.error} />
      <ErrorBar error={cancelError} title="Cancel failed" />
      {job === undefined || p === undefined ? (
        <Loading />
      ) : (
        <>
          {isRunning(job) && !isCancellable(job) ? <Text>A job can be cancelled only while it takes the snapshot.</Text> : null}
          <div style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(200px, 1fr))', gap: '12px' }}>
            <Fact label="Status">
              <span data-testid="job-status">
                <StatusBadge status={p.status} />
              </span>
            </Fact>
            <Fact label="Started">{formatTime(p.startTime, { seconds: true })}</Fact>
            <Fact label="Ended">{formatTime(p.endTime, { seconds: true })}</Fact>
            <Fact label="Duration">{formatDuration(p.duration)}</Fact>
            <Fact label="Triggered by">{p.isUserTriggered ? 'A user' : 'The schedule or the service'}</Fact>
            {serverOfJob(job) === undefined ? null : (
              <Fact label="Backup server">
                <Link href={pages.server(vault, serverOfJob(job) ?? '')}>{serverOfJob(job)}</Link>
              </Fact>
            )}
          </div>
          <ProgressBar value={jobProgress(job) / 100} thickness="large" aria-label={`Progress ${Math.round(jobProgress(job))}%`} />
          {(p.errorDetails ?? []).map((error, i) => (
            <Notice key={i} intent="error" title={`${error.errorTitle ?? 'Error'}${error.errorCode === undefined ? '' : ` (code ${error.errorCode})`}`}>
              <div data-testid="job-error">{error.errorString}</div>
              {(error.recommendations ?? []).length === 0 ? null : <div>Recommendation: {(error.recommendations ?? []).join(' ')}</div>}
            </Notice>
          ))}
          <Section title="Tasks">
            <TableFrame label="Tasks">
              <Table aria-label="Tasks" size="small">
                <TableHeader>
                  <TableRow>
                    <TableHeaderCell>Task</TableHeaderCell>
                    <TableHeaderCell>Status</TableHeaderCell>
                    <TableHeaderCell>Progress</TableHeaderCell>
                    <TableHeaderCell>Duration</TableHeaderCell>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {(p.extendedInfo?.tasksList ?? []).map((task) => (
                    <TableRow key={task.taskId}>
                      <TableCell>{task.taskId}</TableCell>
                      <TableCell>
                        <StatusBadge status={task.status} />
                      </TableCell>
                      <TableCell>
                        <ProgressBar value={taskPercent(task) / 100} aria-label={`${task.taskId} ${taskPercent(task)}%`} /> {taskPercent(task)}%
                      </TableCell>
                      <TableCell>{formatDuration(task.duration)}</TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </TableFrame>
          </Section>
          {Object.keys(bag).length === 0 ? null : (
            <Section title="Details">
              <TableFrame label="Job details">
                <Table aria-label="Job details" size="small">
                  <TableBody>
                    {Object.entries(bag).map(([key, value]) => (
                      <TableRow key={key}>
                        <TableCell>{key}</TableCell>
                        <TableCell>{value}</TableCell>
                      </TableRow>
                    ))}
                  </TableBody>
                </Table>
              </TableFrame>
            </Section>
          )}
        </>
      )}
    </Page>
  );
}
