/** What every page needs: the ARM client (with the user's token), the session and the clock. */
import { createContext, useContext } from 'react';
import type { ArmClient } from './api/arm';
import type { Session } from './auth/session';

export interface AppContextValue {
  arm: ArmClient;
  session: Session;
  now: () => Date;
}

export const AppContext = createContext<AppContextValue | undefined>(undefined);

export function useApp(): AppContextValue {
  const value = useContext(AppContext);
  if (value === undefined) throw new Error('useApp outside the signed-in app');
  return value;
}
