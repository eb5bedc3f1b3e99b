/** LocalFileSystem on node:fs (the backup server's protected folders and restore targets). */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lchown, lstat, lutimes, mkdir, open, readdir, readlink, rename, rm, symlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { errors } from '../../domain/errors';
import type { LocalEntry, LocalFileSystem, WalkOptions } from '../local-file-system';

const READ_PIECE = 1024 * 1024;
const MIN_READ_PIECE = 4 * 1024;

export class NodeLocalFileSystem implements LocalFileSystem {
  readonly pathStyle = process.platform === 'win32' ? 'windows' : 'posix';
  /** Owners are restored only by root (anyone else cannot give a file away). */
  private readonly restoresOwners = process.getuid?.() === 0;

  async *walk(root: string, options: WalkOptions = {}): AsyncIterable<LocalEntry> {
    yield* this.walkFolder(path.resolve(root), '', options);
  }

  async stat(root: string, relative: string): Promise<LocalEntry> {
    const info = await lstat(resolveInside(root, relative));
    const type = info.isDirectory() ? 'dir' : info.isSymbolicLink() ? 'symlink' : 'file';
    return { path: relative, type, mode: info.mode & 0o7777, mtimeMs: info.mtimeMs, size: info.size, uid: info.uid, gid: info.gid };
  }

  async readAt(root: string, relative: string, position: number, length: number): Promise<Buffer> {
    const handle = await open(resolveInside(root, relative), 'r');
    try {
      const buffer = Buffer.alloc(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    } finally {
      await handle.close();
    }
  }

  read(root: string, relative: string, options: { sizeHint?: number } = {}): AsyncIterable<Uint8Array> {
    // One byte over the hint: a file still that size is read in one piece, and the next read sees its end.
    const hint = options.sizeHint;
    const highWaterMark = hint === undefined ? READ_PIECE : Math.min(READ_PIECE, Math.max(MIN_READ_PIECE, hint + 1));
    return createReadStream(resolveInside(root, relative), { highWaterMark });
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

  async setAttributes(root: string, relative: string, attributes: { mode: number; mtimeMs: number; type: LocalEntry['type']; uid?: number; gid?: number }): Promise<void> {
    const at = resolveInside(root, relative);
    const mtime = new Date(attributes.mtimeMs);
    // Before chmod: chown clears the set-user-id and set-group-id bits.
    if (this.restoresOwners && attributes.uid !== undefined && attributes.gid !== undefined) await lchown(at, attributes.uid, attributes.gid);
    if (attributes.type === 'symlink') {
      await lutimes(at, mtime, mtime);
      return;
    }
    await chmod(at, attributes.mode);
    await utimes(at, mtime, mtime);
  }

  private async *walkFolder(root: string, relative: string, options: WalkOptions): AsyncIterable<LocalEntry> {
    let names: string[];
    try {
      names = (await readdir(path.join(root, relative))).sort();
    } catch (err) {
      // The source root itself must be readable; a folder inside it that is not is left out, with the reason.
      if (relative === '') throw err;
      options.onSkipped?.(relative, `its entries could not be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return;
    }
    for (const name of names) {
      const rel = relative === '' ? name : `${relative}/${name}`;
      const full = path.join(root, rel);
      const info = await lstat(full);
      const base = { path: rel, mode: info.mode & 0o7777, mtimeMs: info.mtimeMs, uid: info.uid, gid: info.gid };
      if (info.isDirectory()) {
        if (options.descends !== undefined && !options.descends(rel)) continue;
        yield { ...base, type: 'dir', size: 0 };
        yield* this.walkFolder(root, rel, options);
      } else if (info.isFile()) {
        yield { ...base, type: 'file', size: info.size, ino: info.ino, ctimeMs: info.ctimeMs };
      } else if (info.isSymbolicLink()) {
        yield { ...base, type: 'symlink', size: 0, target: await readlink(full) };
      } else {
        options.onSkipped?.(rel, `it is a ${specialKind(info)}, not a file, folder or link`);
      }
    }
  }
}

function specialKind(info: { isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }): string {
  if (info.isFIFO()) return 'FIFO (named pipe)';
  if (info.isSocket()) return 'socket';
  if (info.isBlockDevice()) return 'block device';
  if (info.isCharacterDevice()) return 'character device';
  return 'special file';
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
