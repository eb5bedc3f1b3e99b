/**
 * Direct mode (issue 16 Deliver 7; Azure's MARS agent): one machine's files and folders backed up straight to the
 * vault, without a local copy. The repository (same format and crypto as the backup server's) lives in the
 * machine's vault container, reached with the vault-copy SAS; the vault shows the machine as a MAB container
 * (`containerType: "Windows"`), with no backup engine. Incremental by the local cache (backup-cache.ts): unchanged
 * files are not read, known chunks are neither uploaded nor probed. Schedule and retention: direct-policy.ts.
 * The connectivity × subscription table applies to the vault path only (there are no local points).
 *
 * As the backup server (session 8): backups take a shared lock on the vault repository and retention an exclusive
 * one (repository-lock.ts); the machine may remember its key to unlock after a restart (remembered-key.ts); every
 * pass and restore is reported to the vault (direct-report.ts: MAB items, jobs and points).
 */
import { randomUUID } from 'node:crypto';
import { readJsonState, writeJsonState } from '../server/json-state';
import { errors, isKluisErrorLike } from '../../domain/errors';
import { reportDigest, type ReportedJob } from '../../domain/backup-server/server-report';
import { allowedOperations, connectivityOf, type AllowedOperations, type Connectivity, type ServerSubscriptionState } from '../../domain/backup-server/connectivity';
import { directLongTermTags, directRetention, isDirectBackupDue, validateDirectPolicy, type DirectPolicy } from '../../domain/backup-server/direct-policy';
import { parseVaultCredentials } from '../../domain/backup-server/vault-credentials';
import type { LocalFileSystem } from '../../stores/local-file-system';
import type { RepositoryStore } from '../../stores/repository-store';
import type { VaultCopyGrant } from '../../stores/vault-copy-access';
import type { RegisteredEngine, VaultRegistrar } from '../../stores/vault-registrar';
import type { ChunkerParams } from '../domain/fastcdc';
import type { LocalPoint, RetentionDecision } from '../domain/protection-group';
import type { LockOperation } from '../domain/repository-lock';
import { snapshotIdOfKey, SNAPSHOTS_PREFIX } from '../domain/repository-layout';
import { createServerIdentity, publicKeyOfIdentity, signServerRequest } from '../registration-client';
import { backupFolder } from '../repository/backup-folder';
import { forgetSnapshots, pruneRepository } from '../repository/prune';
import { checkPassphrase, createRepository, generatePassphrase, openRepository, type Repository } from '../repository/repository';
import { awaitNoExclusiveLock, withRepositoryLock, type LockOptions } from '../repository/repository-lock';
import { restoreSnapshot, type RestoreSnapshotResult } from '../repository/restore-snapshot';
import { verifyRepository, type VerifyReport } from '../repository/verify-repository';
import { forgetRepositoryKey, rememberRepositoryKey, unlockWithRememberedKey } from '../server/remembered-key';
import { enqueueJobs, failedJob, sendQueuedReport, type ReportQueue } from '../server/vault-report';
import { BACKUP_CACHE_KEY, checkBackupCache, saveBackupCache, unchangedChunks, type BackupCacheContent, type CachedFile } from './backup-cache';
import { buildDirectReport, jobsOfDirectRun, DIRECT_GROUP, type DirectPoint } from './direct-report';

const STATE_KEY = 'state.json';
const IDENTITY_KEY = 'identity-key.pem';

/** A folder the agent backs up (MARS: a backup item). */
export interface DirectItem {
  /** How the machine names it (default: the folder path). */
  name: string;
  path: string;
}

export interface AgentState {
  mode: 'direct';
  machineName: string;
  vault: { subscriptionId: string; resourceGroup: string; vaultName: string };
  endpoint: string;
  registeredAt: string;
  backupEngineId?: string;
  items: DirectItem[];
  policy?: DirectPolicy;
  lastCheckInAt?: string;
  subscriptionState?: ServerSubscriptionState;
  /** The points this agent wrote to the vault, oldest first, with the long-term rules that selected their day. */
  points?: DirectPoint[];
  /** Jobs the vault has not accepted yet (bounded, newest kept). */
  pendingJobs?: ReportedJob[];
}

