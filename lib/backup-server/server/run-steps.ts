/**
 * The backup server's run steps (issue 16): one scheduler pass is `prepareRun` (check in, what the seed's table
 * allows) → `backUpSource` per due source → `expireLocalPoints` (local retention, prune) → `copyToVault` (the online
 * copy and vault retention) → `finishRun` (jobs queued, the report sent). `runDue` runs them in one process
 * (`kluis-server run`); the app's server role runs each as an activity of one orchestration per due group
 * (functions/server-role/, orchestrations/backup-server-group-run.ts). The steps reach the server's state, locks and
 * vault through `ServerRunContext`, which BackupServer gives them.
 */
import { isKluisErrorLike } from '../../domain/errors';
import type { AllowedOperations, Connectivity, ServerSubscriptionState } from '../../domain/backup-server/connectivity';
import { onlineLongTermTags, onlineRetention } from '../../domain/backup-server/online-retention';
import type { ReportedJob } from '../../domain/backup-server/server-report';
import type { LocalFileSystem } from '../../stores/local-file-system';
import type { RepositoryStore } from '../../stores/repository-store';
import type { LockOperation } from '../domain/repository-lock';
import { isLocalPointDue, isOnlineCopyDue, localRetention, type LocalPoint, type ProtectionGroup, type RetentionDecision } from '../domain/protection-group';
import type { SkippedEntry } from '../domain/snapshot';
import { backupFolder } from '../repository/backup-folder';
import { copySnapshotsToVault } from '../repository/copy-to-vault';
import { backupDiskImage } from '../repository/disk-image-volume';
import { forgetSnapshots, pruneRepository } from '../repository/prune';
import type { Repository } from '../repository/repository';
import type { ServerState } from './backup-server';
import { ServerFileCache } from './file-cache';
import { failedJob, jobsOfRun } from './vault-report';

export interface RunReport {
  backups: Array<{ group: string; source: string; snapshotId: string; newChunkBytes: number; skipped?: SkippedEntry[]; skippedCount?: number; excluded?: number; startTime?: string; endTime?: string; filesRead?: number; filesUnchanged?: number; fileCache?: string }>;
  /** The file cache of local backups (server/file-cache.ts): 'valid', or why it started empty; set when a folder was backed up. */
  fileCache?: string;
  retention: Array<{ group: string; source: string } & RetentionDecision>;
  chunksDeleted: number;
  connectivity: Connectivity;
  allowed: AllowedOperations;
  /** Why backups did not run (the seed's table), when they did not. */
  stopped?: string;
  vaultCopies: Array<{ group: string; source: string; snapshotId: string; chunksCopied: number; bytesCopied?: number; startTime?: string; endTime?: string }>;
  vaultRetention: Array<{ source: string } & RetentionDecision>;
  /** Why expired local points were not removed this run (another process holds the repository), if so. */
  pruneDeferred?: string;
  /** Why the online copy failed this run (vault unreachable or refusing), if it did. */
  vaultCopyError?: string;
  /** Why the report to the vault failed (its jobs stay queued for the next report), if it did. */
  vaultReportError?: string;
}

/** What the run steps need of the server (BackupServer builds it over its private state, locks and vault access). */
export interface ServerRunContext {
  readonly files: LocalFileSystem;
  /** The server's state folder (the file cache lives there). */
  readonly state: RepositoryStore;
  readonly clock: () => Date;
  /** The unlocked local repository (KluisPassphraseIncorrect while locked). */
  unlocked(): Repository;
  requireState(): Promise<ServerState>;
  writeState(state: ServerState): Promise<void>;
  /** `work` under a repository lock on `store` (shared for backup/copy/restore, exclusive for prune/forget). */
  locked<T>(store: RepositoryStore, operation: LockOperation, work: () => Promise<T>): Promise<T>;
  queueJobs(jobs: ReportedJob[]): Promise<void>;
  vaultCopy(state: ServerState, access: 'read' | 'write'): Promise<RepositoryStore>;
  checkIn(options: { report?: boolean }): Promise<{ ok: boolean; error?: string }>;
  operations(): Promise<{ connectivity: Connectivity; subscription: ServerSubscriptionState; allowed: AllowedOperations }>;
  localPoints(): Promise<LocalPoint[]>;
  reportToVault(): Promise<{ ok: boolean; error?: string }>;
}

