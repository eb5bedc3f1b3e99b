/**
 * The backup server (issue 16): registration with a vault, protection groups, and the daily local points with
 * their 1–5 day retention. Its state (registration, groups; no secret) is one JSON object in a state store; its
 * backups live in the repository, encrypted with the passphrase chosen (or generated and shown once) at
 * registration. The vault never receives the passphrase.
 */
import { errors } from '../../domain/errors';
import { parseVaultCredentials } from '../../domain/backup-server/vault-credentials';
import type { LocalFileSystem } from '../../stores/local-file-system';
import type { RepositoryStore } from '../../stores/repository-store';
import type { RegisteredEngine, VaultRegistrar } from '../../stores/vault-registrar';
import type { ChunkerParams } from '../domain/fastcdc';
import { isLocalPointDue, localRetention, validateProtectionGroup, type LocalPoint, type ProtectionGroup, type RetentionDecision } from '../domain/protection-group';
import { backupFolder } from '../repository/backup-folder';
import { forgetSnapshots, pruneRepository } from '../repository/prune';
import { checkPassphrase, createRepository, generatePassphrase, openRepository, type Repository } from '../repository/repository';

const STATE_KEY = 'state.json';

export interface ServerState {
  serverName: string;
  vault: { subscriptionId: string; resourceGroup: string; vaultName: string };
  registeredAt: string;
  backupEngineId?: string;
  groups: ProtectionGroup[];
}

export interface BackupServerDeps {
  /** Where the server keeps its state (e.g. `<data>/server`). */
  state: RepositoryStore;
  /** The local repository (e.g. `<data>/repository`). */
  repository: RepositoryStore;
  files: LocalFileSystem;
  registrar: VaultRegistrar;
  clock: () => Date;
  /** Tests only: a cheaper KDF and smaller chunks (recorded in the repository config like the defaults). */
  repositoryOptions?: { kdf?: { logN: number }; chunker?: ChunkerParams };
}

export interface RegisterInput {
  credentialsFile: string;
  serverName: string;
  /** At least 16 characters; omit to have one generated (returned once, never stored). */
  passphrase?: string;
}

export interface RegisterResult {
  engine: RegisteredEngine;
  /** Only when generated: show it once and have the operator store it safely. */
  generatedPassphrase?: string;
}

export interface RunReport {
  backups: Array<{ group: string; source: string; snapshotId: string; newChunkBytes: number }>;
  retention: Array<{ group: string; source: string } & RetentionDecision>;
  chunksDeleted: number;
}

export class BackupServer {
  private repository: Repository | undefined;

  constructor(private readonly deps: BackupServerDeps) {}

  async readState(): Promise<ServerState | undefined> {
    const bytes = await this.deps.state.read(STATE_KEY);
    return bytes === undefined ? undefined : (JSON.parse(bytes.toString('utf8')) as ServerState);
  }

  private async writeState(state: ServerState): Promise<void> {
    await this.deps.state.write(STATE_KEY, Buffer.from(`${JSON.stringify(state, null, 2)}\n`, 'utf8'));
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
    const engine = await this.deps.registrar.register(credentials, input.serverName);
    if (!repositoryExists) {
      this.repository = await createRepository(this.deps.repository, passphrase, { clock: this.deps.clock, ...this.deps.repositoryOptions });
    }
    await this.writeState({
      serverName: input.serverName,
      vault: { subscriptionId: credentials.subscriptionId, resourceGroup: credentials.resourceGroup, vaultName: credentials.resourceName },
      registeredAt: this.deps.clock().toISOString(),
      ...(engine.properties.backupEngineId === undefined ? {} : { backupEngineId: engine.properties.backupEngineId }),
      groups: previous?.groups ?? [],
    });
    return input.passphrase === undefined ? { engine, generatedPassphrase: passphrase } : { engine };
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
    validateProtectionGroup(group);
    const state = await this.requireState();
    const groups = state.groups.filter((g) => g.name.toLowerCase() !== group.name.toLowerCase());
    await this.writeState({ ...state, groups: [...groups, group] });
    return group;
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
   * retention (forget expired points, prune chunks nothing references any more). Backups and prune run one after
   * the other, never at the same time.
   */
  async runDue(): Promise<RunReport> {
    const repository = this.unlocked();
    const state = await this.requireState();
    const report: RunReport = { backups: [], retention: [], chunksDeleted: 0 };
    const now = this.deps.clock();
    let points = await this.localPoints();
    for (const group of state.groups) {
      for (const source of group.sources) {
        const last = points.filter((p) => p.source === sourceKey(group, source.name)).at(-1);
        if (!isLocalPointDue(group, last?.time, now)) continue;
        const doc = await backupFolder({ repository, files: this.deps.files, clock: this.deps.clock }, { root: source.path, sourceName: sourceKey(group, source.name) });
        report.backups.push({ group: group.name, source: source.name, snapshotId: doc.id, newChunkBytes: doc.stats.newChunkBytes });
      }
    }
    points = await this.localPoints();
    const expired: string[] = [];
    for (const group of state.groups) {
      for (const source of group.sources) {
        const decisions = localRetention(group, points.filter((p) => p.source === sourceKey(group, source.name)), now);
        for (const d of decisions) {
          report.retention.push({ group: group.name, source: source.name, ...d });
          if (!d.keep) expired.push(d.snapshotId);
        }
      }
    }
    if (expired.length > 0) {
      await forgetSnapshots(repository, expired);
      report.chunksDeleted = (await pruneRepository(repository)).chunksDeleted;
    }
    return report;
  }
}

/** A source's name in the repository: group and source, so two groups may protect sources of the same name. */
export function sourceKey(group: ProtectionGroup, sourceName: string): string {
  return `${group.name}/${sourceName}`;
}