export interface DirectAgentDeps {
  /** `<data>/agent`: state and identity key. */
  state: RepositoryStore;
  /** `<data>/cache`: the local cache (an optimisation, rebuilt from the vault when lost or wrong). */
  cache: RepositoryStore;
  files: LocalFileSystem;
  registrar: VaultRegistrar;
  vaultStore: (grant: VaultCopyGrant) => RepositoryStore;
  clock: () => Date;
  /** Who holds this machine's locks on its vault repository (shown to whoever finds one). */
  lockHolder?: { hostname: string; pid: number };
  /** How long a backup waits for a prune (an exclusive lock) to finish before failing; default 60 s. */
  lockWaitMs?: number;
  /** Random bytes for a new machine key (default node:crypto). */
  randomBytes?: (size: number) => Buffer;
  /** Tests: how waiting for a lock pauses (default setTimeout). */
  sleep?: (ms: number) => Promise<void>;
  /** Tests only: a cheaper KDF and smaller chunks. */
  repositoryOptions?: { kdf?: { logN: number }; chunker?: ChunkerParams };
}

export interface DirectRunReport {
  connectivity: Connectivity;
  allowed: AllowedOperations;
  stopped?: string;
  /** 'valid', or why the local cache was rebuilt from the vault. */
  cache?: string;
  backups: Array<{ source: string; snapshotId: string; filesRead: number; filesUnchanged: number; newChunks: number; newChunkBytes: number; startTime: string; endTime: string }>;
  retention: Array<{ source: string } & RetentionDecision>;
  chunksDeleted: number;
  /** Why expired points were not removed this run (another process holds the vault repository), if so. */
  pruneDeferred?: string;
  /** Why the run failed against the vault (unreachable or refusing), if it did. */
  vaultError?: string;
  /** Why the report to the vault failed (its jobs stay queued for the next report), if it did. */
  vaultReportError?: string;
}

export class DirectAgent {
  /** Unlocked with the passphrase: holds the keys; its store is replaced by a fresh SAS each run. */
  private repository: Repository | undefined;

  constructor(private readonly deps: DirectAgentDeps) {}

  readState(): Promise<AgentState | undefined> {
    return readJsonState<AgentState>(this.deps.state, STATE_KEY);
  }

  private writeState(state: AgentState): Promise<void> {
    return writeJsonState(this.deps.state, STATE_KEY, state);
  }

  private async requireState(): Promise<AgentState> {
    const state = await this.readState();
    if (state === undefined) throw errors.backupServerNotRegistered('this machine');
    return state;
  }

  /**
   * Registers the machine as a MARS agent (a MAB container) and creates the repository in its vault container, or
   * unlocks the one there (re-registration, or a machine that lost its data folder) with the same passphrase.
   */
  async register(input: { credentialsFile: string; machineName: string; passphrase?: string; rememberKey?: boolean }): Promise<{ engine: RegisteredEngine; generatedPassphrase?: string }> {
    const credentials = parseVaultCredentials(input.credentialsFile);
    const passphrase = input.passphrase ?? generatePassphrase();
    checkPassphrase(passphrase);
    const previous = await this.readState();
    const stored = (await this.deps.state.read(IDENTITY_KEY))?.toString('utf8');
    if (previous !== undefined && stored !== undefined) await this.refuseOtherPassphrase(previous, passphrase);
    const identity = stored ?? createServerIdentity().privateKeyPem;
    const engine = await this.deps.registrar.register(credentials, input.machineName, publicKeyOfIdentity(identity), { backupManagementType: 'MAB' });
    await this.deps.state.write(IDENTITY_KEY, Buffer.from(identity, 'utf8'));
    const now = this.deps.clock().toISOString();
    const state: AgentState = {
      mode: 'direct',
      machineName: input.machineName,
      vault: { subscriptionId: credentials.subscriptionId, resourceGroup: credentials.resourceGroup, vaultName: credentials.resourceName },
      endpoint: credentials.kluisEndpoint,
      registeredAt: now,
      ...(engine.properties.backupEngineId === undefined ? {} : { backupEngineId: engine.properties.backupEngineId }),
      items: previous?.items ?? [],
      ...(previous?.policy === undefined ? {} : { policy: previous.policy }),
      lastCheckInAt: now,
      subscriptionState: 'Active',
      points: previous?.points ?? [],
    };
    const store = await this.vaultStore(state, 'write');
    this.repository = (await store.exists('config'))
      ? await openRepository(store, passphrase, { knownChunks: [] })
      : await createRepository(store, passphrase, { clock: this.deps.clock, ...this.deps.repositoryOptions });
    await this.writeState(state);
    if (input.rememberKey === true) await this.rememberKey();
    return input.passphrase === undefined ? { engine, generatedPassphrase: passphrase } : { engine };
  }

