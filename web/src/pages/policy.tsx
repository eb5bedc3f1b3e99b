/**
 * View, create and edit a backup policy: schedule (daily, weekly, or hourly on Enhanced), time zone,
 * instant-restore days and GFS retention. Saving sends the API the policy; its validation errors show
 * at the field their `target` names. Editing shows which existing recovery points of an item the
 * change would keep or expire — the server's retention function, run here.
 */
import {
  Button,
  Checkbox,
  Field,
  Input,
  Radio,
  RadioGroup,
  Select,
  SpinButton,
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
import { useMemo, useState, type ReactNode } from 'react';
import { DAYS_OF_WEEK, MONTHS_OF_YEAR, WEEKS_OF_MONTH, type IaasVmPolicyProperties } from '../../../lib/domain/policy';
import { isValidPolicyName, NAME_RULES } from '../../../lib/domain/arm-names';
import { ArmError } from '../api/arm';
import { API_VERSIONS, pages, vaultId, type VaultRef } from '../api/paths';
import type { ProtectedItem, RecoveryPoint, Resource } from '../api/types';
import { useApp } from '../app-context';
import { ErrorBar, GuardedButton, Loading, Notice, Page, Section, TableFrame } from '../components/common';
import { useLoad, usePermissions } from '../hooks';
import { formatTime } from '../logic/format';
import { defaultPolicyForm, fieldOfTarget, policyFormOf, policyPropertiesOf, type DayOfWeek, type FieldName, type PolicyForm } from '../logic/policy-form';
import { previewRetention, summarizePreview, type PointPreview } from '../logic/retention-preview';
import { navigate } from '../router';
import { retentionText, scheduleText } from './policies';

const useStyles = makeStyles({
  form: { display: 'flex', flexDirection: 'column', gap: '16px', maxWidth: '720px' },
  row: { display: 'flex', flexWrap: 'wrap', gap: '16px', alignItems: 'flex-start' },
  group: { display: 'flex', flexDirection: 'column', gap: '8px', padding: '12px', border: `1px solid ${tokens.colorNeutralStroke2}`, borderRadius: tokens.borderRadiusMedium },
  days: { display: 'flex', flexWrap: 'wrap', gap: '4px 12px' },
  expires: { color: tokens.colorPaletteRedForeground1, fontWeight: tokens.fontWeightSemibold },
  kept: { color: tokens.colorPaletteGreenForeground1, fontWeight: tokens.fontWeightSemibold },
});

type Errors = Partial<Record<FieldName, string>>;

function DayPicker<T extends string>({ label, options, value, onChange, error }: { label: string; options: readonly T[]; value: readonly T[]; onChange: (next: T[]) => void; error?: string }) {
  const styles = useStyles();
  return (
    <Field label={label} validationMessage={error} validationState={error === undefined ? 'none' : 'error'}>
      <div className={styles.days} role="group" aria-label={label}>
        {options.map((option) => (
          <Checkbox
            key={option}
            label={option}
            checked={value.includes(option)}
            onChange={(_e, d) => onChange(d.checked === true ? options.filter((o) => o === option || value.includes(o)) : value.filter((v) => v !== option))}
          />
        ))}
      </div>
    </Field>
  );
}

export function PolicyPage({ vault, policyName }: { vault: VaultRef; policyName?: string }) {
  const styles = useStyles();
  const { arm, now } = useApp();
  const id = vaultId(vault);
  const access = usePermissions(id, `vault ${vault.vaultName}`);
  const isNew = policyName === undefined;
  const loaded = useLoad(`policy:${id}:${policyName ?? ''}`, async () => {
    const [policy, items] = await Promise.all([
      isNew ? Promise.resolve(undefined) : arm.get<Resource<IaasVmPolicyProperties>>(`${id}/backupPolicies/${encodeURIComponent(policyName)}`, API_VERSIONS.backup),
      arm.list<ProtectedItem>(`${id}/backupProtectedItems`, API_VERSIONS.backup),
    ]);
    return { policy, items: items.filter((item) => policyName !== undefined && item.properties.policyName?.toLowerCase() === policyName.toLowerCase()) };
  });
  const [name, setName] = useState('');
  const [draft, setDraft] = useState<PolicyForm>();
  const [errors, setErrors] = useState<Errors>({});
  const [formError, setFormError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const saved0 = loaded.data?.policy;
  const form = draft ?? (saved0 === undefined ? defaultPolicyForm() : policyFormOf(saved0.properties));
  const set = (change: Partial<PolicyForm>) => {
    setDraft({ ...form, ...change });
    setSaved(false);
  };
  const err = (field: FieldName) => errors[field];
  const v = (field: FieldName) => ({ validationMessage: err(field), validationState: err(field) === undefined ? ('none' as const) : ('error' as const) });
  const nameProblem = isNew && name !== '' && !isValidPolicyName(name) ? `Not a valid name: ${NAME_RULES.policyName}.` : undefined;

  const save = async () => {
    setErrors({});
    setFormError(undefined);
    const target = isNew ? name : policyName;
    if (target === undefined || target === '' || nameProblem !== undefined) {
      setErrors({ name: nameProblem ?? 'Name the policy.' });
      return;
    }
    setBusy(true);
    try {
      const response = await arm.put(`${id}/backupPolicies/${encodeURIComponent(target)}`, API_VERSIONS.backup, { properties: policyPropertiesOf(form) });
      await arm.settle(response, API_VERSIONS.backup);
      setSaved(true);
      setDraft(undefined);
      if (isNew) navigate(pages.policy(vault, target));
      else loaded.reload();
    } catch (error) {
      const field = error instanceof ArmError ? fieldOfTarget(error.target) : undefined;
      if (field !== undefined && error instanceof ArmError) setErrors({ [field]: `${error.message}${error.recommendation === undefined ? '' : ` ${error.recommendation}`}` });
      else setFormError(error);
    } finally {
      setBusy(false);
    }
  };

  const title = isNew ? 'Create backup policy' : `Policy ${policyName}`;
  return (
    <Page title={title} subtitle={saved0 === undefined ? undefined : `${scheduleText(saved0.properties)} · keeps ${retentionText(saved0.properties)}`}>
      <ErrorBar error={loaded.error} />
      {saved ? <Notice intent="success">Saved. Retention changes apply to existing recovery points at the next cleanup.</Notice> : null}
      {loaded.data === undefined ? (
        <Loading />
      ) : (
        <div className={styles.form}>
          {isNew ? (
            <Field label="Policy name" required validationMessage={nameProblem ?? err('name')} validationState={(nameProblem ?? err('name')) === undefined ? 'none' : 'error'}>
              <Input value={name} onChange={(_e, d) => setName(d.value)} />
            </Field>
          ) : null}
          <Field label="Policy type" {...v('policyType')}>
            <RadioGroup layout="horizontal" value={form.policyType} onChange={(_e, d) => set({ policyType: d.value as 'V1' | 'V2', frequency: d.value === 'V1' && form.frequency === 'Hourly' ? 'Daily' : form.frequency, instantDays: d.value === 'V2' ? 7 : 2 })}>
              <Radio value="V1" label="Standard (one backup a day)" />
              <Radio value="V2" label="Enhanced (hourly possible)" />
            </RadioGroup>
          </Field>
          <Section title="Schedule">
            <div className={styles.row}>
              <Field label="Frequency" {...v('frequency')}>
                <Select value={form.frequency} onChange={(_e, d) => set({ frequency: d.value as PolicyForm['frequency'] })}>
                  <option value="Daily">Daily</option>
                  <option value="Weekly">Weekly</option>
                  {form.policyType === 'V2' ? <option value="Hourly">Hourly</option> : null}
                </Select>
              </Field>
              {form.frequency === 'Hourly' ? (
                <>
                  <Field label="Every (hours)" {...v('hourlyInterval')}>
                    <Select value={String(form.hourlyInterval)} onChange={(_e, d) => set({ hourlyInterval: Number(d.value) })}>
                      {[4, 6, 8, 12].map((h) => (
                        <option key={h} value={h}>
                          {h}
                        </option>
                      ))}
                    </Select>
                  </Field>
                  <Field label="Window starts" {...v('windowStart')}>
                    <Input type="time" value={form.windowStart} onChange={(_e, d) => set({ windowStart: d.value })} />
                  </Field>
                  <Field label="Window (hours)" {...v('windowDuration')}>
                    <SpinButton min={4} max={24} value={form.windowDuration} onChange={(_e, d) => set({ windowDuration: d.value ?? Number(d.displayValue) })} />
                  </Field>
                </>
              ) : (
                <Field label="Time" {...v('time')}>
                  <Input type="time" value={form.time} onChange={(_e, d) => set({ time: d.value })} />
                </Field>
              )}
              <Field label="Time zone" hint="Windows (W. Europe Standard Time) or IANA (Europe/Amsterdam); times stay on this zone's clock across daylight saving." {...v('timeZone')}>
                <Input value={form.timeZone} onChange={(_e, d) => set({ timeZone: d.value })} />
              </Field>
            </div>
            {form.frequency === 'Weekly' ? <DayPicker label="On" options={DAYS_OF_WEEK} value={form.runDays} onChange={(runDays) => set({ runDays })} error={err('runDays')} /> : null}
            <Field label={`Instant restore: keep snapshots (days, ${form.policyType === 'V2' ? '1–30' : '1–5'})`} {...v('instantDays')}>
              <SpinButton min={1} max={form.policyType === 'V2' ? 30 : 5} value={form.instantDays} onChange={(_e, d) => set({ instantDays: d.value ?? Number(d.displayValue) })} />
            </Field>
          </Section>
          <Section title="Retention">
            {form.frequency !== 'Weekly' ? (
              <Field label="Daily backup point: keep (days, 7–9999)" {...v('dailyCount')}>
                <SpinButton min={1} max={9999} value={form.dailyCount} onChange={(_e, d) => set({ dailyCount: d.value ?? Number(d.displayValue) })} />
              </Field>
            ) : null}
            <RuleGroup title="Weekly backup point" enabled={form.weekly.enabled || form.frequency === 'Weekly'} fixed={form.frequency === 'Weekly'} onEnabled={(enabled) => set({ weekly: { ...form.weekly, enabled } })}>
              {form.frequency === 'Weekly' ? null : <DayPicker label="On" options={DAYS_OF_WEEK} value={form.weekly.days} onChange={(days) => set({ weekly: { ...form.weekly, days } })} error={err('weeklyDays')} />}
              <Field label="Keep (weeks, 1–5163)" {...v('weeklyCount')}>
                <SpinButton min={1} max={5163} value={form.weekly.count} onChange={(_e, d) => set({ weekly: { ...form.weekly, count: d.value ?? Number(d.displayValue) } })} />
              </Field>
            </RuleGroup>
            <RuleGroup title="Monthly backup point" enabled={form.monthly.enabled} onEnabled={(enabled) => set({ monthly: { ...form.monthly, enabled } })} error={err('monthly')}>
              <DayPicker label="Week of the month" options={WEEKS_OF_MONTH} value={form.monthly.weeks} onChange={(weeks) => set({ monthly: { ...form.monthly, weeks } })} />
              <DayPicker label="Day" options={DAYS_OF_WEEK} value={form.monthly.days} onChange={(days) => set({ monthly: { ...form.monthly, days: days as DayOfWeek[] } })} />
              <Field label="Keep (months, 1–1188)" {...v('monthlyCount')}>
                <SpinButton min={1} max={1188} value={form.monthly.count} onChange={(_e, d) => set({ monthly: { ...form.monthly, count: d.value ?? Number(d.displayValue) } })} />
              </Field>
            </RuleGroup>
            <RuleGroup title="Yearly backup point" enabled={form.yearly.enabled} onEnabled={(enabled) => set({ yearly: { ...form.yearly, enabled } })} error={err('yearly')}>
              <DayPicker label="Months" options={MONTHS_OF_YEAR} value={form.yearly.months} onChange={(months) => set({ yearly: { ...form.yearly, months } })} error={err('yearlyMonths')} />
              <DayPicker label="Week of the month" options={WEEKS_OF_MONTH} value={form.yearly.weeks} onChange={(weeks) => set({ yearly: { ...form.yearly, weeks } })} />
              <DayPicker label="Day" options={DAYS_OF_WEEK} value={form.yearly.days} onChange={(days) => set({ yearly: { ...form.yearly, days } })} />
              <Field label="Keep (years, 1–99)" {...v('yearlyCount')}>
                <SpinButton min={1} max={99} value={form.yearly.count} onChange={(_e, d) => set({ yearly: { ...form.yearly, count: d.value ?? Number(d.displayValue) } })} />
              </Field>
            </RuleGroup>
          </Section>
          <ErrorBar error={formError} title="Not saved" />
          <div className={styles.row}>
            <GuardedButton access={access} action="writePolicy" appearance="primary" disabled={busy} onClick={() => void save()}>
              {busy ? 'Saving…' : isNew ? 'Create' : 'Save'}
            </GuardedButton>
            <Button onClick={() => navigate(pages.policies(vault))}>Back to policies</Button>
          </div>
          {saved0 === undefined || draft === undefined ? null : <RetentionPreview items={loaded.data.items} saved={saved0.properties} draft={policyPropertiesOf(form)} now={now()} />}
        </div>
      )}
    </Page>
  );
}

function RuleGroup({ title, enabled, fixed, onEnabled, error, children }: { title: string; enabled: boolean; fixed?: boolean; onEnabled: (enabled: boolean) => void; error?: string; children: ReactNode }) {
  const styles = useStyles();
  return (
    <div className={styles.group} role="group" aria-label={title}>
      <Checkbox label={title} checked={enabled} disabled={fixed} onChange={(_e, d) => onEnabled(d.checked === true)} />
      {error === undefined ? null : <Text role="alert" style={{ color: tokens.colorPaletteRedForeground1 }}>{error}</Text>}
      {enabled ? children : null}
    </div>
  );
}

/** The retention change's effect on one item's existing points. */
function RetentionPreview({ items, saved, draft, now }: { items: ProtectedItem[]; saved: IaasVmPolicyProperties; draft: IaasVmPolicyProperties; now: Date }) {
  const styles = useStyles();
  const { arm } = useApp();
  const [itemId, setItemId] = useState(items[0]?.id ?? '');
  const points = useLoad(`preview-points:${itemId}`, () => (itemId === '' ? Promise.resolve([] as RecoveryPoint[]) : arm.list<RecoveryPoint>(`${itemId}/recoveryPoints`, API_VERSIONS.backup)));
  const result = useMemo((): { previews?: PointPreview[]; problem?: string } => {
    if (points.data === undefined) return {};
    try {
      return { previews: previewRetention(saved, draft, points.data, now) };
    } catch (err) {
      return { problem: err instanceof Error ? err.message : String(err) };
    }
  }, [points.data, saved, draft, now]);
  const summary = result.previews === undefined ? undefined : summarizePreview(result.previews);
  return (
    <Section title="What this change does to existing recovery points">
      {items.length === 0 ? (
        <Text>No item uses this policy yet: nothing to preview.</Text>
      ) : (
        <>
          <Field label="Backup item">
            <Select value={itemId} onChange={(_e, d) => setItemId(d.value)}>
              {items.map((item) => (
                <option key={item.id} value={item.id}>
                  {item.properties.friendlyName}
                </option>
              ))}
            </Select>
          </Field>
          {result.problem === undefined ? null : <Notice intent="warning" title="No preview">{result.problem}</Notice>}
          {summary === undefined ? null : (
            <Text data-testid="preview-summary">
              {summary.expiresNow} would expire at the next cleanup, {summary.keptNow} would be kept again, {summary.expiryChanged} would be kept until another time, {summary.unchanged} unchanged.
            </Text>
          )}
          {result.previews === undefined || result.previews.length === 0 ? null : (
            <TableFrame label="Retention preview">
              <Table aria-label="Retention preview" size="small">
                <TableHeader>
                  <TableRow>
                    <TableHeaderCell>Recovery point</TableHeaderCell>
                    <TableHeaderCell>Now</TableHeaderCell>
                    <TableHeaderCell>With the change</TableHeaderCell>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {result.previews.map((preview) => (
                    <TableRow key={preview.recoveryPointId} data-testid="preview-row">
                      <TableCell>{formatTime(preview.time)}</TableCell>
                      <TableCell>{preview.current.reason}</TableCell>
                      <TableCell>
                        <span className={preview.change === 'expiresNow' ? styles.expires : preview.change === 'keptNow' ? styles.kept : undefined}>
                          {preview.change === 'expiresNow' ? 'Expires. ' : preview.change === 'keptNow' ? 'Kept. ' : ''}
                        </span>
                        {preview.draft.reason}
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </TableFrame>
          )}
        </>
      )}
    </Section>
  );
}
