/**
 * One backup item: its state and health, its recovery points as a timeline (type, consistency, tiers,
 * expiry with the retention reason, encryption), and what can be done with it — back up now (retain
 * until), stop protection (retain or delete, with the soft-delete consequence), undelete, resume,
 * change policy, restore a point.
 */
import {
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Field,
  Input,
  Radio,
  RadioGroup,
  Select,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  makeStyles,
  tokens,
} from '@fluentui/react-components';
import { useState, type ReactNode } from 'react';
import type { IaasVmPolicyProperties } from '../../../lib/domain/policy';
import { API_VERSIONS, itemId, pages, vaultId, type ItemRef } from '../api/paths';
import type { OperationStatusBody } from '../api/arm';
import type { ProtectedItem, RecoveryPoint, Resource, VaultConfigProperties } from '../api/types';
import { useApp } from '../app-context';
import { ErrorBar, GuardedButton, Loading, Notice, Page, Section, StatusBadge, TableFrame } from '../components/common';
import { useLoad, usePermissions } from '../hooks';
import { consistencyLabel, dateInputValue, endOfUtcDay, formatDate, formatTime, tierLabel } from '../logic/format';
import { itemStatusOf } from '../logic/overview';
import type { AccessView } from '../logic/permissions';
import { Link, navigate } from '../router';

const useStyles = makeStyles({
  facts: { display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(220px, 1fr))', gap: '12px' },
  fact: { display: 'flex', flexDirection: 'column', gap: '2px' },
  label: { color: tokens.colorNeutralForeground2, fontSize: tokens.fontSizeBase200 },
  day: { fontWeight: tokens.fontWeightSemibold },
  reason: { color: tokens.colorNeutralForeground2, fontSize: tokens.fontSizeBase200 },
  form: { display: 'flex', flexDirection: 'column', gap: '12px' },
});

export function Fact({ label, children }: { label: string; children: ReactNode }) {
  const styles = useStyles();
  return (
    <div className={styles.fact}>
      <span className={styles.label}>{label}</span>
      <span>{children}</span>
    </div>
  );
}

export function ItemPage({ item }: { item: ItemRef }) {
  const styles = useStyles();
  const { arm } = useApp();
  const id = itemId(item);
  const vault = vaultId(item);
  const access = usePermissions(vault, `vault ${item.vaultName}`);
  const [actionError, setActionError] = useState<unknown>();
  const loaded = useLoad(
    `item:${id}`,
    async () => {
      const [resource, points, policies, vaultConfig] = await Promise.all([
        arm.get<ProtectedItem>(id, API_VERSIONS.backup),
        arm.list<RecoveryPoint>(`${id}/recoveryPoints`, API_VERSIONS.backup),
        arm.list<Resource<IaasVmPolicyProperties>>(`${vault}/backupPolicies`, API_VERSIONS.backup),
        arm.get<Resource<VaultConfigProperties>>(`${vault}/backupconfig/vaultconfig`, API_VERSIONS.backup),
      ]);
      return { resource, points, policies, vaultConfig };
    },
    { pollMs: 10_000 },
  );
  const data = loaded.data;
  const p = data?.resource.properties;

  /** Sends a change, follows its operation to the job it started, and opens the job. */
  const act = async (send: () => Promise<{ status: number; headers: Headers; body: unknown }>) => {
    setActionError(undefined);
    try {
      const response = await send();
      const operation: OperationStatusBody = await arm.settle(response, API_VERSIONS.backup);
      const jobId = operation.properties?.jobId;
      if (jobId !== undefined) navigate(pages.job(item, jobId));
      else loaded.reload();
    } catch (err) {
      setActionError(err);
    }
  };
  const putItem = (properties: Record<string, unknown>) =>
    act(() => arm.put(id, API_VERSIONS.backup, { properties: { protectedItemType: 'Microsoft.Compute/virtualMachines', sourceResourceId: p?.sourceResourceId ?? p?.virtualMachineId, ...properties } }));

  return (
    <Page title={p?.friendlyName ?? item.itemName} subtitle="Backup item · Azure virtual machine">
      <ErrorBar error={loaded.error} />
      <ErrorBar error={actionError} title="The action failed" />
      {data === undefined || p === undefined ? (
        <Loading />
      ) : (
        <>
          <ItemActions item={item} access={access} data={data.resource} policies={data.policies} vaultConfig={data.vaultConfig.properties} putItem={putItem} act={act} />
          <div className={styles.facts}>
            <Fact label="Status">
              <StatusBadge status={itemStatusOf(data.resource)} />
            </Fact>
            <Fact label="Protection state">
              <StatusBadge status={p.isScheduledForDeferredDelete ? 'SoftDeleted' : p.protectionState} />
            </Fact>
            <Fact label="Health">
              <StatusBadge status={p.healthStatus} />
            </Fact>
            <Fact label="Policy">{p.policyName === undefined ? '—' : <Link href={pages.policy(item, p.policyName)}>{p.policyName}</Link>}</Fact>
            <Fact label="Last backup">
              {formatTime(p.lastBackupTime)} <StatusBadge status={p.lastBackupStatus} />
            </Fact>
            <Fact label="Recovery points">{p.extendedInfo?.recoveryPointCount ?? data.points.length}</Fact>
            <Fact label="Oldest recovery point">{formatTime(p.extendedInfo?.oldestRecoveryPoint)}</Fact>
            {p.isScheduledForDeferredDelete ? <Fact label="Permanently deleted on">{formatTime(p.deferredDeleteTimeInUTC)}</Fact> : null}
          </div>
          {(p.healthDetails ?? []).length === 0 ? null : (
            <Notice intent="warning" title="Health">
              {(p.healthDetails ?? []).map((detail, i) => (
                <div key={i}>
                  {detail.title}: {detail.message} {(detail.recommendations ?? []).join(' ')}
                </div>
              ))}
            </Notice>
          )}
          <Section title="Recovery points">
            <PointsTimeline item={item} points={data.points} access={access} restorable={!p.isScheduledForDeferredDelete} />
          </Section>
        </>
      )}
    </Page>
  );
}