  /**
   * Keeps the unlocked repository's master key wrapped with this machine's key (`<data>/agent/machine-key`,
   * owner-only), so `unlockUnattended` works after a restart. Unlock with the passphrase first.
   */
  async rememberKey(): Promise<void> {
    await rememberRepositoryKey(this.deps.state, this.unlocked(), this.deps.clock(), this.deps.randomBytes);
  }

  /** Removes the machine-wrapped key and the machine key: from now on only the passphrase unlocks. */
  forgetKey(): Promise<boolean> {
    return forgetRepositoryKey(this.deps.state);
  }

  /** Unlocks the vault repository with the key remembered on this machine (KluisUnattendedUnlockUnavailable without one that fits). */
  async unlockUnattended(): Promise<void> {
    const state = await this.requireState();
    this.repository = await unlockWithRememberedKey(this.deps.state, await this.vaultStore(state, 'read'), 'on this machine', { knownChunks: [] });
  }

  /**
   * Re-registering: a passphrase other than the repository's is refused before the vault is asked to register (as
   * the backup server does). When the old registration no longer reaches the vault copy (unregistered elsewhere,
   * copy deleted), there is nothing to check against.
   */
  private async refuseOtherPassphrase(previous: AgentState, passphrase: string): Promise<void> {
    try {
      await openRepository(await this.vaultStore(previous, 'read'), passphrase, { knownChunks: [] });
    } catch (err) {
      if ((err as { code?: string }).code === 'KluisPassphraseIncorrect') throw err;
    }
  }

  /**
   * Forgets the registration on this machine once the vault unregistered it (the vault deleted its backups): the
   * identity key, the state and the local cache go.
   */
  async forgetRegistration(): Promise<void> {
    await this.deps.state.delete(IDENTITY_KEY);
    await this.deps.state.delete(STATE_KEY);
    await this.deps.cache.delete(BACKUP_CACHE_KEY);
    await forgetRepositoryKey(this.deps.state); // the repository it unlocked is gone with the vault's data
  }

  /** Unlocks the vault repository (a wrong passphrase is refused before anything is written). */
  async unlock(passphrase: string): Promise<void> {
    const state = await this.requireState();
    this.repository = await openRepository(await this.vaultStore(state, 'read'), passphrase, { knownChunks: [] });
  }

  private unlocked(): Repository {
    if (this.repository === undefined) throw errors.passphraseIncorrect();
    return this.repository;
  }

  /** Adds (or replaces, by name) a folder and sets the machine's schedule and retention (one policy per machine, as MARS). */
  async protect(item: DirectItem, policy: DirectPolicy): Promise<AgentState> {
    validateDirectPolicy(policy);
    if (item.name.trim() === '' || item.path.trim() === '') throw errors.invalidRequest('folder', 'A backup item names a folder.');
    const state = await this.requireState();
    const items = state.items.filter((i) => i.name.toLowerCase() !== item.name.toLowerCase());
    const next = { ...state, items: [...items, item], policy };
    await this.writeState(next);
    return next;
  }

  private async identityKey(): Promise<string> {
    const stored = await this.deps.state.read(IDENTITY_KEY);
    if (stored === undefined) throw errors.backupServerSignatureInvalid('this machine has no identity key; register it again');
    return stored.toString('utf8');
  }

  private async sign(state: AgentState, operation: 'checkIn' | 'vaultCopyAccess' | 'report', args?: Record<string, string>) {
    const v = state.vault;
    const vaultId = `/subscriptions/${v.subscriptionId}/resourceGroups/${v.resourceGroup}/providers/Microsoft.RecoveryServices/vaults/${v.vaultName}`;
    return signServerRequest({ privateKeyPem: await this.identityKey(), vaultId, serverName: state.machineName }, operation, this.deps.clock(), args);
  }

  private async vaultStore(state: AgentState, access: 'read' | 'write', sourceMachine?: string): Promise<RepositoryStore> {
    const args: Record<string, string> = { access, ...(sourceMachine === undefined ? {} : { sourceServer: sourceMachine }) };
    return this.deps.vaultStore(await this.deps.registrar.vaultCopyAccess(state.endpoint, await this.sign(state, 'vaultCopyAccess', args)));
  }

