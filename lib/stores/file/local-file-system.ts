/** LocalFileSystem on node:fs (the backup server's protected folders and restore targets). */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, lutimes, mkdir, open, readdir, readlink, rename, rm, symlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { errors } from '../../domain/errors';
import type { LocalEntry, LocalFileSystem } from '../local-file-system';

const READ_PIECE = 1024 * 1024;

export class NodeLocalFileSystem implements LocalFileSystem {
  async *walk(root: string): AsyncIterable<LocalEntry> {
    yield* this.walkFolder(path.resolve(root), '');
  }

  read(root: string, relative: string): AsyncIterable<Uint8Array> {
    return createReadStream(resolveInside(root, relative), { highWaterMark: READ_PIECE });
  }

  async writeFile(root: string, relative: string, data: AsyncIterable<Uint8Array>): Promise<void> {
    const target = resolveInside(root, relative);
    const temp = path.join(path.dirname(target), `.${path.basename(target)}.kluis-${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      for await (const piece of data) await handle.write(piece);
      await handle.sync();
      await handle.close();
      await rename(temp, target);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw err;
    }
  }

  async makeDirectory(root: string, relative: string): Promise<void> {
    await mkdir(resolveInside(root, relative), { recursive: true });
  }

  async makeSymlink(root: string, relative: string, target: string): Promise<void> {
    const at = resolveInside(root, relative);
    await rm(at, { force: true });
    await symlink(target, at);
  }

  async setAttributes(root: string, relative: string, attributes: { mode: number; mtimeMs: number; type: LocalEntry['type'] }): Promise<void> {
    const at = resolveInside(root, relative);
    const mtime = new Date(attributes.mtimeMs);
    if (attributes.type === 'symlink') {
      await lutimes(at, mtime, mtime);
      return;
    }
    await chmod(at, attributes.mode);
    await utimes(at, mtime, mtime);
  }

  private async *walkFolder(root: string, relative: string): AsyncIterable<LocalEntry> {
    const names = (await readdir(path.join(root, relative))).sort();
    for (const name of names) {
      const rel = relative === '' ? name : `${relative}/${name}`;
      const full = path.join(root, rel);
      const info = await lstat(full);
      const base = { path: rel, mode: info.mode & 0o7777, mtimeMs: info.mtimeMs };
      if (info.isDirectory()) {
        yield { ...base, type: 'dir', size: 0 };
        yield* this.walkFolder(root, rel);
      } else if (info.isFile()) {
        yield { ...base, type: 'file', size: info.size, ino: info.ino, ctimeMs: info.ctimeMs };
      } else if (info.isSymbolicLink()) {
        yield { ...base, type: 'symlink', size: 0, target: await readlink(full) };
      }
    }
  }
}

/** The absolute path of `relative` under `root`; refuses anything that would leave the root. */
function resolveInside(root: string, relative: string): string {
  const base = path.resolve(root);
  const full = path.resolve(base, ...relative.split('/'));
  if (full !== base && !full.startsWith(base + path.sep)) {
    throw errors.invalidRequest('path', `'${relative}' is outside '${root}'.`);
  }
  return full;
}
