/**
 * The backup server's view of the folders it protects and restores into. Paths given to it are a root (as the
 * server's OS names it) plus a relative, '/'-separated path inside it; implementation: file/local-file-system.ts.
 */
export interface LocalEntry {
  /** Relative to the walk's root, '/'-separated. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  mtimeMs: number;
  size: number;
  target?: string;
  /** Files: the inode number and status-change time, when the OS gives them (direct mode's cache of unchanged files). */
  ino?: number;
  ctimeMs?: number;
}

export interface LocalFileSystem {
  /** Everything under `root` (not the root itself), a folder before what it holds, names sorted; skips sockets, devices, FIFOs. */
  walk(root: string): AsyncIterable<LocalEntry>;
  /** The file's bytes as a stream of pieces. */
  read(root: string, path: string): AsyncIterable<Uint8Array>;
  /** Writes the file whole: into a temporary name beside it, renamed over `path` only after the last piece. */
  writeFile(root: string, path: string, data: AsyncIterable<Uint8Array>): Promise<void>;
  makeDirectory(root: string, path: string): Promise<void>;
  makeSymlink(root: string, path: string, target: string): Promise<void>;
  /** Sets permission bits and modification time (not following links). */
  setAttributes(root: string, path: string, attributes: { mode: number; mtimeMs: number; type: LocalEntry['type'] }): Promise<void>;
}
