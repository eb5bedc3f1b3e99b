/**
 * `kluis-server`: the backup server role (issue 16) on this machine, its data in a local folder
 * (`<data>/server` state, `<data>/repository` the encrypted local copies).
 *
 *   kluis-server credentials --vault VAULT_ID [--host URL] [--out FILE|DIR]   (download a vault credentials file)
 *   kluis-server register --vault-credentials FILE --server-name NAME [--passphrase-file FILE] [--data DIR]
 *   kluis-server protect  --group NAME (--folder PATH [--include GLOB]... [--exclude GLOB]... | --image FILE) [--path-style posix|windows]
 *                         [--source-name NAME] [--workload FileFolder] [--retention-days 1-5] [--daily-at HH:MM]
 *                         [--online-retention-days 1-9999] [--online-at HH:MM]
 *                         [--online-weekly-weeks N] [--online-monthly-months N] [--online-yearly-years N]   (GFS)
 *   kluis-server run      [--once] [--port P]   (the server role on the embedded host: each minute a check-in and one
 *                         orchestration per due group — local points, 1–5 day local retention, the vault copy;
 *                         --once: one pass in this process, no host)
 *   kluis-server remember-key / forget-key   (unattended unlock after a restart: the master key wrapped with a machine key)
 *   kluis-server points
 *   kluis-server restore  --snapshot ID --target DIR [--path P]... [--target-style posix|windows] [--rename-invalid-names] [--image-format raw|vhd]
 *   kluis-server verify
 *   kluis-server unregister --delete-vault-data   (the vault deletes this server's copies; local copies stay)
 *
 * Direct mode (the MARS agent: files and folders straight to the vault, no local copy): `register --mode direct`,
 * then `protect --folder PATH [--at HH:MM]... [--weekdays Mon,Thu] [--online-retention-days N] [--online-weekly-weeks N]…`,
 * `run`, `points [--from-machine NAME --source-passphrase-file FILE]`, `restore … [--from-machine …]`, `verify`,
 * `remember-key` / `forget-key`, `unregister` (emulator/backup-server/direct-commands.ts).
 *
 * The passphrase comes from --passphrase-file or KLUIS_SERVER_PASSPHRASE; `register` without one generates a
 * passphrase and prints it once. It is never stored: a lost passphrase cannot be recovered. `register` (unless
 * --no-remember-key) and `remember-key` wrap the repository's master key with a random machine key kept owner-only
 * in `<data>/server/machine-key`, so `run` and the other commands unlock without the passphrase on this machine; a
 * data folder copied without that file still needs the passphrase; `forget-key` removes both.
 *
 * `credentials` and `unregister` call the ARM API as a signed-in user: a token from KLUIS_ACCESS_TOKEN, or from the
 * managed identity endpoint in MSI_ENDPOINT / MSI_SECRET (what `npm start` prints to sign in).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { restoreSnapshot } from '../../lib/backup-server/repository/restore-snapshot';
import { verifyRepository } from '../../lib/backup-server/repository/verify-repository';
import { isKluisErrorLike, ERROR_CODES } from '../../lib/domain/errors';
import { NodeLocalFileSystem } from '../../lib/stores/file/local-file-system';
import { backupServerAt, directAgentAt, isDirectMode } from './server-at';
import { startServerHost, type ServerHostOptions } from './server-host';
import { directPoints, directProtect, directRememberKey, directRestore, directRun, checkDirectUnlock, directUnregister, directVerify } from './direct-commands';
import type { BackupServer } from '../../lib/backup-server/server/backup-server';
import type { Repository } from '../../lib/backup-server/repository/repository';
import { UNSUPPORTED_WORKLOADS, type ServerWorkloadType } from '../../lib/backup-server/domain/protection-group';
import type { PathStyle } from '../../lib/backup-server/domain/path-rules';
import type { ImageRestoreFormat } from '../../lib/backup-server/domain/disk-image';
import { ArmClient, ArmRequestError, msiTokenSource, type TokenSource } from '../demo/arm-client';
import { downloadVaultCredentials, parseVaultId, writeVaultCredentials } from './vault-credentials-download';

type Out = (line: string) => void;

/** api-version of RegisteredIdentities_Delete. */
const REGISTERED_IDENTITIES_API_VERSION = '2023-04-01';