type Send = () => Promise<{ status: number; headers: Headers; body: unknown }>;

function ItemActions(props: {
  item: ItemRef;
  access: AccessView;
  data: ProtectedItem;
  policies: Resource<IaasVmPolicyProperties>[];
  vaultConfig: VaultConfigProperties;
  putItem: (properties: Record<string, unknown>) => Promise<void>;
  act: (send: Send) => Promise<void>;
}) {
  const { item, access, data, policies, vaultConfig, putItem, act } = props;
  const { arm } = useApp();
  const p = data.properties;
  const softDeleted = p.isScheduledForDeferredDelete === true;
  const stopped = !softDeleted && p.protectionState === 'ProtectionStopped';
  const active = !softDeleted && !stopped;
  const [dialog, setDialog] = useState<'backup' | 'stop' | 'policy' | 'resume' | undefined>();
  const close = () => setDialog(undefined);
  const policyIdOf = (name: string) => policies.find((policy) => policy.name === name)?.id ?? name;
  return (
    <div style={{ display: 'flex', flexWrap: 'wrap', gap: '8px' }}>
      {active ? (
        <>
          <GuardedButton access={access} action="backupNow" appearance="primary" onClick={() => setDialog('backup')}>
            Back up now
          </GuardedButton>
          <GuardedButton access={access} action="writeItem" onClick={() => setDialog('policy')}>
            Change policy
          </GuardedButton>
          <GuardedButton access={access} action="writeItem" onClick={() => setDialog('stop')}>
            Stop backup
          </GuardedButton>
        </>
      ) : null}
      {stopped ? (
        <>
          <GuardedButton access={access} action="writeItem" appearance="primary" onClick={() => setDialog('resume')}>
            Resume backup
          </GuardedButton>
          <GuardedButton access={access} action="deleteItem" onClick={() => setDialog('stop')}>
            Delete backup data
          </GuardedButton>
        </>
      ) : null}
      {softDeleted ? (
        <GuardedButton access={access} action="writeItem" appearance="primary" onClick={() => void putItem({ isRehydrate: true })}>
          Undelete
        </GuardedButton>
      ) : null}
      {/* Dialogs stay mounted and close through `open`: unmounting an open Fluent dialog leaves aria-hidden on the page (fluentui#35139). */}
      <BackupNowDialog
        open={dialog === 'backup'}
        onClose={close}
        onBackup={(retainUntil) => {
          close();
          void act(() => arm.post(`${itemId(item)}/backup`, API_VERSIONS.backup, { properties: { objectType: 'IaasVMBackupRequest', recoveryPointExpiryTimeInUTC: retainUntil } }));
        }}
      />
      <StopDialog
        key={stopped ? 'delete-data' : 'stop-backup'}
        open={dialog === 'stop'}
        vmName={p.friendlyName}
        alreadyStopped={stopped}
        vaultConfig={vaultConfig}
        onClose={close}
        onStop={(deleteData) => {
          close();
          if (deleteData) void act(() => arm.delete(itemId(item), API_VERSIONS.backup));
          else void putItem({ protectionState: 'ProtectionStopped', policyId: '' });
        }}
      />
      <PolicyDialog
        open={dialog === 'policy' || dialog === 'resume'}
        title={dialog === 'resume' ? 'Resume backup' : 'Change policy'}
        policies={policies.map((policy) => policy.name)}
        current={p.policyName}
        onClose={close}
        onPick={(name) => {
          close();
          void putItem({ policyId: policyIdOf(name) });
        }}
      />
    </div>
  );
}

