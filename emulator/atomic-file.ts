/**
 * Files that processes starting at once on the same data folder must agree on (a CA, a signing key):
 * written to a temp file first, then linked into place exclusively (the first writer wins, the others
 * read what it wrote) or renamed over the old content.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/** Writes `content` to `file`: exclusively (false when another process was first) or replacing it. */
export function writeAtomically(file: string, content: string, mode: number, exclusive: boolean): boolean {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, content, { mode });
  try {
    if (!exclusive) {
      renameSync(temp, file);
      return true;
    }
    linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** A file's text, or undefined when it does not exist or cannot be read. */
export function readTextFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