/** The signed-in user's tokens for the ARM API: KLUIS_ACCESS_TOKEN, else the managed identity endpoint. */
function tokenSourceFromEnv(env: NodeJS.ProcessEnv = process.env): TokenSource {
  const token = env.KLUIS_ACCESS_TOKEN;
  if (token !== undefined && token !== '') return () => Promise.resolve({ token, expiresOnInMs: Date.now() + 3_600_000 });
  if (env.MSI_ENDPOINT !== undefined && env.MSI_SECRET !== undefined) return msiTokenSource(env.MSI_ENDPOINT, env.MSI_SECRET);
  throw new Error('sign in first: set KLUIS_ACCESS_TOKEN, or MSI_ENDPOINT and MSI_SECRET (the lines npm start prints)');
}

function armClient(host: string): ArmClient {
  return new ArmClient(host.replace(/\/+$/, ''), { tokenSource: tokenSourceFromEnv() });
}

const serverAt = backupServerAt;

function passphraseFrom(file: string | undefined): string | undefined {
  if (file !== undefined) return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  const fromEnv = process.env.KLUIS_SERVER_PASSPHRASE;
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

function requiredPassphrase(file: string | undefined): string {
  const passphrase = passphraseFrom(file);
  if (passphrase === undefined) throw new Error('give the passphrase with --passphrase-file or KLUIS_SERVER_PASSPHRASE');
  return passphrase;
}

/** The passphrase when one is given; else the key remembered on this machine; else a clear error. */
async function unlockServer(server: BackupServer, file: string | undefined): Promise<Repository> {
  const passphrase = passphraseFrom(file);
  if (passphrase !== undefined) return server.unlock(passphrase);
  try {
    return await server.unlockUnattended();
  } catch (err) {
    if (isKluisErrorLike(err) && err.code === 'KluisUnattendedUnlockUnavailable') {
      // A plain Error: bin/kluis-server.js exits silently on commander's own errors.
      throw new Error(`${err.message}: give the passphrase with --passphrase-file or KLUIS_SERVER_PASSPHRASE`, { cause: err });
    }
    throw err;
  }
}

/** `run` without --once: the server role on the embedded host until Ctrl+C (server-host.ts). */
async function runOnHost(options: ServerHostOptions, how: string, out: Out): Promise<void> {
  const host = await startServerHost(options);
  const what = isDirectMode(options.dataDir)
    ? `this machine (direct mode) runs on the embedded host (health: ${host.origin}/health). Every minute its due backups go straight to the vault`
    : `the backup server runs on the embedded host (health: ${host.origin}/health). Every minute it checks in with the vault and starts one orchestration per due protection group`;
  out(`${how}: ${what}; log in ${path.resolve(options.dataDir, 'host.log')}. Ctrl+C stops it.`);
  await new Promise<void>((resolve) => {
    const stop = () => void host.stop().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function days(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('a whole number of days');
  return n;
}

export async function main(argv: string[], out: Out = (line) => process.stdout.write(`${line}\n`)): Promise<void> {
  const program = new Command().name('kluis-server').description('Kluis backup server: protect folders on this machine, first on its disks, then in a vault').exitOverride().showHelpAfterError();
  const data = (cmd: Command) => cmd.option('--data <dir>', 'the server data folder', '.kluis-server');

  program.command('credentials')
    .description('Downloads a vault credentials file (valid 48 hours) for registering a server, as the portal and Get-AzRecoveryServicesVaultSettingsFile do.')
    .requiredOption('--vault <id>', 'the vault: /subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/{name}')
    .option('--host <url>', "Kluis's API base URL", 'http://127.0.0.1:7071')
    .option('--out <path>', 'the file to write, or a folder to write it into under its Azure name', '.')
    .action(async (o: { vault: string; host: string; out: string }) => {
      const vault = parseVaultId(o.vault);
      if (vault === undefined) throw new Error(`not a Recovery Services vault id: ${o.vault}`);
      const downloaded = await downloadVaultCredentials(armClient(o.host), vault);
      const file = existsSync(o.out) && statSync(o.out).isDirectory() ? path.join(o.out, downloaded.fileName) : o.out;
      writeVaultCredentials(file, downloaded.text);
      out(`Vault credentials for ${vault.vaultName} written to ${path.resolve(file)} (owner-only: it holds a private key).`);
      out(`Valid until ${downloaded.expiresAt.toISOString()} (48 hours): register with kluis-server register --vault-credentials <file> before then.`);
    });

  data(program.command('register'))
    .description('Registers this server with the vault a vault credentials file names (valid 48 hours).')
    .requiredOption('--vault-credentials <file>', 'the .VaultCredentials file downloaded from the vault')
    .requiredOption('--server-name <name>', "this server's name (FQDN)")
    .option('--passphrase-file <file>', 'the encryption passphrase (at least 16 characters); omit to generate one')
    .addOption(new Option('--mode <mode>', 'server: a backup server (local copy, then the vault); direct: this machine straight to the vault (MARS agent)').choices(['server', 'direct']).default('server'))
    .option('--no-remember-key', "do not keep the key wrapped with this machine's key: every start then needs the passphrase")
    .action(async (o: { data: string; vaultCredentials: string; serverName: string; passphraseFile?: string; mode: 'server' | 'direct'; rememberKey: boolean }) => {
      const input = { credentialsFile: readFileSync(o.vaultCredentials, 'utf8'), passphrase: passphraseFrom(o.passphraseFile) };
      const result = o.mode === 'direct'
        ? await directAgentAt(o.data).register({ ...input, machineName: o.serverName, rememberKey: o.rememberKey })
        : await serverAt(o.data).register({ ...input, serverName: o.serverName, rememberKey: o.rememberKey });
      out(o.mode === 'direct' ? `Registered ${result.engine.name} in direct mode (a MARS agent: backups go straight to the vault).` : `Registered ${result.engine.name} (${result.engine.properties.backupEngineType}).`);
      if (o.rememberKey) out(`This machine unlocks the repository after a restart (${path.resolve(o.data, o.mode === 'direct' ? 'agent' : 'server', 'machine-key')}, owner-only; kluis-server forget-key removes it).`);
      if (result.generatedPassphrase !== undefined) {
        out('Encryption passphrase (shown once; store it outside this server — without it no backup can be read, by anyone):');
        out(`  ${result.generatedPassphrase}`);
      }
    });

  const repeatable = (v: string, acc: string[] = []) => [...acc, v];
  data(program.command('protect'))
    .description('Creates or changes a protection group over a folder or a disk image, with its local (on-disk) retention; in direct mode, the machine\'s folders and schedule.')
    .option('--group <name>', 'protection group name (backup server; direct mode has one schedule per machine)')
    .option('--folder <path>', 'the folder to protect')
    .option('--image <file>', 'a disk image to protect as one volume (.vhd fixed or dynamic, raw .img)')
    .option('--include <glob>', 'back up only files matching (relative to the folder; repeatable)', repeatable)
    .option('--exclude <glob>', "leave out matching files and folders (e.g. '*.tmp', 'Temp/'; repeatable)", repeatable)
    .addOption(new Option('--path-style <style>', "the source's name rules (default: this server's platform)").choices(['posix', 'windows']))
    .option('--source-name <name>', 'how the source is shown (default: the folder path)')
    .addOption(
      new Option('--workload <type>', 'what the folder holds, by Azure Backup workload type (SQLDataBase and SharePoint are not supported)')
        .choices(['FileFolder', ...Object.keys(UNSUPPORTED_WORKLOADS)])
        .default('FileFolder'),
    )
    .option('--retention-days <days>', 'days to keep local points: 1 to 5', days, 5)
    .option('--daily-at <HH:MM>', 'when the daily local point is taken (UTC)', '22:00')
    .option('--online-retention-days <days>', 'also copy a point a day to the vault and keep it this many days (1 to 9999)', days)
    .option('--online-at <HH:MM>', 'when the daily online copy is made (UTC)', '23:00')
    .option('--online-weekly-weeks <weeks>', "also keep the Sunday copies this many weeks (GFS)", days)
    .option('--online-monthly-months <months>', "also keep the copies of each month's 1st this many months (GFS)", days)
    .option('--online-yearly-years <years>', 'also keep the copies of January 1st this many years (GFS)', days)
    .option('--at <HH:MM>', 'direct mode: a backup time (UTC), up to three (repeatable; default --daily-at)', repeatable)
    .option('--weekdays <days>', 'direct mode: back up on these weekdays only (e.g. Monday,Thursday); default every day')
    .action(async (o: { data: string; group?: string; at?: string[]; weekdays?: string; folder?: string; image?: string; include?: string[]; exclude?: string[]; pathStyle?: PathStyle; sourceName?: string; workload: ServerWorkloadType; retentionDays: number; dailyAt: string; onlineRetentionDays?: number; onlineAt: string; onlineWeeklyWeeks?: number; onlineMonthlyMonths?: number; onlineYearlyYears?: number }) => {
      if (isDirectMode(o.data)) {
        if (o.folder === undefined) throw new Error('direct mode protects folders: give --folder');
        return directProtect({ ...o, folder: o.folder }, out);
      }
      if (o.group === undefined) throw new Error('a backup server protects folders in a protection group: give --group');
      if ((o.folder === undefined) === (o.image === undefined)) throw new Error('give one of --folder or --image (not both)');
      const folder = path.resolve(o.folder ?? o.image!);
      const sourceRules = {
        ...(o.image === undefined ? {} : { kind: 'DiskImage' as const }),
        ...(o.pathStyle === undefined ? {} : { pathStyle: o.pathStyle }),
        ...(o.include === undefined ? {} : { include: o.include }),
        ...(o.exclude === undefined ? {} : { exclude: o.exclude }),
      };
      const firstOfMonth = { retentionScheduleFormatType: 'Daily' as const, retentionScheduleDaily: { daysOfTheMonth: [{ date: 1 }] } };
      const longTerm = {
        ...(o.onlineWeeklyWeeks === undefined ? {} : { weeklySchedule: { daysOfTheWeek: ['Sunday'], retentionDuration: { count: o.onlineWeeklyWeeks, durationType: 'Weeks' } } }),
        ...(o.onlineMonthlyMonths === undefined ? {} : { monthlySchedule: { ...firstOfMonth, retentionDuration: { count: o.onlineMonthlyMonths, durationType: 'Months' } } }),
        ...(o.onlineYearlyYears === undefined ? {} : { yearlySchedule: { ...firstOfMonth, monthsOfYear: ['January'], retentionDuration: { count: o.onlineYearlyYears, durationType: 'Years' } } }),
      };
      const gfs = Object.keys(longTerm).length === 0 ? {} : { longTerm };
      const online = o.onlineRetentionDays === undefined ? {} : { online: { dailyAt: o.onlineAt, retentionDays: o.onlineRetentionDays, ...gfs } };
      await serverAt(o.data).protect({ name: o.group, sources: [{ name: o.sourceName ?? folder, path: folder, workloadType: o.workload, ...sourceRules }], shortTerm: { retentionDays: o.retentionDays, dailyAt: o.dailyAt }, ...online });
      out(`Protection group ${o.group}: ${folder}, a local point daily at ${o.dailyAt} UTC, kept ${o.retentionDays} days.`);
      if (o.onlineRetentionDays !== undefined) {
        const kept = [`${o.onlineRetentionDays} days`, ...(o.onlineWeeklyWeeks === undefined ? [] : [`Sundays ${o.onlineWeeklyWeeks} weeks`]), ...(o.onlineMonthlyMonths === undefined ? [] : [`1st of the month ${o.onlineMonthlyMonths} months`]), ...(o.onlineYearlyYears === undefined ? [] : [`January 1st ${o.onlineYearlyYears} years`])];
        out(`Online copy to the vault daily at ${o.onlineAt} UTC, kept ${kept.join(', ')}.`);
      }
    });

  data(program.command('run'))
    .description('Runs the backup server on the embedded host: every minute a check-in and one orchestration per due protection group (local points, local retention, the vault copy); in direct mode the machine\'s due backups straight to the vault. --once: one pass in this process, then exit.')
    .option('--passphrase-file <file>', 'the encryption passphrase (or KLUIS_SERVER_PASSPHRASE)')
    .option('--once', 'one pass in this process (no host), then exit: for scripts and tests')
    .option('--port <port>', "the host's HTTP port (its /health route); default any free port", Number)
    .action(async (o: { data: string; passphraseFile?: string; once?: boolean; port?: number }) => {
      const passphrase = passphraseFrom(o.passphraseFile);
      const how = passphrase === undefined ? "Unlocked with this machine's key" : 'Passphrase accepted';
      const hostOptions = { dataDir: o.data, ...(passphrase === undefined ? {} : { passphrase }), ...(o.port === undefined ? {} : { port: o.port }) };
      if (isDirectMode(o.data)) {
        // Direct mode runs on the same host and role as the server (functions/server-role/ finds the agent's folder).
        if (o.once === true) return directRun(o, passphrase, out);
        await checkDirectUnlock(o, passphrase);
        return runOnHost(hostOptions, how, out);
      }
      const server = serverAt(o.data);
      await unlockServer(server, o.passphraseFile);
      if (o.once !== true) return runOnHost(hostOptions, how, out);
      const report = await server.runDue();
      for (const b of report.backups) {
        out(`Local point ${b.snapshotId} of ${b.group}/${b.source}: ${b.newChunkBytes} new bytes${b.excluded === undefined ? '' : `, ${b.excluded} entries excluded`}.`);
        if (b.skippedCount !== undefined) out(`  ${b.skippedCount} entries skipped: ${(b.skipped ?? []).slice(0, 5).map((e) => `${e.path} (${e.reason})`).join('; ')}`);
      }
      if (report.pruneDeferred === undefined) for (const r of report.retention.filter((d) => !d.keep)) out(`Removed local point ${r.snapshotId}: ${r.reason}.`);
      else out(`Expired local points are removed next run: ${report.pruneDeferred}`);
      for (const c of report.vaultCopies) out(`Vault copy of ${c.snapshotId} (${c.group}/${c.source}): ${c.chunksCopied} new chunks.`);
      for (const r of report.vaultRetention) out(`Removed vault point ${r.snapshotId}: ${r.reason}.`);
      if (report.stopped !== undefined) out(report.stopped);
      if (report.vaultCopyError !== undefined) out(`Online copy failed: ${report.vaultCopyError}`);
    });

  data(program.command('remember-key'))
    .description("Keeps the repository's key wrapped with a key of this machine (owner-only), so run unlocks after a restart without the passphrase. The passphrase itself is never stored.")
    .option('--passphrase-file <file>', 'the encryption passphrase (or KLUIS_SERVER_PASSPHRASE)')
    .action(async (o: { data: string; passphraseFile?: string }) => {
      if (isDirectMode(o.data)) return directRememberKey(o, requiredPassphrase(o.passphraseFile), out);
      const server = serverAt(o.data);
      await server.unlock(requiredPassphrase(o.passphraseFile));
      await server.rememberKey();
      out(`This machine now unlocks the repository without the passphrase (${path.resolve(o.data, 'server', 'machine-key')}, owner-only).`);
      out('A copy of the data folder without that file still needs the passphrase; kluis-server forget-key undoes this.');
    });

  data(program.command('forget-key'))
    .description('Removes the machine-wrapped key: from now on every start needs the passphrase.')
    .action(async (o: { data: string }) => {
      const had = await (isDirectMode(o.data) ? directAgentAt(o.data) : serverAt(o.data)).forgetKey();
      out(had ? 'Forgotten: the passphrase is needed from now on.' : 'No key was remembered on this server: the passphrase is needed, as before.');
    });

  data(program.command('points'))
    .description('Lists the local recovery points (direct mode: the points in the vault).')
    .option('--passphrase-file <file>', 'the encryption passphrase (or KLUIS_SERVER_PASSPHRASE)')
    .option('--from-machine <name>', "direct mode: another machine's points in the same vault")
    .option('--source-passphrase-file <file>', "direct mode: that machine's passphrase")
    .action(async (o: { data: string; passphraseFile?: string; fromMachine?: string; sourcePassphraseFile?: string }) => {
      if (isDirectMode(o.data)) return directPoints(o, passphraseFrom(o.passphraseFile), out);
      const server = serverAt(o.data);
      await unlockServer(server, o.passphraseFile);
      for (const p of await server.localPoints()) out(`${p.time}  ${p.snapshotId}  ${p.source}`);
    });

  data(program.command('verify'))
    .description('Checks every local point and every stored chunk (authenticated, matching its id); exits non-zero on a problem.')
    .option('--passphrase-file <file>', 'the encryption passphrase (or KLUIS_SERVER_PASSPHRASE)')
    .option('--rebuild-index', 'first write the index anew from the pack headers (a lost or damaged index; repository version 2)')
    .action(async (o: { data: string; passphraseFile?: string; rebuildIndex?: boolean }) => {
      if (isDirectMode(o.data)) return directVerify(o, passphraseFrom(o.passphraseFile), out);
      const server = serverAt(o.data);
      const repository = await unlockServer(server, o.passphraseFile);
      if (o.rebuildIndex === true) {
        const rebuilt = await server.rebuildIndex();
        out(`Index rebuilt: ${rebuilt.packs} packs, ${rebuilt.chunks} chunks, ${rebuilt.problems.length} packs unreadable.`);
        for (const p of rebuilt.problems) out(`  ${p.object}: ${p.code}: ${p.message}`);
      }
      const report = await verifyRepository(repository);
      out(`${report.snapshots} points, ${report.chunksRead} chunks read, ${report.problems.length} problems.`);
      for (const p of report.problems) out(`  ${p.object}: ${p.code}: ${p.message}`);
      if (report.problems.length > 0) throw new Error(`${report.problems.length} problems found`);
    });

  data(program.command('restore'))
    .description('Restores a local point (or some paths of it) into a folder; every byte is verified.')
    .requiredOption('--snapshot <id>', 'the local point')
    .requiredOption('--target <dir>', 'where to restore (original or alternate location)')
    .option('--path <path>', 'a file or folder of the point (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .addOption(new Option('--target-style <style>', "the target's name rules (default: this server's platform; windows for a mounted Windows share)").choices(['posix', 'windows']))
    .option('--rename-invalid-names', 'rename names the target cannot hold (listed) instead of refusing the restore')
    .addOption(new Option('--image-format <format>', 'disk images: write a fixed VHD (default for VHD sources) or the raw disk').choices(['raw', 'vhd']))
    .option('--passphrase-file <file>', 'the encryption passphrase (or KLUIS_SERVER_PASSPHRASE)')
    .option('--from-machine <name>', "direct mode: restore another machine's backup from the same vault (a second machine)")
    .option('--source-passphrase-file <file>', "direct mode: that machine's passphrase")
    .action(async (o: { data: string; snapshot: string; target: string; path?: string[]; targetStyle?: PathStyle; renameInvalidNames?: boolean; imageFormat?: ImageRestoreFormat; passphraseFile?: string; fromMachine?: string; sourcePassphraseFile?: string }) => {
      if (isDirectMode(o.data)) return directRestore(o, passphraseFrom(o.passphraseFile), out);
      const repository = await unlockServer(serverAt(o.data), o.passphraseFile);
      const result = await restoreSnapshot({ repository, files: new NodeLocalFileSystem() }, {
        snapshotId: o.snapshot, targetRoot: path.resolve(o.target), paths: o.path,
        ...(o.targetStyle === undefined ? {} : { targetStyle: o.targetStyle }),
        onInvalidName: o.renameInvalidNames === true ? 'rename' : 'refuse',
        ...(o.imageFormat === undefined ? {} : { imageFormat: o.imageFormat }),
      });
      for (const r of result.renamed ?? []) out(`Renamed ${r.from} → ${r.to}: ${r.reason}.`);
      out(`Restored ${result.files} files and ${result.dirs} folders (${result.bytes} bytes) into ${path.resolve(o.target)}.`);
    });

  data(program.command('unregister'))
    .description("Unregisters this server from its vault. The vault deletes this server's backup data permanently (as Azure does); the local copies stay, readable with the passphrase.")
    .option('--delete-vault-data', "confirm that the server's backup data in the vault is deleted permanently")
    .action(async (o: { data: string; deleteVaultData?: boolean }) => {
      if (isDirectMode(o.data)) return directUnregister(o, armClient, out);
      const server = serverAt(o.data);
      const state = await server.readState();
      if (state === undefined) throw new Error(`no server is registered in ${path.resolve(o.data)}`);
      if (o.deleteVaultData !== true) {
        throw new Error(
          `unregistering deletes this server's backup data in vault ${state.vault.vaultName} permanently (${(state.vaultPoints ?? []).length} points); add --delete-vault-data to confirm`,
        );
      }
      const { subscriptionId, resourceGroup, vaultName } = state.vault;
      const client = armClient(state.endpoint);
      const vaultPath = `subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.RecoveryServices/vaults/${vaultName}`;
      await client.send('DELETE', client.apiUrl(`${vaultPath}/registeredIdentities/${encodeURIComponent(state.serverName)}`, { 'api-version': REGISTERED_IDENTITIES_API_VERSION }));
      await server.forgetRegistration();
      out(`Unregistered ${state.serverName} from vault ${vaultName}: its backup data in the vault is deleted, permanently.`);
      out(`The local copies stay in ${path.resolve(o.data, 'repository')}: kluis-server points / restore read them with the passphrase.`);
    });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (isKluisErrorLike(err)) {
      throw new Error(`${err.code}: ${err.message} ${ERROR_CODES[err.code].recommendation}`, { cause: err });
    }
    if (err instanceof ArmRequestError) {
      throw new Error(`${err.code}: ${err.message}${err.recommendation === undefined ? '' : ` ${err.recommendation}`}`, { cause: err });
    }
    throw err;
  }
}