  async checkIn(): Promise<{ ok: boolean; error?: string }> {
    const state = await this.requireState();
    try {
      const answer = await this.deps.registrar.checkIn(state.endpoint, await this.sign(state, 'checkIn'));
      await this.writeState({ ...state, lastCheckInAt: answer.lastCheckInAt, subscriptionState: answer.subscriptionState, ...(answer.subscriptionState === 'Deprovisioned' ? { points: [] } : {}) });
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  async operations(): Promise<{ connectivity: Connectivity; subscription: ServerSubscriptionState; allowed: AllowedOperations }> {
    const state = await this.requireState();
    const connectivity = connectivityOf(state.lastCheckInAt, this.deps.clock());
    const subscription = state.subscriptionState ?? 'Active';
    return { connectivity, subscription, allowed: allowedOperations(connectivity, subscription) };
  }

  /**
   * The vault repository on `store` (a fresh write SAS), with its chunk index and the file entries from the local
   * cache when the cache is intact and matches the vault, else rebuilt from the vault (`cacheStatus` says which and
   * why). Call it under the repository lock: a prune between this check and the backup would leave the cache naming
   * deleted chunks.
   */
  private async openForBackup(store: RepositoryStore): Promise<{ repository: Repository; cache: BackupCacheContent; cacheStatus: string }> {
    const snapshotIds: string[] = [];
    for await (const key of store.list(SNAPSHOTS_PREFIX)) {
      const id = snapshotIdOfKey(key);
      if (id !== undefined) snapshotIds.push(id);
    }
    const keys = this.unlocked();
    const check = await checkBackupCache(this.deps.cache, keys.config.repositoryId, snapshotIds);
    if (check.usable) return { repository: await keys.onStore(store, check.content.chunkIds), cache: check.content, cacheStatus: 'valid' };
    const repository = await keys.onStore(store); // lists the vault's chunks
    const cache: BackupCacheContent = { repositoryId: keys.config.repositoryId, snapshotIds, chunkIds: repository.knownChunkIds(), files: {} };
    await saveBackupCache(this.deps.cache, cache);
    return { repository, cache, cacheStatus: `rebuilt from the vault: ${check.reason}` };
  }

  private lockOptions(state: AgentState, operation: LockOperation): LockOptions {
    const holder = this.deps.lockHolder ?? { hostname: 'unknown', pid: 0 };
    // A backup waits for a running prune; a prune never waits for backups (the next run prunes).
    const waitMs = operation === 'prune' || operation === 'forget' ? 0 : (this.deps.lockWaitMs ?? 60_000);
    return { clock: this.deps.clock, holder: { name: state.machineName, ...holder }, waitMs, ...(this.deps.sleep === undefined ? {} : { sleep: this.deps.sleep }) };
  }

  /**
   * One pass of the scheduler: when a slot of the schedule has passed since the last backup, a snapshot of every
   * item straight to the vault (under a shared lock), then retention (under an exclusive lock: forget expired
   * points, prune chunks nothing references; deferred to the next pass while another process holds the
   * repository). The pass's jobs are then reported to the vault with the machine's items and points.
   */
  async runDue(options: { now?: boolean } = {}): Promise<DirectRunReport> {
    this.unlocked();
    const startTime = this.deps.clock().toISOString();
    await this.checkIn();
    const report = await this.pass(options);
    const pruned = report.pruneDeferred === undefined && report.vaultError === undefined;
    await this.queueJobs(jobsOfDirectRun({ backups: report.backups, retention: report.retention, pruned }, { startTime, endTime: this.deps.clock().toISOString() }));
    const reported = await this.reportToVault();
    if (!reported.ok) report.vaultReportError = reported.error;
    return report;
  }

  private async pass(options: { now?: boolean }): Promise<DirectRunReport> {
    const state = await this.requireState();
    const { connectivity, subscription, allowed } = await this.operations();
    const report: DirectRunReport = { connectivity, allowed, backups: [], retention: [], chunksDeleted: 0 };
    if (allowed.backupToAzure === 'Stopped') {
      report.stopped = `Backups are stopped: the machine is ${connectivity} and the subscription is ${subscription}.`;
      return report;
    }
    const policy = state.policy;
    if (policy === undefined || state.items.length === 0) return report;
    const points = [...(state.points ?? [])];
    const now = this.deps.clock();
    const due = options.now === true || isDirectBackupDue(policy, points.at(-1)?.time, now);
    const expired = state.items.flatMap((item) =>
      directRetention(policy, points.filter((p) => p.source === item.name), now).filter((d) => !d.keep).map((d) => ({ source: item.name, ...d })),
    );
    if (!due && expired.length === 0) return report;
    const backedUp = new Set<string>();
    let started = now.toISOString();
    try {
      const store = await this.vaultStore(state, 'write');
      if (due) {
        await withRepositoryLock(store, 'backup', this.lockOptions(state, 'backup'), async () => {
          const { repository, cache, cacheStatus } = await this.openForBackup(store);
          report.cache = cacheStatus;
          for (const item of state.items) {
            started = this.deps.clock().toISOString();
            const backup = await this.backupItem(repository, cache, item);
            const tags = directLongTermTags(policy, now);
            points.push({ snapshotId: backup.snapshotId, source: item.name, time: backup.time, bytes: backup.bytes, ...(tags.length === 0 ? {} : { longTermTags: tags }) });
            await this.writeState({ ...(await this.requireState()), points });
            report.backups.push({ ...backup.report, startTime: started, endTime: this.deps.clock().toISOString() });
            backedUp.add(item.name);
          }
        });
      }
      if (expired.length > 0) await this.applyRetention(state, store, expired, report);
    } catch (err) {
      report.vaultError = (err as Error).message;
      // Every folder the pass should have backed up and did not is a failed backup (its item shows the error);
      // a failure of retention alone is a failed prune.
      const ended = this.deps.clock().toISOString();
      const missed = due ? state.items.filter((i) => !backedUp.has(i.name)) : [];
      await this.queueJobs(missed.length > 0
        ? missed.map((i) => failedJob('DirectBackup', started, ended, err, { group: DIRECT_GROUP, source: i.name }))
        : [failedJob('Prune', started, ended, err)]);
    }
    return report;
  }

  /** One folder straight to the vault; unchanged files (by the cache) are not read. Saves the cache after the snapshot. */
  private async backupItem(repository: Repository, cache: BackupCacheContent, item: DirectItem) {
    const previous = cache.files[item.name];
    const files: Record<string, CachedFile> = {};
    let filesRead = 0;
    let filesUnchanged = 0;
    const doc = await backupFolder({
      repository,
      files: this.deps.files,
      clock: this.deps.clock,
      unchangedFileChunks: (entry) => {
        const chunks = unchangedChunks(previous, entry, (id) => repository.hasChunk(id));
        if (chunks === undefined) filesRead++;
        else filesUnchanged++;
        return chunks;
      },
      fileStored: (entry, chunks) => {
        if (entry.ino !== undefined && entry.ctimeMs !== undefined) files[entry.path] = { size: entry.size, mtimeMs: entry.mtimeMs, ino: entry.ino, ctimeMs: entry.ctimeMs, chunks: [...chunks] };
      },
    }, { root: item.path, sourceName: item.name });
    cache.snapshotIds.push(doc.id);
    cache.chunkIds = repository.knownChunkIds();
    cache.files[item.name] = files;
    await saveBackupCache(this.deps.cache, cache);
    return {
      snapshotId: doc.id,
      time: doc.time,
      bytes: doc.stats.bytes,
      report: { source: item.name, snapshotId: doc.id, filesRead, filesUnchanged, newChunks: doc.stats.newChunks, newChunkBytes: doc.stats.newChunkBytes },
    };
  }

  /**
   * Forgets expired points and prunes the vault repository under an exclusive lock; while another process holds the
   * repository (a backup, a restore) it is deferred to the next pass (`report.pruneDeferred`).
   */
  private async applyRetention(state: AgentState, store: RepositoryStore, expired: Array<{ source: string } & RetentionDecision>, report: DirectRunReport): Promise<void> {
    const gone = new Set(expired.map((e) => e.snapshotId));
    try {
      report.chunksDeleted = await withRepositoryLock(store, 'prune', this.lockOptions(state, 'prune'), async () => {
        const { repository, cache } = await this.openForBackup(store);
        await forgetSnapshots(repository, [...gone]);
        cache.snapshotIds = cache.snapshotIds.filter((id) => !gone.has(id));
        // A crash during the prune would leave a cache naming deleted chunks yet matching the vault's snapshots:
        // drop it first, so the next run rebuilds it from the vault.
        await this.deps.cache.delete(BACKUP_CACHE_KEY);
        const { chunksDeleted } = await pruneRepository(repository);
        cache.chunkIds = repository.knownChunkIds();
        await saveBackupCache(this.deps.cache, cache);
        return chunksDeleted;
      });
    } catch (err) {
      if (!isKluisErrorLike(err) || err.code !== 'KluisRepositoryLocked') throw err;
      report.pruneDeferred = err.message;
      return;
    }
    const after = await this.requireState();
    await this.writeState({ ...after, points: (after.points ?? []).filter((p) => !gone.has(p.snapshotId)) });
    report.retention.push(...expired);
  }

  /** Queues jobs for the vault in the state (bounded), so they survive a restart and an unreachable vault. */
  private async queueJobs(jobs: ReportedJob[]): Promise<void> {
    if (this.deps.registrar.report === undefined) return;
    await enqueueJobs(this.stateFile, jobs);
  }

  /**
   * Reports the machine's folders, queued jobs and points to the vault (signed, the report's digest bound): the
   * vault shows them as MAB items, jobs and recovery points. Accepted jobs leave the queue; when the vault cannot
   * be reached they stay for the next report.
   */
  async reportToVault(): Promise<{ ok: boolean; error?: string }> {
    const send = this.deps.registrar.report?.bind(this.deps.registrar);
    if (send === undefined) return { ok: true };
    return sendQueuedReport(
      this.stateFile,
      async (state, json) => send(state.endpoint, await this.sign(state, 'report', { reportSha256: reportDigest(json) }), json),
      (state, jobs) => buildDirectReport({ machineName: state.machineName, items: state.items, points: state.points ?? [], jobs, now: this.deps.clock() }),
    );
  }

  private readonly stateFile: ReportQueue<AgentState> = {
    readState: () => this.readState(),
    requireState: () => this.requireState(),
    writeState: (state) => this.writeState(state),
  };

  /** The points in the vault (this machine's, or `fromMachine`'s with its passphrase), oldest first. */
  async points(input: { fromMachine?: string; passphrase?: string } = {}): Promise<LocalPoint[]> {
    const repository = await this.vaultRepository(input.fromMachine, input.passphrase);
    const points: LocalPoint[] = [];
    for (const id of await repository.listSnapshotIds()) {
      const doc = await repository.loadSnapshot(id);
      points.push({ snapshotId: id, source: doc.source.name, time: doc.time });
    }
    return points.sort((a, b) => a.time.localeCompare(b.time));
  }

  /**
   * The vault repository through a read-only SAS, once no prune holds it (a reader cannot write a lock of its own:
   * it waits, bounded, for a live exclusive lock to go).
   */
  private async vaultRepository(fromMachine: string | undefined, passphrase: string | undefined, operation: LockOperation = 'restore'): Promise<Repository> {
    const state = await this.requireState();
    const { connectivity, subscription, allowed } = await this.operations();
    if (allowed.restoreFromAzure === 'Stopped') throw errors.backupServerOperationStopped('Restore from Azure', connectivity, subscription);
    const store = await this.vaultStore(state, 'read', fromMachine);
    const repository = passphrase !== undefined ? await openRepository(store, passphrase, { knownChunks: [] }) : await this.unlocked().onStore(store, []);
    await awaitNoExclusiveLock(store, operation, this.lockOptions(state, operation));
    return repository;
  }

  /**
   * Restores a point (whole, or some files and folders) from the vault into a folder (original or alternate
   * location); every chunk is authenticated and checked against its id. `fromMachine` + its `passphrase`: another
   * machine's backups (restore on a second machine). A Restore job (Completed or Failed) is reported to the vault.
   */
  async restore(input: { snapshotId: string; targetRoot: string; paths?: string[]; fromMachine?: string; passphrase?: string }): Promise<RestoreSnapshotResult> {
    const startTime = this.deps.clock().toISOString();
    try {
      const repository = await this.vaultRepository(input.fromMachine, input.passphrase);
      const result = await restoreSnapshot({ repository, files: this.deps.files }, { snapshotId: input.snapshotId, targetRoot: input.targetRoot, ...(input.paths === undefined ? {} : { paths: input.paths }) });
      await this.queueJobs([{ jobId: randomUUID(), kind: 'Restore', status: 'Completed', startTime, endTime: this.deps.clock().toISOString(), bytes: result.bytes }]);
      return result;
    } catch (err) {
      if (await this.readState() !== undefined) await this.queueJobs([failedJob('Restore', startTime, this.deps.clock().toISOString(), err)]);
      throw err;
    } finally {
      await this.reportToVault();
    }
  }

  /**
   * Checks every point in the vault and every stored chunk (authenticated, matching its id), read through a
   * read-only SAS (`kluis-server verify` in direct mode).
   */
  async verify(): Promise<VerifyReport> {
    return verifyRepository(await this.vaultRepository(undefined, undefined));
  }
}
