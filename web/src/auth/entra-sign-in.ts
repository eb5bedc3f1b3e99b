/**
 * Sign-in with Entra ID through MSAL browser (loaded only when config.json asks for it): redirect
 * sign-in, tokens from MSAL's session-storage cache, renewed silently, interactively when Entra asks.
 * The app registration needs a "Single-page application" redirect URI `{origin}/dashboard/`.
 */
import type { Session } from './session';
import { claimsOf, userOfClaims } from './session';

export interface EntraSignInSettings {
  clientId: string;
  authority: string;
  scopes: string[];
}

/** The session after MSAL handled a possible redirect answer; undefined until the user signs in. */
export async function entraSession(settings: EntraSignInSettings): Promise<{ session?: Session; signIn: () => Promise<void> }> {
  const msal = await import('@azure/msal-browser');
  const app = new msal.PublicClientApplication({
    auth: { clientId: settings.clientId, authority: settings.authority, redirectUri: `${window.location.origin}/dashboard/` },
    cache: { cacheLocation: 'sessionStorage' },
  });
  await app.initialize();
  const answer = await app.handleRedirectPromise();
  const account = answer?.account ?? app.getAllAccounts()[0];
  const signIn = () => app.loginRedirect({ scopes: settings.scopes });
  if (account === undefined || account === null) return { signIn };
  app.setActiveAccount(account);
  const token = async () => {
    try {
      return (await app.acquireTokenSilent({ scopes: settings.scopes, account })).accessToken;
    } catch (err) {
      if (err instanceof msal.InteractionRequiredAuthError) await app.acquireTokenRedirect({ scopes: settings.scopes, account });
      throw err;
    }
  };
  const first = await token();
  return {
    signIn,
    session: {
      user: userOfClaims({ ...claimsOf(first), name: account.name ?? account.username, upn: account.username }),
      token,
      signOut: () => void app.logoutRedirect({ account, postLogoutRedirectUri: `${window.location.origin}/dashboard/` }),
    },
  };
}
