/**
 * The borg baseline: Debian's `borgbackup` (1.2) backing up a folder into a local repository with lz4 compression
 * and repokey encryption (AES-CTR + HMAC-SHA256), incrementally backing it up and extracting the latest archive.
 * Installs the package with apt-get when it is missing; `ensureBorg` returns undefined when that fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { aptInstall } from './debian-package';
import { runTool } from './run-tool';
import { timed } from './stats';

export function ensureBorg(log: (line: string) => void = console.log): string | undefined {
  const version = borgVersion();
  if (version) return version;
  aptInstall('borgbackup', log);
  const installed = borgVersion();
  log(installed ? `installed ${installed}` : 'could not install borgbackup (needs root or passwordless sudo): running without borg');
  return installed;
}

function borgVersion(): string | undefined {
  const result = spawnSync('borg', ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export class BorgRepo {
  private archives = 0;

  /** `home` holds borg's config, cache and security folders (BORG_BASE_DIR), apart from the user's. */
  constructor(
    readonly repoDir: string,
    private readonly home: string,
  ) {}

  async init(): Promise<number> {
    await rm(this.repoDir, { recursive: true, force: true });
    await rm(this.home, { recursive: true, force: true });
    await mkdir(this.home, { recursive: true });
    const { ms } = await timed(() => this.run(['init', '--encryption=repokey', this.repoDir]));
    return ms;
  }

  /** A new archive of `folder` (absolute); borg's files cache makes the second one incremental. Returns ms. */
  async backup(folder: string): Promise<number> {
    const name = `bench-${++this.archives}`;
    const { ms } = await timed(() => this.run(['create', '--compression', 'lz4', `${this.repoDir}::${name}`, folder]));
    return ms;
  }

  /** Extracts the latest archive into `targetDir` (emptied first); the folder lands at targetDir/<folder without '/'>. */
  async restoreLatest(targetDir: string): Promise<number> {
    await rm(targetDir, { recursive: true, force: true });
    await mkdir(targetDir, { recursive: true });
    const { ms } = await timed(() => this.run(['extract', `${this.repoDir}::bench-${this.archives}`], targetDir));
    return ms;
  }

  restoredFolder(targetDir: string, folder: string): string {
    return path.join(targetDir, path.resolve(folder).replace(/^\/+/, ''));
  }

  private run(args: string[], cwd?: string): Promise<string> {
    return runTool('borg', args, { cwd, env: { ...process.env, BORG_PASSPHRASE: 'kluis-bench', BORG_BASE_DIR: this.home, BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes' } });
  }
}
