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
  /** Owner and group ids (Linux; absent where the OS has none). */
  uid?: number;
  gid?: number;
  /** Files: the inode number and status-change time, when the OS gives them (direct mode's cache of unchanged files). */
  ino?: number;
  ctimeMs?: number;
}

export interface WalkOptions {
  /** False for a folder the walk must neither yield nor read (an excluded folder). */
  descends?: (folder: string) => boolean;
  /** Told of each entry the walk leaves out (sockets, devices, FIFOs, unreadable folders) and why. */
  onSkipped?: (path: string, reason: string) => void;
}

export interface LocalFileSystem {
  /** The rules of the names this file system holds (the host's: windows on Windows, else posix). */
  readonly pathStyle: 'posix' | 'windows';
  /** Everything under `root` (not the root itself), a folder before what it holds, names sorted; skips sockets, devices, FIFOs (told to `onSkipped`). */
  walk(root: string, options?: WalkOptions): AsyncIterable<LocalEntry>;
  /** A file's size in bytes and its metadata (following no link). */
  stat(root: string, path: string): Promise<LocalEntry>;
  /** `length` bytes from `position` (fewer only at the end of the file). */
  readAt(root: string, path: string, position: number, length: number): Promise<Buffer>;
  /**
   * The file's bytes as a stream of pieces. `sizeHint` (the size the walk saw) lets a small file be read with a
   * small buffer instead of a full-size piece each (many small files otherwise cost far more per byte).
   */
  read(root: string, path: string, options?: { sizeHint?: number }): AsyncIterable<Uint8Array>;
  /** Writes the file whole: into a temporary name beside it, renamed over `path` only after the last piece. */
  writeFile(root: string, path: string, data: AsyncIterable<Uint8Array>): Promise<void>;
  makeDirectory(root: string, path: string): Promise<void>;
  makeSymlink(root: string, path: string, target: string): Promise<void>;
  /** Sets permission bits and modification time (not following links), and the owner when given and running as root. */
  setAttributes(root: string, path: string, attributes: { mode: number; mtimeMs: number; type: LocalEntry['type']; uid?: number; gid?: number }): Promise<void>;
}
