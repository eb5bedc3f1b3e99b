/**
 * The app's entry point (package.json `main`): registers the functions of the role KLUIS_ROLE names. `vm` (default):
 * every module under functions/ except server-role/ — the vault, Azure VM backup and the endpoints backup servers
 * call; `server`: only server-role/ — a backup server's scheduler, its group-run orchestration, activities and
 * health route (issue 16). Modules are found on disk, as a `main` glob would find them, so a new function file
 * registers without being listed here.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { appRoleOf, type AppRole } from '../lib/config';

export const SERVER_ROLE_FOLDER = 'server-role';

/** The compiled modules under `dir` that register `role`'s functions, sorted (this entry point left out). */
export function roleModules(dir: string, role: AppRole): string[] {
  const modules: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.js') && full !== path.join(dir, 'index.js')) modules.push(full);
    }
  };
  walk(dir);
  const serverFolder = path.join(dir, SERVER_ROLE_FOLDER) + path.sep;
  return modules.filter((file) => file.startsWith(serverFolder) === (role === 'server')).sort();
}

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the worker loads CommonJS entry points; so does this one
for (const file of roleModules(__dirname, appRoleOf(process.env))) require(file);
