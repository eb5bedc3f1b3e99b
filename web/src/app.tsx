/** The signed-in dashboard: the routes and the pages they show. */
import { useMemo, type ReactElement } from 'react';
import { ArmClient } from './api/arm';
import type { ItemRef, VaultRef } from './api/paths';
import { AppContext } from './app-context';
import { currentPath } from './auth/local-sign-in';
import type { Session } from './auth/session';
import { Shell } from './components/shell';
import { ItemPage } from './pages/item';
import { ItemsPage } from './pages/items';
import { JobPage } from './pages/job';
import { JobsPage } from './pages/jobs';
import { NewVaultPage } from './pages/new-vault';
import { PoliciesPage } from './pages/policies';
import { PolicyPage } from './pages/policy';
import { ProtectPage } from './pages/protect';
import { RestorePage } from './pages/restore';
import { ServerPage } from './pages/server';
import { ServersPage } from './pages/servers';
import { VaultOverviewPage } from './pages/vault-overview';
import { VaultPropertiesPage } from './pages/vault-properties';
import { VaultsPage } from './pages/vaults';
import { matchPath, useLocation } from './router';
import { Page, Notice } from './components/common';

const VAULT = '/dashboard/vaults/:subscriptionId/:resourceGroup/:vaultName';
const ITEM = `${VAULT}/items/:containerName/:itemName`;

type Route = { pattern: string; render: (params: Record<string, string>, search: string) => ReactElement; vault?: boolean };

const vaultOf = (p: Record<string, string>): VaultRef => ({ subscriptionId: p.subscriptionId, resourceGroup: p.resourceGroup, vaultName: p.vaultName });
const itemOf = (p: Record<string, string>): ItemRef => ({ ...vaultOf(p), containerName: p.containerName, itemName: p.itemName });

const ROUTES: Route[] = [
  { pattern: '/dashboard', render: () => <VaultsPage /> },
  { pattern: '/dashboard/vaults', render: () => <VaultsPage /> },
  { pattern: '/dashboard/vaults/new', render: () => <NewVaultPage /> },
  { pattern: VAULT, vault: true, render: (p) => <VaultOverviewPage vault={vaultOf(p)} /> },
  { pattern: `${VAULT}/properties`, vault: true, render: (p) => <VaultPropertiesPage vault={vaultOf(p)} /> },
  { pattern: `${VAULT}/items`, vault: true, render: (p) => <ItemsPage vault={vaultOf(p)} /> },
  { pattern: ITEM, vault: true, render: (p) => <ItemPage item={itemOf(p)} /> },
  { pattern: `${ITEM}/restore`, vault: true, render: (p, search) => <RestorePage item={itemOf(p)} initialPoint={new URLSearchParams(search).get('point') ?? undefined} /> },
  { pattern: `${VAULT}/protect`, vault: true, render: (p) => <ProtectPage vault={vaultOf(p)} /> },
  { pattern: `${VAULT}/jobs`, vault: true, render: (p, search) => <JobsPage vault={vaultOf(p)} search={search} /> },
  { pattern: `${VAULT}/jobs/:jobName`, vault: true, render: (p) => <JobPage vault={vaultOf(p)} jobName={p.jobName} /> },
  { pattern: `${VAULT}/policies`, vault: true, render: (p) => <PoliciesPage vault={vaultOf(p)} /> },
  { pattern: `${VAULT}/policies/new`, vault: true, render: (p) => <PolicyPage vault={vaultOf(p)} /> },
  { pattern: `${VAULT}/policies/:policyName`, vault: true, render: (p) => <PolicyPage vault={vaultOf(p)} policyName={p.policyName} /> },
  { pattern: `${VAULT}/servers`, vault: true, render: (p) => <ServersPage vault={vaultOf(p)} /> },
  { pattern: `${VAULT}/servers/:serverName`, vault: true, render: (p) => <ServerPage vault={vaultOf(p)} serverName={p.serverName} /> },
];

export function App({ session }: { session: Session }) {
  const arm = useMemo(
    () =>
      new ArmClient(session.token, () => {
        // The API refused the token: show the sign-in page, which comes back to this page.
        sessionStorage.removeItem('kluis.session');
        window.location.assign(currentPath());
      }),
    [session],
  );
  const context = useMemo(() => ({ arm, session, now: () => new Date() }), [arm, session]);
  const { pathname, search } = useLocation();
  let content: ReactElement | undefined;
  let vault: VaultRef | undefined;
  for (const route of ROUTES) {
    const params = matchPath(route.pattern, pathname);
    if (params === undefined) continue;
    content = route.render(params, search);
    if (route.vault) vault = vaultOf(params);
    break;
  }
  return (
    <AppContext.Provider value={context}>
      <Shell vault={vault}>
        {content ?? (
          <Page title="Not found">
            <Notice intent="warning">The dashboard has no page at {pathname}.</Notice>
          </Page>
        )}
      </Shell>
    </AppContext.Provider>
  );
}
