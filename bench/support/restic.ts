/**
 * The restic baseline: the Debian package's `restic` backing up, incrementally backing up and restoring
 * a local image file into a local repository. Installs the package with apt-get when it is missing.
 */
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { aptInstall } from './debian-package';
import { runTool } from './run-tool';
import { timed } from './stats';

/** A benchmark-only repository password (restic refuses to work without one). */
const RESTIC_ENV = { RESTIC_PASSWORD: 'kluis-bench', RESTIC_PROGRESS_FPS: '0.2' };

export interface ResticBackupSummary {
  ms: number;
  /** Bytes restic added to the repository (after dedup and compression). */
  dataAdded: number;
  totalBytesProcessed: number;
}

/** restic's version line; installs the Debian package first when `restic` is not on PATH. */
export function ensureRestic(log: (line: string) => void = console.log): string {
  const version = resticVersion();
  if (version) return version;
  const installedOk = aptInstall('restic', log);
  const installed = resticVersion();
  if (!installedOk || !installed) {
    throw new Error('Could not install restic with apt-get (needs root or passwordless sudo); install the `restic` package and run again.');
  }
  log(`installed ${installed}`);
  return installed;
}

function resticVersion(): string | undefined {
  const result = spawnSync('restic', ['version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export class ResticRepo {
  constructor(
    readonly repoDir: string,
    private readonly cacheDir: string,
  ) {}

  async init(): Promise<void> {
    await rm(this.repoDir, { recursive: true, force: true });
    await this.run(['init']);
  }

  /** Backs up one file; restic picks the previous snapshot of the same path as parent (incremental). */
  async backup(file: string): Promise<ResticBackupSummary> {
    const { result, ms } = await timed(() => this.run(['backup', '--json', '--quiet', file]));
    const summaryLine = result.split('\n').find((line) => line.includes('"message_type":"summary"'));
    if (!summaryLine) throw new Error(`restic backup printed no summary:\n${result.slice(-2000)}`);
    const summary = JSON.parse(summaryLine) as { data_added: number; total_bytes_processed: number };
    return { ms, dataAdded: summary.data_added, totalBytesProcessed: summary.total_bytes_processed };
  }

  /** Restores the latest snapshot into `targetDir` (emptied first); returns the time taken. */
  async restoreLatest(targetDir: string): Promise<number> {
    await rm(targetDir, { recursive: true, force: true });
    const { ms } = await timed(() => this.run(['restore', 'latest', '--target', targetDir]));
    return ms;
  }

  /** Size of the repository on disk (bytes). */
  sizeOnDisk(): number {
    const result = spawnSync('du', ['-sb', this.repoDir], { encoding: 'utf8' });
    return Number(result.stdout.split(/\s/)[0]);
  }

  private run(args: string[]): Promise<string> {
    return runTool('restic', ['--repo', this.repoDir, '--cache-dir', this.cacheDir, ...args], { env: { ...process.env, ...RESTIC_ENV } });
  }
}
