/** The dashboard's built files from a folder; each file is read once (a build is immutable while the app runs). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WebAssetStore } from '../web-assets';

export class FileWebAssets implements WebAssetStore {
  private readonly files = new Map<string, Promise<Buffer | undefined>>();

  constructor(private readonly root: string) {}

  read(file: string): Promise<Buffer | undefined> {
    const resolved = path.resolve(this.root, file);
    if (!resolved.startsWith(path.resolve(this.root) + path.sep)) return Promise.resolve(undefined);
    let cached = this.files.get(resolved);
    if (cached === undefined) {
      cached = readFile(resolved).catch((err: NodeJS.ErrnoException) => {
        this.files.delete(resolved);
        if (err.code === 'ENOENT' || err.code === 'EISDIR' || err.code === 'ENOTDIR') return undefined;
        throw err;
      });
      this.files.set(resolved, cached);
    }
    return cached;
  }
}
