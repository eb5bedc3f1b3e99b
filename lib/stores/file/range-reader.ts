/**
 * The file store's range reader (session 9, restore speed): keeps the last few objects it read open, so a restore
 * reading a pack's chunks one by one opens each pack once, not once per chunk. Positioned reads share a handle
 * safely; a handle is closed only when no read uses it (evicted beyond `maxOpen`, or at `close`).
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { RangeReader } from '../repository-store';

/** Objects a reader keeps open: a restore reads a few files at once, each from one pack or two at a time. */
export const RANGE_READER_MAX_OPEN = 8;

interface OpenFile {
  handle: Promise<FileHandle | undefined>;
  users: number;
}

export class FileRangeReader implements RangeReader {
  private readonly files = new Map<string, OpenFile>(); // least recently used first
  private closed = false;

  constructor(private readonly pathOf: (key: string) => string, private readonly maxOpen = RANGE_READER_MAX_OPEN) {}

  /** How many objects are open now (tests). */
  get openCount(): number {
    return this.files.size;
  }

  async readRange(key: string, offset: number, length: number): Promise<Buffer | undefined> {
    if (this.closed) throw new Error('This range reader is closed.');
    const path = this.pathOf(key);
    let file = this.files.get(path);
    if (file === undefined) file = { handle: openForRead(path), users: 0 };
    this.files.delete(path);
    this.files.set(path, file);
    file.users++;
    try {
      const handle = await file.handle.catch((err: unknown) => {
        if (this.files.get(path) === file) this.files.delete(path); // a failed open is not kept
        throw err;
      });
      if (handle === undefined) {
        if (this.files.get(path) === file) this.files.delete(path); // missing now: open again next time
        return undefined;
      }
      return await readFully(handle, offset, length);
    } finally {
      file.users--;
      await this.evict();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const files = [...this.files.values()];
    this.files.clear();
    await Promise.all(files.map(closeFile));
  }

  private async evict(): Promise<void> {
    const idle: OpenFile[] = [];
    for (const [path, file] of this.files) {
      if (this.files.size <= this.maxOpen) break;
      if (file.users > 0) continue;
      this.files.delete(path);
      idle.push(file);
    }
    await Promise.all(idle.map(closeFile));
  }
}

/** `length` bytes from `offset`, fewer when the file ends first. */
export async function readFully(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

/** The open file, or undefined when it does not exist. */
export async function openForRead(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

async function closeFile(file: OpenFile): Promise<void> {
  const handle = await file.handle.catch(() => undefined);
  await handle?.close().catch(() => undefined);
}
