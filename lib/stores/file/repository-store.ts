/**
 * A repository store in a local folder: one file per object under the root, keys as relative paths. Writes go to
 * a unique temporary file in `<root>/tmp/` (same file system), are flushed, then renamed (write) or hard-linked
 * (writeIfAbsent: link fails when the name exists) into place, so a crash never leaves half an object under its name.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { errors } from '../../domain/errors';
import { isValidStoreKey } from '../../backup-server/domain/repository-layout';
import type { RepositoryStore } from '../repository-store';

const TMP_DIR = 'tmp';

export class FileRepositoryStore implements RepositoryStore {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = path.resolve(root);
  }

  async read(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async write(key: string, data: Uint8Array): Promise<void> {
    const target = this.pathOf(key);
    const temp = await this.staged(data);
    try {
      await mkdir(path.dirname(target), { recursive: true });
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async writeIfAbsent(key: string, data: Uint8Array): Promise<boolean> {
    const target = this.pathOf(key);
    const temp = await this.staged(data);
    try {
      await mkdir(path.dirname(target), { recursive: true });
      await link(temp, target);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await rm(temp, { force: true });
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    // Walk only the folder the prefix names (e.g. 'data/' or 'snapshots/'), then filter by the full prefix.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    for await (const key of this.walk(base)) if (key.startsWith(prefix)) yield key;
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  private async *walk(relative: string): AsyncIterable<string> {
    let entries;
    try {
      entries = await readdir(path.join(this.location, relative), { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    for (const entry of entries) {
      const key = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (relative === '' && entry.name === TMP_DIR) continue;
      if (entry.isDirectory()) yield* this.walk(key);
      else if (entry.isFile() && isValidStoreKey(key)) yield key;
    }
  }

  private async staged(data: Uint8Array): Promise<string> {
    const dir = path.join(this.location, TMP_DIR);
    await mkdir(dir, { recursive: true });
    const temp = path.join(dir, `${randomBytes(12).toString('hex')}.tmp`);
    // Owner-only: the server's state holds its identity key, and nobody else needs the repository's files.
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } catch (err) {
      await handle.close();
      await rm(temp, { force: true });
      throw err;
    }
    await handle.close();
    return temp;
  }

  private pathOf(key: string): string {
    if (!isValidStoreKey(key) || key === TMP_DIR || key.startsWith(`${TMP_DIR}/`)) {
      throw errors.invalidRequest('key', `'${key}' is not a valid repository key.`);
    }
    return path.join(this.location, ...key.split('/'));
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