export class ServerRunSteps {
  constructor(private readonly server: ServerRunContext) {}

  /**
   * One pass of the scheduler: a local point for every source whose daily point is due, then each group's local
   * retention (forget expired points, prune chunks nothing references any more), the online copy, and the report to
   * the vault. Backups take a shared repository lock, forget + prune an exclusive one (repository-lock.ts), so they
   * never overlap, in this process or another. The steps are public: the app's server role runs them as the
   * activities of one orchestration per due group (functions/server-role/, orchestrations/backup-server-group-run.ts).
   */
  async runDue(): Promise<RunReport> {
    this.server.unlocked();
    const state = await this.server.requireState();
    const startTime = this.server.clock().toISOString();
    const { connectivity, allowed, stopped } = await this.prepareRun();
    const report: RunReport = { backups: [], retention: [], chunksDeleted: 0, connectivity, allowed, vaultCopies: [], vaultRetention: [], ...(stopped === undefined ? {} : { stopped }) };
    for (const group of allowed.backupToDisk === 'Allowed' ? state.groups : []) {
      for (const source of group.sources) {
        const backup = await this.backUpSource(group.name, source.name);
        if (backup === undefined) continue;
        report.backups.push(backup);
        if (backup.fileCache !== undefined) report.fileCache = backup.fileCache;
      }
    }
    // While backups are stopped, local points are not expired either: they are the restores the table still allows.
    if (allowed.backupToDisk === 'Allowed') Object.assign(report, await this.expireLocalPoints());
    if (allowed.backupToAzure === 'Allowed') {
      // The vault unreachable (or refusing) does not undo the day's local points; the next run tries again.
      try {
        Object.assign(report, await this.copyToVault());
      } catch (err) {
        report.vaultCopyError = (err as Error).message;
      }
    }
    return this.finishRun(report, startTime);
  }

  /** A pass's first step: check in with the vault, then what the seed's table allows (and why backups stopped, if so). */
  async prepareRun(): Promise<{ connectivity: Connectivity; subscription: ServerSubscriptionState; allowed: AllowedOperations; stopped?: string }> {
    await this.server.checkIn({ report: false });
    const operations = await this.server.operations();
    if (operations.allowed.backupToDisk !== 'Stopped') return operations;
    return { ...operations, stopped: `Backups are stopped: the server is ${operations.connectivity} and the subscription is ${operations.subscription}.` };
  }