const DAY_MS = 86_400_000;

function BackupNowDialog({ open, onClose, onBackup }: { open: boolean; onClose: () => void; onBackup: (retainUntilIso: string) => void }) {
  const styles = useStyles();
  const { now } = useApp();
  const [date, setDate] = useState(dateInputValue(new Date(now().getTime() + 30 * DAY_MS)));
  const retainUntil = endOfUtcDay(date);
  const valid = retainUntil !== undefined && Date.parse(retainUntil) > now().getTime();
  return (
    <Dialog open={open} onOpenChange={(_e, d) => (d.open ? undefined : onClose())}>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>Back up now</DialogTitle>
          <DialogContent className={styles.form}>
            <Text>An on-demand backup takes a recovery point now, outside the policy's schedule; the policy's retention does not apply to it.</Text>
            <Field label="Retain backup till (UTC)" validationMessage={valid ? `Kept until ${formatTime(retainUntil)}.` : 'Pick a day after today.'} validationState={valid ? 'none' : 'error'}>
              <Input type="date" value={date} onChange={(_e, d) => setDate(d.value)} min={dateInputValue(new Date(now().getTime() + DAY_MS))} />
            </Field>
          </DialogContent>
          <DialogActions>
            <Button appearance="secondary" onClick={onClose}>
              Cancel
            </Button>
            <Button appearance="primary" disabled={!valid} onClick={() => retainUntil !== undefined && onBackup(retainUntil)}>
              Back up
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}

/** What stopping protection does, in words, with the vault's soft-delete settings. */
export function stopConsequence(deleteData: boolean, vaultConfig: VaultConfigProperties, now: Date): string {
  if (!deleteData) return 'Scheduled backups stop. Existing recovery points are kept, without expiring, until you delete them or resume protection (then the policy applies again).';
  const softDelete = vaultConfig.softDeleteFeatureState !== 'Disabled';
  if (!softDelete) return 'Backups stop and every recovery point is deleted at once. Soft delete is off for this vault: this cannot be undone.';
  const days = vaultConfig.softDeleteRetentionPeriodInDays ?? 14;
  const purge = new Date(now.getTime() + days * DAY_MS).toISOString();
  return `Backups stop and the item becomes soft-deleted: its recovery points are kept ${days} more days, until ${formatDate(purge)}, and can be brought back with Undelete until then. After that they are deleted for good. While soft-deleted, the VM cannot be protected again and the vault cannot be deleted.`;
}

function StopDialog({ open, vmName, alreadyStopped, vaultConfig, onClose, onStop }: { open: boolean; vmName: string; alreadyStopped: boolean; vaultConfig: VaultConfigProperties; onClose: () => void; onStop: (deleteData: boolean) => void }) {
  const styles = useStyles();
  const { now } = useApp();
  const [choice, setChoice] = useState<'retain' | 'delete'>(alreadyStopped ? 'delete' : 'retain');
  const [confirm, setConfirm] = useState('');
  const deleteData = choice === 'delete';
  const confirmed = !deleteData || confirm === vmName;
  return (
    <Dialog open={open} onOpenChange={(_e, d) => (d.open ? undefined : onClose())}>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>{alreadyStopped ? 'Delete backup data' : 'Stop backup'}</DialogTitle>
          <DialogContent className={styles.form}>
            {alreadyStopped ? null : (
              <RadioGroup value={choice} onChange={(_e, d) => setChoice(d.value as 'retain' | 'delete')} aria-label="Backup data">
                <Radio value="retain" label="Retain backup data" />
                <Radio value="delete" label="Delete backup data" />
              </RadioGroup>
            )}
            <Notice intent={deleteData ? 'warning' : 'info'} title="What happens">
              <span data-testid="stop-consequence">{stopConsequence(deleteData, vaultConfig, now())}</span>
            </Notice>
            {deleteData ? (
              <Field label={`Type the VM's name (${vmName}) to confirm`}>
                <Input value={confirm} onChange={(_e, d) => setConfirm(d.value)} />
              </Field>
            ) : null}
          </DialogContent>
          <DialogActions>
            <Button appearance="secondary" onClick={onClose}>
              Cancel
            </Button>
            <Button appearance="primary" disabled={!confirmed} onClick={() => onStop(deleteData)}>
              {deleteData ? 'Stop and delete data' : 'Stop backup'}
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}

function PolicyDialog({ open, title, policies, current, onClose, onPick }: { open: boolean; title: string; policies: string[]; current?: string; onClose: () => void; onPick: (name: string) => void }) {
  const styles = useStyles();
  const [name, setName] = useState(current ?? policies[0] ?? '');
  return (
    <Dialog open={open} onOpenChange={(_e, d) => (d.open ? undefined : onClose())}>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>{title}</DialogTitle>
          <DialogContent className={styles.form}>
            <Field label="Backup policy">
              <Select value={name} onChange={(_e, d) => setName(d.value)}>
                {policies.map((policy) => (
                  <option key={policy} value={policy}>
                    {policy}
                  </option>
                ))}
              </Select>
            </Field>
            <Text>The policy's retention applies to the existing recovery points too, at the next cleanup.</Text>
          </DialogContent>
          <DialogActions>
            <Button appearance="secondary" onClick={onClose}>
              Cancel
            </Button>
            <Button appearance="primary" disabled={name === '' || name === current} onClick={() => onPick(name)}>
              {title === 'Resume backup' ? 'Resume' : 'Change'}
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}

/** The points, newest first, grouped by day (UTC): the item's timeline. */
function PointsTimeline({ item, points, access, restorable }: { item: ItemRef; points: RecoveryPoint[]; access: AccessView; restorable: boolean }) {
  const styles = useStyles();
  if (points.length === 0) return <Text>No recovery points yet: the first backup makes one.</Text>;
  const sorted = [...points].sort((a, b) => b.properties.recoveryPointTime.localeCompare(a.properties.recoveryPointTime));
  let lastDay = '';
  return (
    <TableFrame label="Recovery points">
      <Table aria-label="Recovery points" size="small">
        <TableHeader>
          <TableRow>
            <TableHeaderCell>Time</TableHeaderCell>
            <TableHeaderCell>Consistency</TableHeaderCell>
            <TableHeaderCell>Tiers</TableHeaderCell>
            <TableHeaderCell>Kept until</TableHeaderCell>
            <TableHeaderCell>Encrypted</TableHeaderCell>
            <TableHeaderCell>Restore</TableHeaderCell>
          </TableRow>
        </TableHeader>
        <TableBody>
          {sorted.flatMap((point) => {
            const p = point.properties;
            const day = formatDate(p.recoveryPointTime);
            const rows = [];
            if (day !== lastDay) {
              lastDay = day;
              rows.push(
                <TableRow key={`day-${day}`}>
                  <TableCell colSpan={6} className={styles.day}>
                    {day}
                  </TableCell>
                </TableRow>,
              );
            }
            const vaultTier = p.recoveryPointTierDetails.find((tier) => tier.type === 'HardenedRP');
            const reasonText = vaultTier?.extendedInfo?.retentionReason ?? p.recoveryPointTierDetails.find((tier) => tier.extendedInfo?.retentionReason !== undefined)?.extendedInfo?.retentionReason;
            const live = p.recoveryPointTierDetails.some((tier) => tier.status === 'Valid');
            rows.push(
              <TableRow key={point.name} data-testid="recovery-point">
                <TableCell>{formatTime(p.recoveryPointTime, { seconds: true })}</TableCell>
                <TableCell>{consistencyLabel(p.recoveryPointType)}</TableCell>
                <TableCell>
                  {p.recoveryPointTierDetails.map((tier) => (
                    <span key={tier.type} style={{ marginRight: '6px' }}>
                      {tierLabel(tier.type)} <StatusBadge status={tier.status} />
                    </span>
                  ))}
                </TableCell>
                <TableCell>
                  <div>
                    {formatTime(p.recoveryPointProperties?.expiryTime)}
                    {p.recoveryPointProperties?.ruleName === undefined ? '' : ` · ${p.recoveryPointProperties.ruleName}`}
                  </div>
                  {reasonText === undefined ? null : <div className={styles.reason}>{reasonText}</div>}
                </TableCell>
                <TableCell>{p.isSourceVMEncrypted ? 'Yes (ADE)' : 'No'}</TableCell>
                <TableCell>
                  {live && restorable ? (
                    <GuardedButton access={access} action="restore" size="small" onClick={() => navigate(pages.restore(item, point.name))}>
                      Restore
                    </GuardedButton>
                  ) : (
                    '—'
                  )}
                </TableCell>
              </TableRow>,
            );
            return rows;
          })}
        </TableBody>
      </Table>
    </TableFrame>
  );
}
