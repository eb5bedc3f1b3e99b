/**
 * The backup server (issue 16): registration with a vault, protection groups, and the daily local points with
 * their 1–5 day retention. Its state (registration, groups; no secret) is one JSON object in a state store; its
 * backups live in the repository, encrypted with the passphrase chosen (or generated and shown once) at
 * registration. The vault never receives the passphrase.
 */
import { readJsonState, writeJsonState } from './json-state';
import { randomBytes, randomUUID } from 'node:crypto';
import { errors, isKluisErrorLike } from '../../domain/errors';
import { parseVaultCredentials } from '../../domain/backup-server/vault-credentials';
import { allowedOperations, connectivityOf, type AllowedOperations, type Connectivity, type ServerSubscriptionState } from '../../domain/backup-server/connectivity';
import type { VaultCopyGrant } from '../../stores/vault-copy-access';
import { createServerIdentity, publicKeyOfIdentity, signServerRequest } from '../registration-client';
import { copySnapshotsToVault } from '../repository/copy-to-vault';
import { restoreSnapshot, type RestoreSnapshotResult } from '../repository/restore-snapshot';
import type { LocalFileSystem } from '../../stores/local-file-system';
import type { RepositoryStore } from '../../stores/repository-store';
import type { RegisteredEngine, VaultRegistrar } from '../../stores/vault-registrar';
import type { ChunkerParams } from '../domain/fastcdc';
import { isLocalPointDue, isOnlineCopyDue, localRetention, validateProtectionGroup, type LocalPoint, type ProtectionGroup, type RetentionDecision } from '../domain/protection-group';
import { backupFolder } from '../repository/backup-folder';
import { backupDiskImage } from '../repository/disk-image-volume';
import { rootKind, type InvalidNamePolicy, type PathStyle } from '../domain/path-rules';
import type { ImageRestoreFormat } from '../domain/disk-image';
import type { SkippedEntry } from '../domain/snapshot';
import { onlineLongTermTags, onlineRetention, parseOnlineLongTerm } from '../../domain/backup-server/online-retention';
import { forgetSnapshots, pruneRepository } from '../repository/prune';
import { rebuildIndex } from '../repository/verify-repository';
import { checkPassphrase, createRepository, generatePassphrase, openRepository, openRepositoryWithMachineKey, type Repository } from '../repository/repository';
import { MACHINE_KEY_BYTES, parseMachineWrappedKey, serializeMachineWrappedKey } from '../domain/unattended-unlock';
import { awaitNoExclusiveLock, withRepositoryLock, type LockOptions } from '../repository/repository-lock';
import type { LockOperation } from '../domain/repository-lock';
import { reportDigest, type ReportedJob } from '../../domain/backup-server/server-report';
import { buildServerReport, enqueueJobs, failedJob, jobsOfRun, reportedPoints, sendQueuedReport, type ReportQueue } from './vault-report';
import { ServerFileCache } from './file-cache';

const STATE_KEY = 'state.json';
/** The server's identity private key: a secret on the server's own disk (as Azure's agent keeps its certificate). */
const IDENTITY_KEY = 'identity-key.pem';
/** Unattended unlock: a random key of this machine (owner-only) and the master key wrapped with it. */
const MACHINE_KEY = 'machine-key';
const MACHINE_WRAPPED_KEY = 'unattended-unlock.json';

export interface ServerState {
  serverName: string;
  vault: { subscriptionId: string; resourceGroup: string; vaultName: string };
  /** Where the vault is reached (the credentials' KluisEndpoint). */
  endpoint: string;
  registeredAt: string;
  backupEngineId?: string;
  groups: ProtectionGroup[];
  /** The last successful check-in and the subscription state the vault answered then. */
  lastCheckInAt?: string;
  subscriptionState?: ServerSubscriptionState;
  /** Points copied to the vault (this server's own copy), oldest first. */
  vaultPoints?: LocalPoint[];
  /** Jobs the vault has not accepted yet (vault-report.ts; bounded). */
  pendingJobs?: ReportedJob[];
}

