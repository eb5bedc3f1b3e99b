/**
 * A small router for the dashboard's paths under /dashboard/: the History API, a location hook, links
 * that keep the page (and keyboard behaviour of real anchors), and route patterns with named parts.
 */
import { Link as FluentLink } from '@fluentui/react-components';
import { useSyncExternalStore, type MouseEvent, type ReactNode } from 'react';

const CHANGE = 'kluis:navigate';

function subscribe(callback: () => void): () => void {
  window.addEventListener('popstate', callback);
  window.addEventListener(CHANGE, callback);
  return () => {
    window.removeEventListener('popstate', callback);
    window.removeEventListener(CHANGE, callback);
  };
}

const snapshot = () => `${window.location.pathname}${window.location.search}`;

export function useLocation(): { pathname: string; search: string } {
  const current = useSyncExternalStore(subscribe, snapshot);
  const url = new URL(current, window.location.origin);
  return { pathname: url.pathname, search: url.search };
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(CHANGE));
  window.scrollTo(0, 0);
}

export interface RouterLinkProps {
  href: string;
  children: ReactNode;
  className?: string;
  'aria-current'?: 'page';
}

export function Link({ href, children, ...rest }: RouterLinkProps) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return (
    <FluentLink href={href} onClick={onClick} {...rest}>
      {children}
    </FluentLink>
  );
}

/** `/dashboard/vaults/:sub/:rg/:vault` against a path: the named parts (decoded), or undefined. */
export function matchPath(pattern: string, pathname: string): Record<string, string> | undefined {
  const parts = pattern.split('/').filter(Boolean);
  const segments = pathname.split('/').filter(Boolean);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i];
    let value: string;
    try {
      value = decodeURIComponent(segments[i]);
    } catch {
      return undefined;
    }
    if (part.startsWith(':')) params[part.slice(1)] = value;
    else if (part.toLowerCase() !== value.toLowerCase()) return undefined;
  }
  return params;
}
