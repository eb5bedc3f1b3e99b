import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { appRoleOf, loadConfig } from '../../lib/config';
import { roleModules } from '../../functions/index';

describe('KLUIS_ROLE', () => {
  it('is vm by default, server when asked, and refuses anything else naming the setting', () => {
    expect(appRoleOf({})).toBe('vm');
    expect(appRoleOf({ KLUIS_ROLE: '' })).toBe('vm');
    expect(appRoleOf({ KLUIS_ROLE: 'server' })).toBe('server');
    expect(() => appRoleOf({ KLUIS_ROLE: 'vault' })).toThrow(/KLUIS_ROLE/);
    const config = loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', KLUIS_ROLE: 'server', KLUIS_SERVER_DATA: '/var/lib/kluis-server', KLUIS_SERVER_PASSPHRASE: 'a passphrase of the server' });
    expect([config.role, config.backupServer]).toEqual(['server', { dataDir: '/var/lib/kluis-server', passphrase: 'a passphrase of the server' }]);
    expect(loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }).backupServer).toEqual({ dataDir: '.kluis-server' });
  });

  it("selects the compiled function modules of the role: server-role/ only for a server, everything else for vm", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kluis-roles-'));
    try {
      for (const file of ['index.js', 'deps.js', 'http/backups.js', 'http/arm/vaults.js', 'timers/backup-scheduler.js', 'server-role/scheduler.js', 'server-role/activities.js', 'server-role/activities.js.map', 'types.d.ts']) {
        mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        writeFileSync(path.join(dir, file), '');
      }
      const relative = (role: 'vm' | 'server') => roleModules(dir, role).map((f) => path.relative(dir, f).split(path.sep).join('/'));
      expect(relative('vm')).toEqual(['deps.js', 'http/arm/vaults.js', 'http/backups.js', 'timers/backup-scheduler.js']);
      expect(relative('server')).toEqual(['server-role/activities.js', 'server-role/scheduler.js']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