export interface BackupServerDeps {
  /** Where the server keeps its state (e.g. `<data>/server`). */
  state: RepositoryStore;
  /** The local repository (e.g. `<data>/repository`). */
  repository: RepositoryStore;
  files: LocalFileSystem;
  registrar: VaultRegistrar;
  /** Opens the vault copy container a grant names (implementation: BlobRepositoryStore.fromSas). */
  vaultStore: (grant: VaultCopyGrant) => RepositoryStore;
  clock: () => Date;
  /** Who holds this server's repository locks (shown to a server that finds one): this machine's name and process. */
  lockHolder?: { hostname: string; pid: number };
  /** How long a backup or copy waits for a prune (an exclusive lock) to finish before failing; default 60 s. */
  lockWaitMs?: number;
  /** Random bytes for a new machine key (default node:crypto). */
  randomBytes?: (size: number) => Buffer;
  /** Tests: how waiting for a lock pauses (default setTimeout). */
  sleep?: (ms: number) => Promise<void>;
  /** Tests only: a cheaper KDF and smaller chunks (recorded in the repository config like the defaults). */
  repositoryOptions?: { kdf?: { logN: number }; chunker?: ChunkerParams };
}

export interface RegisterInput {
  credentialsFile: string;
  serverName: string;
  /** At least 16 characters; omit to have one generated (returned once, never stored). */
  passphrase?: string;
  /** Also wrap the master key with this machine's key, so `run` unlocks after a restart without the passphrase. */
  rememberKey?: boolean;
}

export interface RegisterResult {
  engine: RegisteredEngine;
  /** Only when generated: show it once and have the operator store it safely. */
  generatedPassphrase?: string;
}

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

export class BackupServer {
  private repository: Repository | undefined;

  constructor(private readonly deps: BackupServerDeps) {}

  readState(): Promise<ServerState | undefined> {
    return readJsonState<ServerState>(this.deps.state, STATE_KEY);
  }

  private writeState(state: ServerState): Promise<void> {
    return writeJsonState(this.deps.state, STATE_KEY, state);
  }

  private async requireState(): Promise<ServerState> {
    const state = await this.readState();
    if (state === undefined) throw errors.backupServerNotRegistered('this server');
    return state;
  }

  /**
   * Registers with the vault the credentials file names. Everything is checked before anything is written: the
   * file, the passphrase, then the vault's answer (expired or foreign credentials); only then is the repository
   * created (or, on a re-registration, unlocked with the same passphrase) and the state written.
   */
  async register(input: RegisterInput): Promise<RegisterResult> {
    const credentials = parseVaultCredentials(input.credentialsFile);
    const passphrase = input.passphrase ?? generatePassphrase();
    checkPassphrase(passphrase);
    const previous = await this.readState();
    const repositoryExists = (await this.deps.repository.exists('config'));
    if (repositoryExists) this.repository = await openRepository(this.deps.repository, passphrase); // wrong passphrase: refused before registering
    // The identity key is kept only once the vault accepted it: a refused registration writes nothing.
    const identity = (await this.deps.state.read(IDENTITY_KEY))?.toString('utf8') ?? createServerIdentity().privateKeyPem;
    const engine = await this.deps.registrar.register(credentials, input.serverName, publicKeyOfIdentity(identity));
    await this.deps.state.write(IDENTITY_KEY, Buffer.from(identity, 'utf8'));
    if (!repositoryExists) {
      this.repository = await createRepository(this.deps.repository, passphrase, { clock: this.deps.clock, ...this.deps.repositoryOptions });
    }
    await this.writeState({
      serverName: input.serverName,
      vault: { subscriptionId: credentials.subscriptionId, resourceGroup: credentials.resourceGroup, vaultName: credentials.resourceName },
      endpoint: credentials.kluisEndpoint,
      registeredAt: this.deps.clock().toISOString(),
      lastCheckInAt: this.deps.clock().toISOString(),
      subscriptionState: 'Active',
      ...(engine.properties.backupEngineId === undefined ? {} : { backupEngineId: engine.properties.backupEngineId }),
      groups: previous?.groups ?? [],
      vaultPoints: previous?.vaultPoints ?? [],
    });
    if (input.rememberKey === true) await this.rememberKey();
    return input.passphrase === undefined ? { engine, generatedPassphrase: passphrase } : { engine };
  }

  /**
   * Keeps the unlocked repository's master key wrapped with this machine's key (made on first use, owner-only in
   * the state folder), so `unlockUnattended` works after a restart. Unlock with the passphrase first.
   */
  async rememberKey(): Promise<void> {
    const repository = this.unlocked();
    let machineKey = await this.deps.state.read(MACHINE_KEY);
    if (machineKey === undefined || machineKey.length !== MACHINE_KEY_BYTES) {
      machineKey = (this.deps.randomBytes ?? randomBytes)(MACHINE_KEY_BYTES);
      await this.deps.state.write(MACHINE_KEY, machineKey);
    }
    await this.deps.state.write(MACHINE_WRAPPED_KEY, serializeMachineWrappedKey(repository.wrapForMachine(machineKey, this.deps.clock())));
  }

