/** The vault's backup policies: schedule (with its zone), retention, items protected. */
import { Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow } from '@fluentui/react-components';
import { describeSchedule } from '../../../lib/domain/backup-schedule';
import type { IaasVmPolicyProperties } from '../../../lib/domain/policy';
import { validatePolicy } from '../../../lib/domain/policy-rules';
import { API_VERSIONS, pages, vaultId, type VaultRef } from '../api/paths';
import type { Resource } from '../api/types';
import { useApp } from '../app-context';
import { ErrorBar, GuardedButton, Loading, Page, TableFrame } from '../components/common';
import { useLoad, usePermissions } from '../hooks';
import { withoutNulls } from '../logic/json';
import { Link, navigate } from '../router';

/** "Daily at 19:00 UTC" from a policy of the API (its own words when it does not validate). */
export function scheduleText(properties: IaasVmPolicyProperties): string {
  try {
    return describeSchedule(validatePolicy(withoutNulls(properties) as IaasVmPolicyProperties));
  } catch {
    return properties.schedulePolicy?.scheduleRunFrequency ?? '—';
  }
}

/** "30 days daily, 12 weeks weekly" */
export function retentionText(properties: IaasVmPolicyProperties): string {
  const r = (properties.retentionPolicy ?? {}) as unknown as Record<string, { retentionDuration?: { count: number; durationType: string } } | undefined>;
  const parts: string[] = [];
  for (const [key, word] of [
    ['dailySchedule', 'daily'],
    ['weeklySchedule', 'weekly'],
    ['monthlySchedule', 'monthly'],
    ['yearlySchedule', 'yearly'],
  ] as const) {
    const duration = r[key]?.retentionDuration;
    if (duration) parts.push(`${word} ${duration.count} ${duration.durationType.toLowerCase()}`);
  }
  return parts.join(', ') || '—';
}

export function PoliciesPage({ vault }: { vault: VaultRef }) {
  const { arm } = useApp();
  const id = vaultId(vault);
  const access = usePermissions(id, `vault ${vault.vaultName}`);
  const loaded = useLoad(`policies:${id}`, () => arm.list<Resource<IaasVmPolicyProperties>>(`${id}/backupPolicies`, API_VERSIONS.backup));
  return (
    <Page
      title="Backup policies"
      subtitle="When backups run and how long recovery points are kept."
      actions={
        <GuardedButton access={access} action="writePolicy" appearance="primary" onClick={() => navigate(pages.newPolicy(vault))}>
          Create policy
        </GuardedButton>
      }
    >
      <ErrorBar error={loaded.error} />
      {loaded.data === undefined ? (
        <Loading />
      ) : (
        <TableFrame label="Backup policies">
          <Table aria-label="Backup policies">
            <TableHeader>
              <TableRow>
                <TableHeaderCell>Name</TableHeaderCell>
                <TableHeaderCell>Type</TableHeaderCell>
                <TableHeaderCell>Schedule</TableHeaderCell>
                <TableHeaderCell>Retention</TableHeaderCell>
                <TableHeaderCell>Instant restore</TableHeaderCell>
                <TableHeaderCell>Items</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {loaded.data.map((policy) => (
                <TableRow key={policy.name}>
                  <TableCell>
                    <Link href={pages.policy(vault, policy.name)}>{policy.name}</Link>
                  </TableCell>
                  <TableCell>{policy.properties.policyType === 'V2' ? 'Enhanced' : 'Standard'}</TableCell>
                  <TableCell>{scheduleText(policy.properties)}</TableCell>
                  <TableCell>{retentionText(policy.properties)}</TableCell>
                  <TableCell>{policy.properties.instantRpRetentionRangeInDays ?? '—'} days</TableCell>
                  <TableCell>{policy.properties.protectedItemsCount ?? 0}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableFrame>
      )}
    </Page>
  );
}
