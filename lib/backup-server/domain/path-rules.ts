/**
 * Path rules of the file systems a source is read from and a restore writes to: Linux (`posix`) and Windows
 * (`windows`). A snapshot stores paths relative to the source root, '/'-separated; these rules say which names a
 * target can hold, how a Windows root is written, and — before anything is written — whether a restore fits its
 * target as it is, must be refused, or is renamed by the documented rules (`planRestoreNames`).
 * Pure: the host platform is a parameter.
 */
import { errors } from '../../domain/errors';

export const PATH_STYLES = ['posix', 'windows'] as const;
export type PathStyle = (typeof PATH_STYLES)[number];

/** What to do with a name the target cannot hold: refuse the restore (default), or rename by `renameForWindows`. */
export type InvalidNamePolicy = 'refuse' | 'rename';

export const POSIX_LIMITS = { maxPathBytes: 4095, maxNameBytes: 255 } as const;
/** MAX_PATH is 260 UTF-16 units with the terminating NUL; `\\?\` paths may take 32,767. Names at most 255 units (NTFS). */
export const WINDOWS_LIMITS = { maxPath: 259, maxLongPath: 32_766, maxName: 255 } as const;

const WINDOWS_INVALID_CHARACTERS = new Set('<>:"/\\|?*');
const isWindowsInvalid = (c: string) => c.charCodeAt(0) < 32 || WINDOWS_INVALID_CHARACTERS.has(c);
/** Device names, reserved with any extension ("NUL.txt"), in any case; COM¹–³/LPT¹–³ too, as Windows reserves them. */
const WINDOWS_RESERVED = /^(CON|PRN|AUX|NUL|COM[1-9\u00b9\u00b2\u00b3]|LPT[1-9\u00b9\u00b2\u00b3])(\..*)?$/i;

export function hostPathStyle(platform: string): PathStyle {
  return platform === 'win32' ? 'windows' : 'posix';
}

export function parsePathStyle(value: string): PathStyle {
  if (!(PATH_STYLES as readonly string[]).includes(value)) throw errors.invalidRequest('pathStyle', `'${value}' is not a path style: use posix or windows.`);
  return value as PathStyle;
}

export type RootKind = 'posix' | 'drive' | 'unc' | 'long';

/**
 * The kind of an absolute root in a style: posix `/…`; windows `C:\…` (or `C:/…`), UNC `\\server\share\…`, or a
 * long path `\\?\C:\…` / `\\?\UNC\server\share\…`. Anything else (relative, `C:` without a separator) is refused.
 */
export function rootKind(root: string, style: PathStyle): RootKind {
  if (root.includes('\0')) throw errors.invalidRequest('path', 'A path cannot hold a NUL character.');
  if (style === 'posix') {
    if (!root.startsWith('/')) throw errors.invalidRequest('path', `'${root}' is not an absolute Linux path: it must start with '/'.`);
    return 'posix';
  }
  if (/^\\\\\?\\(?:[A-Za-z]:\\|UNC\\[^\\/]+\\[^\\/]+)/.test(root)) return 'long';
  if (/^[A-Za-z]:[\\/]/.test(root)) return 'drive';
  if (/^[\\/]{2}[^\\/?.][^\\/]*[\\/][^\\/]+/.test(root)) return 'unc';
  throw errors.invalidRequest('path', `'${root}' is not an absolute Windows path: give a drive letter root (C:\\Data) or a UNC share (\\\\server\\share\\Data).`);
}

/** Splits a path written in a style into names: windows takes both '\' and '/' as separators. */
export function splitPath(path: string, style: PathStyle): string[] {
  return path.split(style === 'windows' ? /[\\/]+/ : /\/+/).filter((s) => s !== '');
}

/** How names compare on the style's file systems: Windows (NTFS, SMB) ignores case. */
export function comparableName(name: string, style: PathStyle): string {
  return style === 'windows' ? name.toUpperCase() : name;
}

/** Why a single name cannot exist on the style's file systems, or undefined when it can. */
export function nameProblem(name: string, style: PathStyle): string | undefined {
  if (name === '' || name === '.' || name === '..') return `'${name}' is not a file name`;
  if (style === 'posix') {
    if (name.includes('\0')) return 'a Linux name cannot hold a NUL character';
    if (name.includes('/')) return "a Linux name cannot hold '/'";
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes > POSIX_LIMITS.maxNameBytes) return `the name is ${bytes} bytes; Linux allows ${POSIX_LIMITS.maxNameBytes}`;
    return undefined;
  }
  const bad = [...name].find(isWindowsInvalid);
  if (bad !== undefined) {
    const shown = bad.charCodeAt(0) < 32 ? `control character 0x${bad.charCodeAt(0).toString(16).padStart(2, '0')}` : `'${bad}'`;
    return `Windows names cannot hold ${shown} (nor any of < > : " / \\ | ? * or control characters)`;
  }
  if (WINDOWS_RESERVED.test(name)) return `'${name.split('.')[0]}' is a reserved device name on Windows (with any extension)`;
  if (/[. ]$/.test(name)) return 'Windows names cannot end with a dot or a space';
  if (name.length > WINDOWS_LIMITS.maxName) return `the name is ${name.length} characters; Windows allows ${WINDOWS_LIMITS.maxName}`;
  return undefined;
}

