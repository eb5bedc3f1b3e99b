/**
 * Direct mode (issue 16 Deliver 7; Azure's MARS agent): one machine's files and folders backed up straight to the
 * vault, without a local copy. The repository (same format and crypto as the backup server's) lives in the
 * machine's vault container, reached with the vault-copy SAS; the vault shows the machine as a MAB container
 * (`containerType: "Windows"`), with no backup engine. Incremental by the local cache (backup-cache.ts): unchanged
 * files are not read, known chunks are neither uploaded nor probed. Schedule and retention: direct-policy.ts.
 * The connectivity × subscription table applies to the vault path only (there are no local points).
 */
import { readJsonState, writeJsonState } from '../server/json-state';
import { errors } from '../../domain/errors';
import { allowedOperations, connectivityOf, type AllowedOperations, type Connectivity, type ServerSubscriptionState } from '../../domain/backup-server/connectivity';
import { directLongTermTags, directRetention, isDirectBackupDue, validateDirectPolicy, type DirectPolicy } from '../../domain/backup-server/direct-policy';
import { parseVaultCredentials } from '../../domain/backup-server/vault-credentials';
import type { LocalFileSystem } from '../../stores/local-file-system';
import type { RepositoryStore } from '../../stores/repository-store';
import type { VaultCopyGrant } from '../../stores/vault-copy-access';
import type { RegisteredEngine, VaultRegistrar } from '../../stores/vault-registrar';
import type { ChunkerParams } from '../domain/fastcdc';
import type { LocalPoint, RetentionDecision } from '../domain/protection-group';
import { snapshotIdOfKey, SNAPSHOTS_PREFIX } from '../domain/repository-layout';
import { createServerIdentity, publicKeyOfIdentity, signServerRequest } from '../registration-client';
import { backupFolder } from '../repository/backup-folder';
import { forgetSnapshots, pruneRepository } from '../repository/prune';
import { checkPassphrase, createRepository, generatePassphrase, openRepository, type Repository } from '../repository/repository';
import { restoreSnapshot, type RestoreSnapshotResult } from '../repository/restore-snapshot';
import { BACKUP_CACHE_KEY, checkBackupCache, saveBackupCache, unchangedChunks, type BackupCacheContent, type CachedFile } from './backup-cache';

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
  points?: LocalPoint[];
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
  /** Tests only: a cheaper KDF and smaller chunks. */
  repositoryOptions?: { kdf?: { logN: number }; chunker?: ChunkerParams };
}

export interface DirectRunReport {
  connectivity: Connectivity;
  allowed: AllowedOperations;
  stopped?: string;
  /** 'valid', or why the local cache was rebuilt from the vault. */
  cache?: string;
  backups: Array<{ source: string; snapshotId: string; filesRead: number; filesUnchanged: number; newChunks: number; newChunkBytes: number }>;
  retention: Array<{ source: string } & RetentionDecision>;
  chunksDeleted: number;
  /** Why the run failed against the vault (unreachable or refusing), if it did. */
  vaultError?: string;
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
  async register(input: { credentialsFile: string; machineName: string; passphrase?: string }): Promise<{ engine: RegisteredEngine; generatedPassphrase?: string }> {
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
    return input.passphrase === undefined ? { engine, generatedPassphrase: passphrase } : { engine };
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

  private async sign(state: AgentState, operation: 'checkIn' | 'vaultCopyAccess', args?: Record<string, string>) {
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
   * The vault repository on a fresh write SAS, with its chunk index and the file entries from the local cache when
   * the cache is intact and matches the vault, else rebuilt from the vault (`cacheStatus` says which and why).
   */
  private async openForBackup(state: AgentState): Promise<{ repository: Repository; cache: BackupCacheContent; cacheStatus: string }> {
    const store = await this.vaultStore(state, 'write');
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

  /**
   * One pass of the scheduler: when a slot of the schedule has passed since the last backup, a snapshot of every
   * item straight to the vault, then retention (forget expired points, prune chunks nothing references).
   */
  async runDue(options: { now?: boolean } = {}): Promise<DirectRunReport> {
    this.unlocked();
    await this.checkIn();
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
    try {
      const { repository, cache, cacheStatus } = await this.openForBackup(state);
      report.cache = cacheStatus;
      for (const item of due ? state.items : []) {
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
        const tags = directLongTermTags(policy, now);
        points.push({ snapshotId: doc.id, source: item.name, time: doc.time, ...(tags.length === 0 ? {} : { longTermTags: tags }) });
        cache.snapshotIds.push(doc.id);
        cache.chunkIds = repository.knownChunkIds();
        cache.files[item.name] = files;
        await saveBackupCache(this.deps.cache, cache);
        await this.writeState({ ...(await this.requireState()), points });
        report.backups.push({ source: item.name, snapshotId: doc.id, filesRead, filesUnchanged, newChunks: doc.stats.newChunks, newChunkBytes: doc.stats.newChunkBytes });
      }
      if (expired.length > 0) {
        const gone = new Set(expired.map((e) => e.snapshotId));
        await forgetSnapshots(repository, [...gone]);
        cache.snapshotIds = cache.snapshotIds.filter((id) => !gone.has(id));
        // A crash during the prune would leave a cache naming deleted chunks yet matching the vault's snapshots:
        // drop it first, so the next run rebuilds it from the vault.
        await this.deps.cache.delete(BACKUP_CACHE_KEY);
        report.chunksDeleted = (await pruneRepository(repository)).chunksDeleted;
        cache.chunkIds = repository.knownChunkIds();
        await saveBackupCache(this.deps.cache, cache);
        await this.writeState({ ...(await this.requireState()), points: points.filter((p) => !gone.has(p.snapshotId)) });
        report.retention.push(...expired);
      }
    } catch (err) {
      report.vaultError = (err as Error).message;
    }
    return report;
  }

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

  private async vaultRepository(fromMachine: string | undefined, passphrase: string | undefined): Promise<Repository> {
    const state = await this.requireState();
    const { connectivity, subscription, allowed } = await this.operations();
    if (allowed.restoreFromAzure === 'Stopped') throw errors.backupServerOperationStopped('Restore from Azure', connectivity, subscription);
    const store = await this.vaultStore(state, 'read', fromMachine);
    return passphrase !== undefined ? openRepository(store, passphrase, { knownChunks: [] }) : this.unlocked().onStore(store, []);
  }

  /**
   * Restores a point (whole, or some files and folders) from the vault into a folder (original or alternate
   * location); every chunk is authenticated and checked against its id. `fromMachine` + its `passphrase`: another
   * machine's backups (restore on a second machine).
   */
  async restore(input: { snapshotId: string; targetRoot: string; paths?: string[]; fromMachine?: string; passphrase?: string }): Promise<RestoreSnapshotResult> {
    const repository = await this.vaultRepository(input.fromMachine, input.passphrase);
    return restoreSnapshot({ repository, files: this.deps.files }, { snapshotId: input.snapshotId, targetRoot: input.targetRoot, ...(input.paths === undefined ? {} : { paths: input.paths }) });
  }
}