  /** Removes the machine-wrapped key and the machine key: from now on only the passphrase unlocks. */
  async forgetKey(): Promise<boolean> {
    const had = await this.deps.state.exists(MACHINE_WRAPPED_KEY);
    await this.deps.state.delete(MACHINE_WRAPPED_KEY);
    await this.deps.state.delete(MACHINE_KEY);
    return had;
  }

  /** Unlocks with the key remembered on this machine; KluisUnattendedUnlockUnavailable when there is none that fits. */
  async unlockUnattended(): Promise<Repository> {
    const wrappedBytes = await this.deps.state.read(MACHINE_WRAPPED_KEY);
    if (wrappedBytes === undefined) throw errors.unattendedUnlockUnavailable('no key is remembered on this server (kluis-server remember-key)');
    const machineKey = await this.deps.state.read(MACHINE_KEY);
    if (machineKey === undefined) throw errors.unattendedUnlockUnavailable("this machine's key is missing (a data folder copied without it)");
    const wrapped = parseMachineWrappedKey(wrappedBytes);
    if (wrapped === undefined) throw errors.unattendedUnlockUnavailable('the remembered key is damaged');
    this.repository = await openRepositoryWithMachineKey(this.deps.repository, machineKey, wrapped);
    return this.repository;
  }

  /**
   * Forgets the registration on this server once the vault unregistered it: the identity key and the state go
   * (they no longer open anything), the local repository stays, readable with the passphrase.
   */
  async forgetRegistration(): Promise<void> {
    await this.deps.state.delete(IDENTITY_KEY);
    await this.deps.state.delete(STATE_KEY);
  }

  /** Unlocks the repository for backups and restores (a wrong passphrase is refused before anything is read). */
  async unlock(passphrase: string): Promise<Repository> {
    this.repository = await openRepository(this.deps.repository, passphrase);
    return this.repository;
  }

  private unlocked(): Repository {
    if (this.repository === undefined) throw errors.passphraseIncorrect();
    return this.repository;
  }

  /** Creates or replaces a protection group (1–5 days local retention, else KluisLocalRetentionOutOfRange). */
  async protect(group: ProtectionGroup): Promise<ProtectionGroup> {
    // A source's names follow the server's platform unless given (a Windows share mounted on Linux: windows).
    group = { ...group, sources: group.sources.map((s) => ({ ...s, pathStyle: s.pathStyle ?? this.deps.files.pathStyle })) };
    for (const source of group.sources) rootKind(source.path, this.deps.files.pathStyle);
    validateProtectionGroup(group);
    parseOnlineLongTerm(group.online?.longTerm);
    const state = await this.requireState();
    const groups = state.groups.filter((g) => g.name.toLowerCase() !== group.name.toLowerCase());
    await this.writeState({ ...state, groups: [...groups, group] });
    return group;
  }

  private lockOptions(state: ServerState | undefined, operation: LockOperation): LockOptions {
    const holder = this.deps.lockHolder ?? { hostname: 'unknown', pid: 0 };
    // A backup or copy waits for a running prune; a prune never waits for backups (the next run prunes).
    const waitMs = operation === 'prune' || operation === 'forget' ? 0 : (this.deps.lockWaitMs ?? 60_000);
    return { clock: this.deps.clock, holder: { name: state?.serverName ?? 'a backup server', ...holder }, waitMs, ...(this.deps.sleep === undefined ? {} : { sleep: this.deps.sleep }) };
  }

  /** Runs `work` under a repository lock on `store` (shared for backup/copy/restore, exclusive for prune/forget). */
  private async locked<T>(store: RepositoryStore, operation: LockOperation, work: () => Promise<T>): Promise<T> {
    return withRepositoryLock(store, operation, this.lockOptions(await this.readState(), operation), work);
  }

  /** The identity private key written at registration (a re-registration keeps the same identity). */
  private async identityKey(): Promise<string> {
    const stored = await this.deps.state.read(IDENTITY_KEY);
    if (stored === undefined) throw errors.backupServerSignatureInvalid('this server has no identity key; register it again');
    return stored.toString('utf8');
  }

  private async sign(state: ServerState, operation: 'checkIn' | 'vaultCopyAccess' | 'report', args?: Record<string, string>) {
    const v = state.vault;
    const vaultId = `/subscriptions/${v.subscriptionId}/resourceGroups/${v.resourceGroup}/providers/Microsoft.RecoveryServices/vaults/${v.vaultName}`;
    return signServerRequest({ privateKeyPem: await this.identityKey(), vaultId, serverName: state.serverName }, operation, this.deps.clock(), args);
  }