/** Why the full path cannot exist on the style's file systems (length limits), or undefined. */
export function pathLengthProblem(targetRoot: string, relative: string, style: PathStyle): string | undefined {
  if (style === 'posix') {
    const bytes = Buffer.byteLength(`${targetRoot.replace(/\/+$/, '')}/${relative}`, 'utf8');
    return bytes > POSIX_LIMITS.maxPathBytes ? `the full path is ${bytes} bytes; Linux allows ${POSIX_LIMITS.maxPathBytes}` : undefined;
  }
  const length = `${targetRoot.replace(/[\\/]+$/, '')}\\${relative}`.length;
  const long = targetRoot.startsWith('\\\\?\\');
  const limit = long ? WINDOWS_LIMITS.maxLongPath : WINDOWS_LIMITS.maxPath;
  if (length <= limit) return undefined;
  return long
    ? `the full path is ${length} characters; Windows allows ${limit}`
    : `the full path is ${length} characters; Windows allows ${limit} (MAX_PATH) unless the target is a long path (\\\\?\\…)`;
}

/**
 * The documented rename of a name Windows cannot hold: each invalid or control character becomes '_', a trailing
 * dot or space becomes '_', and a reserved device name gets a leading '_' (`CON.txt` → `_CON.txt`).
 */
export function renameForWindows(name: string): string {
  let renamed = [...name].map((c) => (isWindowsInvalid(c) ? '_' : c)).join('').replace(/[. ]+$/, (tail) => '_'.repeat(tail.length));
  if (WINDOWS_RESERVED.test(renamed)) renamed = `_${renamed}`;
  return renamed;
}

/** `report.pdf` → `report (2).pdf`, as Windows Explorer names a copy. */
function numbered(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`;
}

export interface RestoreRename {
  from: string;
  to: string;
  reason: string;
}

export interface RestoreNamePlan {
  /** Each restored path (relative, '/'-separated) by its path in the snapshot; the same path when unchanged. */
  targetOf: Map<string, string>;
  renames: RestoreRename[];
}

/**
 * Checks every path a restore will write against the target's rules, before anything is written. With `refuse`,
 * the first path the target cannot hold throws KluisRestoreNameNotAllowed naming it and why (nothing is restored);
 * with `rename`, invalid names are renamed by `renameForWindows` and case-only collisions on a Windows target (two
 * names differing only by case: the second would overwrite the first) get ` (2)`, ` (3)`… in walk order. Names that
 * are too long, and any problem on a Linux target, are refused either way: no rename makes them fit faithfully.
 * `paths` are in walk order (a folder before what it holds).
 */
export function planRestoreNames(paths: readonly string[], targetRoot: string, style: PathStyle, policy: InvalidNamePolicy = 'refuse'): RestoreNamePlan {
  const targetOf = new Map<string, string>();
  const renames: RestoreRename[] = [];
  const takenByParent = new Map<string, Map<string, string>>();
  for (const path of paths) {
    const slash = path.lastIndexOf('/');
    const parent = slash < 0 ? '' : path.slice(0, slash);
    const name = path.slice(slash + 1);
    const targetParent = parent === '' ? '' : (targetOf.get(parent) ?? parent);
    let targetName = name;
    let reason = nameProblem(name, style);
    if (reason !== undefined) {
      const renamed = renameForWindows(name);
      if (style === 'posix' || policy === 'refuse' || nameProblem(renamed, style) !== undefined) throw errors.restoreNameNotAllowed(path, reason, style);
      targetName = renamed;
    }
    const taken = takenByParent.get(targetParent) ?? new Map<string, string>();
    takenByParent.set(targetParent, taken);
    const first = taken.get(comparableName(targetName, style));
    if (first !== undefined) {
      const collision = `'${path}' and '${first}' differ only by case; a Windows target holds one of them`;
      if (policy === 'refuse') throw errors.restoreNameNotAllowed(path, collision, style);
      let n = 2;
      while (taken.has(comparableName(numbered(targetName, n), style))) n++;
      targetName = numbered(targetName, n);
      reason = reason === undefined ? collision : `${reason}; ${collision}`;
    }
    taken.set(comparableName(targetName, style), path);
    const target = targetParent === '' ? targetName : `${targetParent}/${targetName}`;
    const tooLong = pathLengthProblem(targetRoot, style === 'windows' ? target.replaceAll('/', '\\') : target, style);
    if (tooLong !== undefined) throw errors.restoreNameNotAllowed(path, tooLong, style);
    targetOf.set(path, target);
    if (target !== (targetParent === '' ? name : `${targetParent}/${name}`) && reason !== undefined) renames.push({ from: path, to: target, reason });
  }
  return { targetOf, renames };
}
