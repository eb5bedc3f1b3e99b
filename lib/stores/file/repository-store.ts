/**
 * A repository store in a local folder: one file per object under the root, keys as relative paths. Writes go to
 * a unique temporary file in `<root>/tmp/` (same file system), are flushed, then renamed (write) or hard-linked
 * (writeIfAbsent: link fails when the name exists) into place, so a crash never leaves half an object under its name.
 *
 * A batch (`beginBatch`, session 8: an fsync per chunk was a third of a first backup's time) writes its temporary
 * files without fsync; `commit` then fsyncs them all (a few at a time, so the file system can group them in one
 * journal commit), links each into place and fsyncs the folders it linked into. An object is under its name only
 * once its content is durable; a crash before the commit leaves only temporary files.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { errors } from '../../domain/errors';
import { isValidStoreKey } from '../../backup-server/domain/repository-layout';
import type { RepositoryStore, RepositoryWriteBatch } from '../repository-store';
import { FileRangeReader, openForRead, readFully } from './range-reader';

const TMP_DIR = 'tmp';
/** A temporary file older than this was abandoned (a crash before its batch committed); `sweepTemporary` removes it. */
const ABANDONED_AFTER_MS = 24 * 60 * 60 * 1000;
/** fsyncs, links and removals a batch's commit runs at once (libuv's pool has 4 threads; the rest queue there). */
const COMMIT_CONCURRENCY = 8;

export class FileRepositoryStore implements RepositoryStore {
  readonly location: string;

  constructor(private readonly root: string, private readonly clock: () => Date = () => new Date()) {
    this.location = path.resolve(root);
  }

  async readRange(key: string, offset: number, length: number): Promise<Buffer | undefined> {
    const handle = await openForRead(this.pathOf(key));
    if (handle === undefined) return undefined;
    try {
      return await readFully(handle, offset, length);
    } finally {
      await handle.close();
    }
  }

  openRangeReader(): FileRangeReader {
    return new FileRangeReader((key) => this.pathOf(key));
  }

  async sweepTemporary(): Promise<number> {
    const dir = path.join(this.location, TMP_DIR);
    const cutoff = this.clock().getTime() - ABANDONED_AFTER_MS;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (isMissing(err)) return 0;
      throw err;
    }
    let removed = 0;
    for (const name of names) {
      const entry = path.join(dir, name);
      const info = await stat(entry).catch(() => undefined);
      if (info === undefined || info.mtimeMs >= cutoff) continue;
      await rm(entry, { force: true, recursive: true });
      removed++;
    }
    return removed;
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
      return await linkInto(temp, target);
    } finally {
      await rm(temp, { force: true });
    }
  }

  beginBatch(): RepositoryWriteBatch {
    const staged: Array<{ temp: string; target: string }> = [];
    let committed = false;
    return {
      writeIfAbsent: async (key, data) => {
        if (committed) throw new Error('This write batch is already committed.');
        const target = this.pathOf(key);
        if (await this.exists(key)) return false;
        staged.push({ temp: await this.staged(data, { sync: false }), target });
        return true;
      },
      openStreamedWrite: () => {
        if (committed) throw new Error('This write batch is already committed.');
        const opening = this.openTemporary();
        opening.catch(() => undefined); // surfaced by the first write or finish
        return {
          write: async (offset, data) => {
            const { handle } = await opening;
            let done = 0;
            while (done < data.length) done += (await handle.write(data, done, data.length - done, offset + done)).bytesWritten;
          },
          finish: async (key) => {
            const { handle, temp } = await opening;
            await handle.close();
            if (committed) throw new Error('This write batch is already committed.');
            if (await this.exists(key)) {
              await rm(temp, { force: true });
              return false;
            }
            staged.push({ temp, target: this.pathOf(key) });
            return true;
          },
        };
      },
      commit: async () => {
        if (committed) return;
        committed = true;
        try {
          await eachLimited(staged, async ({ temp }) => syncPath(temp, 'data'));
          const folders = new Set<string>();
          for (const { temp, target } of staged) {
            await linkInto(temp, target);
            folders.add(path.dirname(target));
          }
          // The links, and the entries of any folder made for them (data/<xx>/ in data/).
          for (const folder of [...folders]) folders.add(path.dirname(folder));
          await eachLimited([...folders], (folder) => syncPath(folder, 'all'));
        } finally {
          await eachLimited(staged, ({ temp }) => rm(temp, { force: true }));
        }
      },
    };
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

  /** A new temporary file in `tmp/`, open for writing. */
  private async openTemporary(): Promise<{ handle: FileHandle; temp: string }> {
    const dir = path.join(this.location, TMP_DIR);
    const temp = path.join(dir, `${randomBytes(12).toString('hex')}.tmp`);
    // Owner-only: the server's state holds its identity key, and nobody else needs the repository's files.
    const handle = await open(temp, 'wx', 0o600).catch(async (err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dir, { recursive: true });
      return open(temp, 'wx', 0o600);
    });
    return { handle, temp };
  }

  private async staged(data: Uint8Array, options: { sync: boolean } = { sync: true }): Promise<string> {
    const { handle, temp } = await this.openTemporary();
    try {
      await handle.writeFile(data);
      if (options.sync) await handle.sync();
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

/** Hard-links `temp` to `target` (making its folder when missing): false when `target` exists. */
async function linkInto(temp: string, target: string): Promise<boolean> {
  try {
    await link(temp, target);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'ENOENT') throw err;
  }
  await mkdir(path.dirname(target), { recursive: true });
  try {
    await link(temp, target);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

async function syncPath(target: string, what: 'data' | 'all'): Promise<void> {
  const handle = await open(target, 'r');
  try {
    if (what === 'data') await handle.datasync();
    else await handle.sync();
  } finally {
    await handle.close();
  }
}

async function eachLimited<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(COMMIT_CONCURRENCY, items.length) }, worker));
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