  /**
   * A local point of one source when its daily point is due; undefined when it is not (or the group or source is
   * gone). A failure is queued as a Failed LocalBackup job for the vault, then thrown.
   */
  async backUpSource(groupName: string, sourceName: string): Promise<RunReport['backups'][number] | undefined> {
    const repository = this.server.unlocked();
    const state = await this.server.requireState();
    const group = state.groups.find((g) => g.name.toLowerCase() === groupName.toLowerCase());
    const source = group?.sources.find((s) => s.name === sourceName);
    if (group === undefined || source === undefined) return undefined;
    const last = (await this.server.localPoints()).filter((p) => p.source === sourceKey(group, source.name)).at(-1);
    if (!isLocalPointDue(group, last?.time, this.server.clock())) return undefined;
    const started = this.server.clock().toISOString();
    const deps = { repository, files: this.server.files, clock: this.server.clock };
    // Unchanged files are not read (file-cache.ts; disk images are read whole).
    const cache = source.kind === 'DiskImage' ? undefined : await ServerFileCache.open(this.server.state, repository);
    const hooks = cache?.hooksFor(sourceKey(group, source.name));
    const doc = await this.server.locked(repository.store, 'backup', () =>
      source.kind === 'DiskImage'
        ? backupDiskImage(deps, { image: source.path, sourceName: sourceKey(group, source.name) })
        : backupFolder({ ...deps, ...(hooks === undefined ? {} : { unchangedFileChunks: hooks.unchangedFileChunks, fileStored: hooks.fileStored }) }, {
          root: source.path,
          sourceName: sourceKey(group, source.name),
          ...(source.pathStyle === undefined ? {} : { pathStyle: source.pathStyle }),
          filter: { ...(source.include === undefined ? {} : { include: source.include }), ...(source.exclude === undefined ? {} : { exclude: source.exclude }) },
        }),
    ).catch(async (err: unknown) => {
      await this.server.queueJobs([failedJob('LocalBackup', started, this.server.clock().toISOString(), err, { group: group.name, source: source.name })]);
      throw err;
    });
    if (cache !== undefined && hooks !== undefined) await cache.recordSnapshot(sourceKey(group, source.name), doc.id, hooks.files);
    return {
      ...(hooks === undefined ? {} : hooks.counts),
      ...(cache === undefined ? {} : { fileCache: cache.status }),
      group: group.name, source: source.name, snapshotId: doc.id, newChunkBytes: doc.stats.newChunkBytes, startTime: started, endTime: this.server.clock().toISOString(),
      ...(doc.stats.skipped === undefined ? {} : { skippedCount: doc.stats.skipped, skipped: doc.stats.skippedEntries ?? [] }),
      ...(doc.stats.excluded === undefined ? {} : { excluded: doc.stats.excluded }),
    };
  }

  /**
   * The groups' local retention (all groups, or those named): expired points are forgotten and the repository
   * pruned. While another process backs up or restores (a shared lock) the prune is deferred to the next run.
   */
  async expireLocalPoints(groupNames?: readonly string[]): Promise<Pick<RunReport, 'retention' | 'chunksDeleted' | 'pruneDeferred'>> {
    const repository = this.server.unlocked();
    const state = await this.server.requireState();
    const now = this.server.clock();
    const points = await this.server.localPoints();
    const result: Pick<RunReport, 'retention' | 'chunksDeleted' | 'pruneDeferred'> = { retention: [], chunksDeleted: 0 };
    const expired: string[] = [];
    for (const group of state.groups.filter((g) => isNamed(g, groupNames))) {
      for (const source of group.sources) {
        const decisions = localRetention(group, points.filter((p) => p.source === sourceKey(group, source.name)), now);
        for (const d of decisions) {
          result.retention.push({ group: group.name, source: source.name, ...d });
          if (!d.keep) expired.push(d.snapshotId);
        }
      }
    }
    if (expired.length === 0) return result;
    // The file cache goes first and comes back only if the repository then holds exactly what it knew minus the expired.
    const cache = await ServerFileCache.open(this.server.state, repository);
    await cache.invalidate();
    try {
      result.chunksDeleted = await this.server.locked(repository.store, 'prune', async () => {
        await forgetSnapshots(repository, expired);
        return (await pruneRepository(repository)).chunksDeleted;
      });
      await cache.resync(expired);
    } catch (err) {
      if (!isKluisErrorLike(err) || err.code !== 'KluisRepositoryLocked') throw err;
      result.pruneDeferred = err.message;
      await cache.resync([]);
    }
    return result;
  }

  /** The online copy of the groups (all, or those named): each source's newest local point when due, then vault retention. */
  async copyToVault(groupNames?: readonly string[]): Promise<Pick<RunReport, 'vaultCopies' | 'vaultRetention'>> {
    const result: Pick<RunReport, 'vaultCopies' | 'vaultRetention'> = { vaultCopies: [], vaultRetention: [] };
    await this.runOnlineCopies(this.server.unlocked(), result, groupNames);
    return result;
  }

