/** The page before sign-in: what signs you in, and a button to go there. */
import { Button, Card, Text, makeStyles, tokens } from '@fluentui/react-components';
import { useState } from 'react';
import { currentPath, startLocalSignIn } from '../auth/local-sign-in';
import type { SignInSettings } from '../auth/session';
import { Notice } from '../components/common';

const useStyles = makeStyles({
  page: { minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', padding: '16px', backgroundColor: tokens.colorNeutralBackground2 },
  card: { maxWidth: '440px', width: '100%', padding: '24px', display: 'flex', flexDirection: 'column', gap: '16px' },
});

export function SignInPage({ settings, problem, entraSignIn }: { settings?: SignInSettings; problem?: string; entraSignIn?: () => Promise<void> }) {
  const styles = useStyles();
  const [busy, setBusy] = useState(false);
  const signIn = async () => {
    setBusy(true);
    if (settings?.kind === 'local') await startLocalSignIn(settings, currentPath() === '/dashboard/signed-in' ? '/dashboard/' : currentPath());
    else if (entraSignIn !== undefined) await entraSignIn();
  };
  return (
    <main className={styles.page}>
      <Card className={styles.card}>
        <Text as="h1" size={700} weight="semibold">
          Kluis
        </Text>
        <Text>Backup center for your virtual machines: vaults, backup items, jobs, restores and policies.</Text>
        {problem === undefined ? null : (
          <Notice intent="error" title="Sign-in failed">
            {problem}
          </Notice>
        )}
        {settings?.kind === 'none' ? (
          <Notice intent="warning" title="Sign-in is not configured">
            Set KLUIS_DASHBOARD_CLIENT_ID (an Entra ID app registration, with KLUIS_AUTH_TENANT_ID) for this app, or run it under kluis-host, whose local identity
            endpoint signs users in.
          </Notice>
        ) : null}
        {settings === undefined || settings.kind === 'none' ? null : (
          <>
            <Text>{settings.kind === 'local' ? "You sign in with an account of Kluis's local identity endpoint." : 'You sign in with your Microsoft Entra ID account.'}</Text>
            <Button appearance="primary" onClick={() => void signIn()} disabled={busy}>
              Sign in
            </Button>
          </>
        )}
      </Card>
    </main>
  );
}
