/**
 * The dashboard's entry: reads how to sign in (/dashboard/config.json), finishes a sign-in coming
 * back from the identity provider, then shows the sign-in page or the app.
 */
import { FluentProvider, webLightTheme } from '@fluentui/react-components';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { completeLocalSignIn, localSession, SIGNED_IN_PATH } from './auth/local-sign-in';
import type { DashboardConfig, Session } from './auth/session';
import { SignInPage } from './pages/sign-in';

async function start(): Promise<void> {
  const root = createRoot(document.getElementById('root') as HTMLElement);
  const render = (content: React.ReactNode) =>
    root.render(
      <StrictMode>
        <FluentProvider theme={webLightTheme}>{content}</FluentProvider>
      </StrictMode>,
    );
  let config: DashboardConfig;
  try {
    const response = await fetch('/dashboard/config.json', { cache: 'no-store' });
    config = (await response.json()) as DashboardConfig;
  } catch {
    render(<SignInPage problem="The dashboard could not read its settings (/dashboard/config.json)." />);
    return;
  }
  const signIn = config.signIn;
  let session: Session | undefined;
  let problem: string | undefined;
  let entraSignIn: (() => Promise<void>) | undefined;
  if (signIn.kind === 'local') {
    if (window.location.pathname === SIGNED_IN_PATH) {
      try {
        const returnTo = await completeLocalSignIn(signIn, new URL(window.location.href));
        window.history.replaceState(null, '', returnTo.startsWith('/dashboard/') ? returnTo : '/dashboard/');
      } catch (err) {
        window.history.replaceState(null, '', '/dashboard/');
        problem = err instanceof Error ? err.message : String(err);
      }
    }
    session = localSession(signIn);
  } else if (signIn.kind === 'entra') {
    try {
      const { entraSession } = await import('./auth/entra-sign-in');
      const entra = await entraSession(signIn);
      session = entra.session;
      entraSignIn = entra.signIn;
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
  }
  if (session === undefined) {
    render(<SignInPage settings={signIn} problem={problem} entraSignIn={entraSignIn} />);
    return;
  }
  render(<App session={session} />);
}

void start();
