/** Building blocks every page uses: page frame, errors with their recommendation, guarded buttons, badges. */
import {
  Badge,
  Button,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Spinner,
  Text,
  makeStyles,
  tokens,
  type ButtonProps,
} from '@fluentui/react-components';
import { useId, type ReactNode } from 'react';
import { ArmError } from '../api/arm';
import { can, reason, type AccessView, type ActionName } from '../logic/permissions';

const useStyles = makeStyles({
  page: { display: 'flex', flexDirection: 'column', gap: '16px', maxWidth: '1200px' },
  header: { display: 'flex', flexWrap: 'wrap', alignItems: 'center', justifyContent: 'space-between', gap: '12px' },
  actions: { display: 'flex', flexWrap: 'wrap', gap: '8px', alignItems: 'flex-start' },
  guard: { display: 'inline-flex', flexDirection: 'column', alignItems: 'flex-start', gap: '4px', maxWidth: '320px' },
  // Action names are long words without spaces: they wrap anywhere rather than run under the next button.
  reason: { color: tokens.colorNeutralForeground2, fontSize: tokens.fontSizeBase200, overflowWrap: 'anywhere' },
  section: { display: 'flex', flexDirection: 'column', gap: '8px' },
  tableWrap: { overflowX: 'auto', width: '100%' },
});

export function Page({ title, subtitle, actions, children }: { title: string; subtitle?: ReactNode; actions?: ReactNode; children: ReactNode }) {
  const styles = useStyles();
  return (
    <section className={styles.page} aria-labelledby="page-title">
      <div className={styles.header}>
        <div>
          <Text as="h1" id="page-title" size={700} weight="semibold" block>
            {title}
          </Text>
          {subtitle === undefined ? null : <Text block>{subtitle}</Text>}
        </div>
        {actions === undefined ? null : <div className={styles.actions}>{actions}</div>}
      </div>
      {children}
    </section>
  );
}

export function Section({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  const styles = useStyles();
  const id = useId();
  return (
    <section className={styles.section} aria-labelledby={id}>
      <div className={styles.header}>
        <Text as="h2" id={id} size={500} weight="semibold">
          {title}
        </Text>
        {actions}
      </div>
      {children}
    </section>
  );
}

/** A wide table scrolls sideways on a phone instead of squeezing. */
/**
 * Lets a wide table scroll sideways inside the page. The frame is a tab stop, so keyboard users can
 * scroll it too (a scrollable region must be focusable), named after its table.
 */
export function TableFrame({ label, children }: { label: string; children: ReactNode }) {
  const styles = useStyles();
  return (
    <div className={styles.tableWrap} role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return <Spinner size="small" label={label} labelPosition="after" />;
}

/** An error as the API gave it: code, message and Kluis's recommendation. */
export function ErrorBar({ error, title = 'The request failed' }: { error: unknown; title?: string }) {
  if (error === undefined || error === null) return null;
  const arm = error instanceof ArmError ? error : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <MessageBar intent="error" role="alert" layout="multiline">
      <MessageBarBody>
        <MessageBarTitle>{arm === undefined ? title : `${title}: ${arm.code}`}</MessageBarTitle>
        {message}
        {arm?.recommendation === undefined ? null : <div>Recommendation: {arm.recommendation}</div>}
      </MessageBarBody>
    </MessageBar>
  );
}

export function Notice({ intent = 'info', title, children }: { intent?: 'info' | 'warning' | 'success' | 'error'; title?: string; children: ReactNode }) {
  return (
    <MessageBar intent={intent} layout="multiline">
      <MessageBarBody>
        {title === undefined ? null : <MessageBarTitle>{title}</MessageBarTitle>}
        {children}
      </MessageBarBody>
    </MessageBar>
  );
}

/**
 * A button for an action the caller's roles may not allow: disabled, with the reason written under
 * it (and tied to it for screen readers), when they do not.
 */
export function GuardedButton({ access, action, children, ...props }: { access: AccessView; action: ActionName; children: ReactNode } & ButtonProps) {
  const styles = useStyles();
  const id = useId();
  const why = reason(access, action);
  const allowed = can(access, action);
  return (
    <span className={styles.guard}>
      <Button {...props} disabled={!allowed || props.disabled === true} aria-describedby={why === undefined ? undefined : id} data-action={action}>
        {children}
      </Button>
      {why === undefined ? null : (
        <span id={id} className={styles.reason} data-testid="permission-reason">
          {why}
        </span>
      )}
    </span>
  );
}

const STATUS_COLORS: Record<string, 'success' | 'warning' | 'danger' | 'informative' | 'subtle' | 'brand'> = {
  Healthy: 'success',
  Completed: 'success',
  Passed: 'success',
  Protected: 'success',
  Valid: 'success',
  CompletedWithWarnings: 'warning',
  Warning: 'warning',
  IRPending: 'informative',
  InProgress: 'brand',
  Cancelling: 'warning',
  Failed: 'danger',
  ProtectionError: 'danger',
  ActionRequired: 'danger',
  Cancelled: 'subtle',
  SoftDeleted: 'subtle',
  ProtectionStopped: 'warning',
  Deleted: 'subtle',
  Connected: 'success',
  Disconnected: 'danger',
  Active: 'success',
  Expired: 'warning',
  Deprovisioned: 'danger',
};

const STATUS_WORDS: Record<string, string> = {
  IRPending: 'Initial backup pending',
  CompletedWithWarnings: 'Completed with warnings',
  InProgress: 'In progress',
  ProtectionStopped: 'Protection stopped',
  ProtectionError: 'Protection error',
  SoftDeleted: 'Soft-deleted',
  ActionRequired: 'Action required',
};

export function StatusBadge({ status }: { status: string | undefined }) {
  if (status === undefined) return <Text>—</Text>;
  return (
    <Badge appearance="tint" color={STATUS_COLORS[status] ?? 'informative'} shape="rounded">
      {STATUS_WORDS[status] ?? status}
    </Badge>
  );
}
