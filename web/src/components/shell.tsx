/**
 * The frame around every page: the product bar (name, who is signed in, sign out), the vault's
 * navigation when a vault is open, and the page. Readable from phone width up: the navigation wraps
 * above the page below 760 px.
 */
import { Button, Text, makeStyles, tokens, mergeClasses, useFocusFinders } from '@fluentui/react-components';
import type { ReactNode } from 'react';
import type { VaultRef } from '../api/paths';
import { pages } from '../api/paths';
import { useApp } from '../app-context';
import { Link, useLocation } from '../router';

const useStyles = makeStyles({
  app: { minHeight: '100vh', display: 'flex', flexDirection: 'column', backgroundColor: tokens.colorNeutralBackground2 },
  bar: {
    display: 'flex',
    flexWrap: 'wrap',
    alignItems: 'center',
    gap: '12px',
    padding: '8px 16px',
    backgroundColor: tokens.colorBrandBackground,
    color: tokens.colorNeutralForegroundOnBrand,
  },
  brand: { color: tokens.colorNeutralForegroundOnBrand, fontWeight: tokens.fontWeightSemibold, fontSize: tokens.fontSizeBase400, textDecorationLine: 'none' },
  spacer: { flexGrow: 1 },
  user: { color: tokens.colorNeutralForegroundOnBrand },
  signOut: { color: tokens.colorNeutralForegroundOnBrand },
  body: { display: 'flex', flexGrow: 1, '@media (max-width: 760px)': { flexDirection: 'column' } },
  nav: {
    width: '220px',
    flexShrink: 0,
    padding: '16px 8px',
    backgroundColor: tokens.colorNeutralBackground1,
    borderRight: `1px solid ${tokens.colorNeutralStroke2}`,
    '@media (max-width: 760px)': { width: 'auto', borderRight: 'none', borderBottom: `1px solid ${tokens.colorNeutralStroke2}`, padding: '8px' },
  },
  navList: { listStyleType: 'none', margin: 0, padding: 0, display: 'flex', flexDirection: 'column', gap: '2px', '@media (max-width: 760px)': { flexDirection: 'row', flexWrap: 'wrap' } },
  navLink: { display: 'block', padding: '8px 12px', borderRadius: tokens.borderRadiusMedium, textDecorationLine: 'none', color: tokens.colorNeutralForeground1 },
  navCurrent: { backgroundColor: tokens.colorNeutralBackground1Selected, fontWeight: tokens.fontWeightSemibold },
  vaultName: { padding: '0 12px 8px', display: 'block', wordBreak: 'break-all' },
  main: { flexGrow: 1, padding: '24px', minWidth: 0, '@media (max-width: 760px)': { padding: '12px' } },
});

export function Shell({ vault, children }: { vault?: VaultRef; children: ReactNode }) {
  const styles = useStyles();
  // Holds Fluent's focus manager (tabster) for the app's life. Tabster disposes itself when its last
  // user unmounts, cancelling a closed dialog's pending clean-up: after a dialog's action opened another
  // page, the whole page stayed aria-hidden, invisible to screen readers (tabster#530, fluentui#35139).
  useFocusFinders();
  const { session } = useApp();
  const { pathname } = useLocation();
  const links = vault === undefined ? [] : [
    { href: pages.vault(vault), label: 'Overview', exact: true },
    { href: pages.items(vault), label: 'Backup items' },
    { href: pages.protect(vault), label: 'Protect VMs' },
    { href: pages.jobs(vault), label: 'Backup jobs' },
    { href: pages.policies(vault), label: 'Backup policies' },
    { href: pages.servers(vault), label: 'Backup servers' },
    { href: pages.vaultProperties(vault), label: 'Properties' },
  ];
  const isCurrent = (href: string, exact?: boolean) => (exact ? pathname === href : pathname === href || pathname.startsWith(`${href}/`));
  return (
    <div className={styles.app}>
      <header className={styles.bar}>
        <Link href={pages.vaults()} className={styles.brand}>
          Kluis · Backup center
        </Link>
        <span className={styles.spacer} />
        <Text className={styles.user} data-testid="signed-in-user">
          {session.user.name}
          {session.user.userName !== undefined && session.user.userName !== session.user.name ? ` (${session.user.userName})` : ''}
        </Text>
        <Button appearance="transparent" className={styles.signOut} onClick={() => session.signOut()}>
          Sign out
        </Button>
      </header>
      <div className={styles.body}>
        {vault === undefined ? null : (
          <nav className={styles.nav} aria-label="Vault">
            <Text className={styles.vaultName} weight="semibold">
              {vault.vaultName}
            </Text>
            <ul className={styles.navList}>
              <li>
                <Link href={pages.vaults()} className={styles.navLink}>
                  All vaults
                </Link>
              </li>
              {links.map((link) => (
                <li key={link.href}>
                  <Link href={link.href} className={mergeClasses(styles.navLink, isCurrent(link.href, link.exact) && styles.navCurrent)} aria-current={isCurrent(link.href, link.exact) ? 'page' : undefined}>
                    {link.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
        )}
        <main className={styles.main} id="main">
          {children}
        </main>
      </div>
    </div>
  );
}