  /** A pass's last step: its jobs queued for the vault, then the report (a failed report stays queued; it never fails the pass). */
  async finishRun(report: RunReport, startTime: string): Promise<RunReport> {
    await this.server.queueJobs(jobsOfRun(report, { startTime, endTime: this.server.clock().toISOString() }));
    const reported = await this.server.reportToVault();
    return reported.ok ? report : { ...report, vaultReportError: reported.error };
  }

  /** The online copy: each source's newest local point once a day at the group's online time, then vault retention. */
  private async runOnlineCopies(repository: Repository, report: Pick<RunReport, 'vaultCopies' | 'vaultRetention'>, groupNames?: readonly string[]): Promise<void> {
    const state = await this.server.requireState();
    const groups = state.groups.filter((g) => isNamed(g, groupNames));
    const now = this.server.clock();
    const local = await this.server.localPoints();
    const vaultPoints = [...(state.vaultPoints ?? [])];
    const due: LocalPoint[] = [];
    for (const group of groups) {
      for (const source of group.sources) {
        const key = sourceKey(group, source.name);
        const last = vaultPoints.filter((p) => p.source === key).at(-1);
        const newest = local.filter((p) => p.source === key).at(-1);
        if (newest !== undefined && newest.snapshotId !== last?.snapshotId && isOnlineCopyDue(group, last?.time, now)) due.push(newest);
      }
    }
    // GFS retention by the vault's own retention math (online-retention.ts), per source.
    const expired = groups.flatMap((group) => group.online === undefined ? [] : group.sources.flatMap((source) => {
      const key = sourceKey(group, source.name);
      return onlineRetention(group.online!, vaultPoints.filter((p) => p.source === key), now)
        .filter((d) => !d.keep)
        .map((d) => ({ source: source.name, ...d }));
    }));
    if (due.length === 0 && expired.length === 0) return;
    const store = await this.server.vaultCopy(state, 'write');
    for (const point of due) {
      const started = this.server.clock().toISOString();
      const copied = await this.server.locked(store, 'copy', () => copySnapshotsToVault(repository, store, [point.snapshotId]));
      const policyGroup = state.groups.find((g) => point.source.startsWith(`${g.name}/`));
      const tags = policyGroup?.online === undefined ? [] : onlineLongTermTags(policyGroup.online, now);
      vaultPoints.push({ ...point, time: now.toISOString(), ...(tags.length === 0 ? {} : { longTermTags: tags }) });
      const [group, ...rest] = point.source.split('/');
      report.vaultCopies.push({ group, source: rest.join('/'), snapshotId: point.snapshotId, chunksCopied: copied.chunksCopied, bytesCopied: copied.bytesCopied, startTime: started, endTime: this.server.clock().toISOString() });
    }
    if (expired.length > 0) {
      const vaultRepository = await repository.onStore(store);
      await this.server.locked(store, 'prune', async () => {
        await forgetSnapshots(vaultRepository, expired.map((e) => e.snapshotId));
        await pruneRepository(vaultRepository);
      });
      report.vaultRetention.push(...expired);
    }
    const gone = new Set(expired.map((e) => e.snapshotId));
    await this.server.writeState({ ...(await this.server.requireState()), vaultPoints: vaultPoints.filter((p) => !gone.has(p.snapshotId)) });
  }
}

/** Whether a group is among those named (case-insensitive, as group names are); no names: every group. */
function isNamed(group: ProtectionGroup, names: readonly string[] | undefined): boolean {
  return names === undefined || names.some((name) => name.toLowerCase() === group.name.toLowerCase());
}

/** A source's name in the repository: group and source, so two groups may protect sources of the same name. */
export function sourceKey(group: ProtectionGroup, sourceName: string): string {
  return `${group.name}/${sourceName}`;
}