  /**
   * Checks in with the vault (signed with the identity key). A vault that cannot be reached leaves the last
   * successful check-in in place: after 15 days without one the server is Disconnected.
   */
  async checkIn(options: { report?: boolean } = {}): Promise<{ ok: boolean; error?: string }> {
    const state = await this.requireState();
    try {
      const answer = await this.deps.registrar.checkIn(state.endpoint, await this.sign(state, 'checkIn'));
      await this.writeState({ ...state, lastCheckInAt: answer.lastCheckInAt, subscriptionState: answer.subscriptionState });
      if (answer.subscriptionState === 'Deprovisioned') await this.writeState({ ...(await this.requireState()), vaultPoints: [] }); // the vault deleted them
      if (options.report !== false) await this.reportToVault();
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  /** Queues jobs for the vault in the state (bounded), so they survive a restart and an unreachable vault. */
  private async queueJobs(jobs: ReportedJob[]): Promise<void> {
    if (this.deps.registrar.report === undefined) return; // a registrar that cannot report: nothing to keep
    await enqueueJobs(this.stateFile, jobs);
  }

  /**
   * Reports sources, queued jobs and recovery points to the vault (signed, the report's digest bound). The jobs the
   * vault accepted leave the queue; when the vault cannot be reached they stay for the next report.
   */
  async reportToVault(): Promise<{ ok: boolean; error?: string }> {
    const report = this.deps.registrar.report?.bind(this.deps.registrar);
    if (report === undefined) return { ok: true };
    return sendQueuedReport(
      this.stateFile,
      async (state, json) => report(state.endpoint, await this.sign(state, 'report', { reportSha256: reportDigest(json) }), json),
      async (state, jobs) => buildServerReport({ serverName: state.serverName, groups: state.groups, jobs, points: await reportedPoints(this.repository, state.vaultPoints ?? []), now: this.deps.clock() }),
    );
  }

  private readonly stateFile: ReportQueue<ServerState> = {
    readState: () => this.readState(),
    requireState: () => this.requireState(),
    writeState: (state) => this.writeState(state),
  };

  /** What the seed's table allows now, from the last check-in's time and subscription state. */
  async operations(): Promise<{ connectivity: Connectivity; subscription: ServerSubscriptionState; allowed: AllowedOperations }> {
    const state = await this.requireState();
    const connectivity = connectivityOf(state.lastCheckInAt, this.deps.clock());
    const subscription = state.subscriptionState ?? 'Active';
    return { connectivity, subscription, allowed: allowedOperations(connectivity, subscription) };
  }

  private async vaultCopy(state: ServerState, access: 'read' | 'write', sourceServer?: string): Promise<RepositoryStore> {
    const args: Record<string, string> = { access, ...(sourceServer === undefined ? {} : { sourceServer }) };
    const grant = await this.deps.registrar.vaultCopyAccess(state.endpoint, await this.sign(state, 'vaultCopyAccess', args));
    return this.deps.vaultStore(grant);
  }

  /** The points of this server's copy in the vault (as recorded when copied). */
  async vaultPoints(): Promise<LocalPoint[]> {
    return (await this.requireState()).vaultPoints ?? [];
  }

  /** `kluis-server verify --rebuild-index` (version 2): the index written anew from the pack headers, under the exclusive lock. */
  async rebuildIndex(): Promise<Awaited<ReturnType<typeof rebuildIndex>>> {
    const repository = this.unlocked();
    return this.locked(this.deps.repository, 'prune', () => rebuildIndex(repository));
  }

  /**
   * Restores a point: from the server's disk when the point is still there, else from the vault copy. With
   * `fromServer` and its `passphrase`, from another server's vault copy in the same vault (a second server).
   * The seed's table decides whether each is allowed.
   */
  async restore(input: {
    snapshotId: string; targetRoot: string; paths?: string[]; fromServer?: string; passphrase?: string;
    targetStyle?: PathStyle; onInvalidName?: InvalidNamePolicy; imageFormat?: ImageRestoreFormat;
  }): Promise<RestoreSnapshotResult & { from: 'disk' | 'vault' }> {
    const state = await this.requireState();
    const { connectivity, subscription, allowed } = await this.operations();
    const files = this.deps.files;
    const { fromServer: _server, passphrase: _passphrase, ...spec } = input;
    if (input.fromServer === undefined && this.repository !== undefined && (await this.repository.store.exists(`snapshots/${input.snapshotId}`))) {
      if (allowed.restoreFromDisk === 'Stopped') throw errors.backupServerOperationStopped('Restore from disk', connectivity, subscription);
      const repository = this.repository;
      return { ...(await this.restoreJob(() => this.locked(repository.store, 'restore', () => restoreSnapshot({ repository, files }, spec)))), from: 'disk' };
    }
    if (allowed.restoreFromAzure === 'Stopped') throw errors.backupServerOperationStopped('Restore from Azure', connectivity, subscription);
    const store = await this.vaultCopy(state, 'read', input.fromServer);
    const repository = input.passphrase !== undefined ? await openRepository(store, input.passphrase) : await this.unlocked().onStore(store);
    // The vault grants read-only access for restores: no lock of our own, but never while its owner prunes it.
    await awaitNoExclusiveLock(store, 'restore', this.lockOptions(state, 'restore'));
    return { ...(await this.restoreJob(() => restoreSnapshot({ repository, files }, spec))), from: 'vault' };
  }

  /** Runs a restore as a Restore job the vault is told about (Completed with its bytes, or Failed with its code). */
  private async restoreJob(work: () => Promise<RestoreSnapshotResult>): Promise<RestoreSnapshotResult> {
    const startTime = this.deps.clock().toISOString();
    try {
      const result = await work();
      await this.queueJobs([{ jobId: randomUUID(), kind: 'Restore', status: 'Completed', startTime, endTime: this.deps.clock().toISOString(), bytes: result.bytes }]);
      return result;
    } catch (err) {
      await this.queueJobs([failedJob('Restore', startTime, this.deps.clock().toISOString(), err)]);
      throw err;
    } finally {
      await this.reportToVault();
    }
  }

  async localPoints(): Promise<LocalPoint[]> {
    const repository = this.unlocked();
    const points: LocalPoint[] = [];
    for (const id of await repository.listSnapshotIds()) {
      const doc = await repository.loadSnapshot(id);
      points.push({ snapshotId: id, source: doc.source.name, time: doc.time });
    }
    return points.sort((a, b) => a.time.localeCompare(b.time));
  }

  /**
   * One pass of the scheduler: a local point for every source whose daily point is due, then each group's local
   * retention (forget expired points, prune chunks nothing references any more), the online copy, and the report to
   * the vault. Backups take a shared repository lock, forget + prune an exclusive one (repository-lock.ts), so they
   * never overlap, in this process or another. The steps are public: the app's server role runs them as the
   * activities of one orchestration per due group (functions/server-role/, orchestrations/backup-server-group-run.ts).
   */
  async runDue(): Promise<RunReport> {
    this.unlocked();
    const state = await this.requireState();
    const startTime = this.deps.clock().toISOString();
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
    await this.checkIn({ report: false });
    const operations = await this.operations();
    if (operations.allowed.backupToDisk !== 'Stopped') return operations;
    return { ...operations, stopped: `Backups are stopped: the server is ${operations.connectivity} and the subscription is ${operations.subscription}.` };
  }

  /**
   * A local point of one source when its daily point is due; undefined when it is not (or the group or source is
   * gone). A failure is queued as a Failed LocalBackup job for the vault, then thrown.
   */
  async backUpSource(groupName: string, sourceName: string): Promise<RunReport['backups'][number] | undefined> {
    const repository = this.unlocked();
    const state = await this.requireState();
    const group = state.groups.find((g) => g.name.toLowerCase() === groupName.toLowerCase());
    const source = group?.sources.find((s) => s.name === sourceName);
    if (group === undefined || source === undefined) return undefined;
    const last = (await this.localPoints()).filter((p) => p.source === sourceKey(group, source.name)).at(-1);
    if (!isLocalPointDue(group, last?.time, this.deps.clock())) return undefined;
    const started = this.deps.clock().toISOString();
    const deps = { repository, files: this.deps.files, clock: this.deps.clock };
    // Unchanged files are not read (file-cache.ts; disk images are read whole).
    const cache = source.kind === 'DiskImage' ? undefined : await ServerFileCache.open(this.deps.state, repository);
    const hooks = cache?.hooksFor(sourceKey(group, source.name));
    const doc = await this.locked(repository.store, 'backup', () =>
      source.kind === 'DiskImage'
        ? backupDiskImage(deps, { image: source.path, sourceName: sourceKey(group, source.name) })
        : backupFolder({ ...deps, ...(hooks === undefined ? {} : { unchangedFileChunks: hooks.unchangedFileChunks, fileStored: hooks.fileStored }) }, {
          root: source.path,
          sourceName: sourceKey(group, source.name),
          ...(source.pathStyle === undefined ? {} : { pathStyle: source.pathStyle }),
          filter: { ...(source.include === undefined ? {} : { include: source.include }), ...(source.exclude === undefined ? {} : { exclude: source.exclude }) },
        }),
    ).catch(async (err: unknown) => {
      await this.queueJobs([failedJob('LocalBackup', started, this.deps.clock().toISOString(), err, { group: group.name, source: source.name })]);
      throw err;
    });
    if (cache !== undefined && hooks !== undefined) await cache.recordSnapshot(sourceKey(group, source.name), doc.id, hooks.files);
    return {
      ...(hooks === undefined ? {} : hooks.counts),
      ...(cache === undefined ? {} : { fileCache: cache.status }),
      group: group.name, source: source.name, snapshotId: doc.id, newChunkBytes: doc.stats.newChunkBytes, startTime: started, endTime: this.deps.clock().toISOString(),
      ...(doc.stats.skipped === undefined ? {} : { skippedCount: doc.stats.skipped, skipped: doc.stats.skippedEntries ?? [] }),
      ...(doc.stats.excluded === undefined ? {} : { excluded: doc.stats.excluded }),
    };
  }

  /**
   * The groups' local retention (all groups, or those named): expired points are forgotten and the repository
   * pruned. While another process backs up or restores (a shared lock) the prune is deferred to the next run.
   */
  async expireLocalPoints(groupNames?: readonly string[]): Promise<Pick<RunReport, 'retention' | 'chunksDeleted' | 'pruneDeferred'>> {
    const repository = this.unlocked();
    const state = await this.requireState();
    const now = this.deps.clock();
    const points = await this.localPoints();
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
    const cache = await ServerFileCache.open(this.deps.state, repository);
    await cache.invalidate();
    try {
      result.chunksDeleted = await this.locked(repository.store, 'prune', async () => {
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
    await this.runOnlineCopies(this.unlocked(), result, groupNames);
    return result;
  }

  /** A pass's last step: its jobs queued for the vault, then the report (a failed report stays queued; it never fails the pass). */
  async finishRun(report: RunReport, startTime: string): Promise<RunReport> {
    await this.queueJobs(jobsOfRun(report, { startTime, endTime: this.deps.clock().toISOString() }));
    const reported = await this.reportToVault();
    return reported.ok ? report : { ...report, vaultReportError: reported.error };
  }

  /** The online copy: each source's newest local point once a day at the group's online time, then vault retention. */
  private async runOnlineCopies(repository: Repository, report: Pick<RunReport, 'vaultCopies' | 'vaultRetention'>, groupNames?: readonly string[]): Promise<void> {
    const state = await this.requireState();
    const groups = state.groups.filter((g) => isNamed(g, groupNames));
    const now = this.deps.clock();
    const local = await this.localPoints();
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
    const store = await this.vaultCopy(state, 'write');
    for (const point of due) {
      const started = this.deps.clock().toISOString();
      const copied = await this.locked(store, 'copy', () => copySnapshotsToVault(repository, store, [point.snapshotId]));
      const policyGroup = state.groups.find((g) => point.source.startsWith(`${g.name}/`));
      const tags = policyGroup?.online === undefined ? [] : onlineLongTermTags(policyGroup.online, now);
      vaultPoints.push({ ...point, time: now.toISOString(), ...(tags.length === 0 ? {} : { longTermTags: tags }) });
      const [group, ...rest] = point.source.split('/');
      report.vaultCopies.push({ group, source: rest.join('/'), snapshotId: point.snapshotId, chunksCopied: copied.chunksCopied, bytesCopied: copied.bytesCopied, startTime: started, endTime: this.deps.clock().toISOString() });
    }
    if (expired.length > 0) {
      const vaultRepository = await repository.onStore(store);
      await this.locked(store, 'prune', async () => {
        await forgetSnapshots(vaultRepository, expired.map((e) => e.snapshotId));
        await pruneRepository(vaultRepository);
      });
      report.vaultRetention.push(...expired);
    }
    const gone = new Set(expired.map((e) => e.snapshotId));
    await this.writeState({ ...(await this.requireState()), vaultPoints: vaultPoints.filter((p) => !gone.has(p.snapshotId)) });
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
