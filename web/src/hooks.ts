/** Data loading for pages: one loader per view, optional polling, and the caller's permissions at a scope. */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ArmError } from './api/arm';
import { API_VERSIONS } from './api/paths';
import type { ArmList, Permission } from './api/types';
import { useApp } from './app-context';
import { EVERYTHING, type AccessView } from './logic/permissions';

export interface Loaded<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` when `key` changes, and every `pollMs` while `poll` says so (e.g. while a job runs).
 * A failed poll keeps the last data and shows the error.
 */
export function useLoad<T>(key: string, load: () => Promise<T>, options: { pollMs?: number; poll?: (data: T) => boolean } = {}): Loaded<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: unknown; loading: boolean }>({ key, loading: true });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const optionsRef = useRef(options);
  optionsRef.current = options;

  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const data = await loadRef.current();
        if (cancelled) return;
        setState({ key, data, loading: false });
        const { pollMs, poll } = optionsRef.current;
        if (pollMs !== undefined && (poll === undefined || poll(data))) timer = setTimeout(run, pollMs);
      } catch (error) {
        if (cancelled) return;
        setState((previous) => ({ key, data: previous.key === key ? previous.data : undefined, error, loading: false }));
      }
    };
    setState((previous) => ({ key, loading: true, data: previous.key === key ? previous.data : undefined }));
    void run();
    return () => {
      cancelled = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [key, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const current = state.key === key ? state : { loading: true };
  return { ...current, reload };
}

/**
 * The caller's permissions at a scope (a vault's or resource group's id), from ARM's permissions API.
 * A Kluis without roles answers 404 there: then every principal may do everything (the API decides).
 */
export function usePermissions(scopeId: string | undefined, scopeName: string): AccessView {
  const { arm } = useApp();
  const loaded = useLoad(`permissions:${scopeId ?? ''}`, async () => {
    if (scopeId === undefined) return { known: false, permissions: EVERYTHING };
    try {
      const list = await arm.get<ArmList<Permission>>(`${scopeId}/providers/Microsoft.Authorization/permissions`, API_VERSIONS.authorization);
      return { known: true, permissions: list.value.map((p) => ({ actions: p.actions ?? [], notActions: p.notActions ?? [] })) };
    } catch (err) {
      if (err instanceof ArmError && (err.status === 404 || err.status === 400)) return { known: false, permissions: EVERYTHING };
      throw err;
    }
  });
  // Until the answer comes, nothing is allowed (buttons stay disabled rather than flash enabled).
  const problem = loaded.data === undefined && loaded.error !== undefined ? (loaded.error instanceof Error ? loaded.error.message : String(loaded.error)) : undefined;
  return { known: loaded.data?.known ?? false, permissions: loaded.data?.permissions ?? [], scopeName, pending: loaded.data === undefined && problem === undefined, ...(problem === undefined ? {} : { problem }) };
}
