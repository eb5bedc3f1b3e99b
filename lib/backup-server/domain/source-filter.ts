/**
 * Include/exclude rules of a source, as MARS and MABS exclusion settings take them: by folder (`C:\Temp\`,
 * `cache/`) and by file type (`*.tmp`). Glob patterns (picomatch), in the source's path style (windows: '\' or
 * '/' separators, case-insensitive), matched on paths relative to the source root:
 *   - a pattern without a separator (`*.tmp`, `Thumbs.db`) matches a name at any depth;
 *   - a pattern with one is anchored at the source root (`logs/*.log`); an absolute pattern must lie inside the
 *     source root (`C:\Data\Temp\` protecting `C:\Data`) and is made relative to it;
 *   - a trailing separator matches folders only (`Temp\`).
 * An excluded folder is not descended into. With include patterns, a file is kept only when it or a folder above
 * it matches one; folders are kept when they match or hold something kept. Exclusion wins over inclusion.
 * Pure: patterns are compiled once per source.
 */
import picomatch from 'picomatch';
import { errors } from '../../domain/errors';
import { comparableName, rootKind, splitPath, type PathStyle } from './path-rules';

export const MAX_FILTER_PATTERNS = 100;
export const MAX_PATTERN_LENGTH = 1024;

export interface SourceFilterRules {
  include?: string[];
  exclude?: string[];
}

interface CompiledPattern {
  text: string;
  foldersOnly: boolean;
  matches: (path: string) => boolean;
}

export interface SourceFilter {
  /** False for a folder that is excluded: the walk does not read it. */
  descends(folder: string): boolean;
  /** Whether an entry (relative, '/'-separated) is kept; for folders, whether it is kept for itself. */
  keeps(path: string, type: 'file' | 'dir' | 'symlink'): boolean;
  /** Whether include patterns were given (folders are then kept only when something under them is). */
  readonly hasIncludes: boolean;
}

function compile(pattern: string, field: 'include' | 'exclude', root: string, style: PathStyle): CompiledPattern {
  const fail = (why: string) => errors.invalidRequest(`sources.${field}`, `The ${field} pattern '${pattern.slice(0, 200)}' is not valid: ${why}.`);
  if (pattern.trim() === '') throw fail('it is empty');
  if (pattern.length > MAX_PATTERN_LENGTH) throw fail(`it is longer than ${MAX_PATTERN_LENGTH} characters`);
  if ([...pattern].some((c) => c.charCodeAt(0) < 32)) throw fail('it holds a control character');
  const foldersOnly = style === 'windows' ? /[\\/]$/.test(pattern) : pattern.endsWith('/');
  let names = splitPath(pattern, style);
  const absolute = style === 'windows' ? /^(?:[A-Za-z]:|[\\/]{2})/.test(pattern) : pattern.startsWith('/');
  if (absolute) {
    rootKind(pattern, style);
    const rootNames = splitPath(root, style).map((n) => comparableName(n, style));
    const inside = names.length > rootNames.length && rootNames.every((n, i) => comparableName(names[i], style) === n);
    if (!inside) throw fail(`it names a path outside the source root '${root}'`);
    names = names.slice(rootNames.length);
  }
  if (names.some((n) => n === '.' || n === '..')) throw fail("it has a '.' or '..' segment");
  if (names.length === 0) throw fail('it names no file or folder');
  const glob = names.join('/');
  const anchored = absolute || names.length > 1 || (style === 'windows' ? /^[\\/]/.test(pattern) : pattern.startsWith('/'));
  let matcher: (path: string) => boolean;
  try {
    matcher = picomatch(glob, { dot: true, nocase: style === 'windows', basename: !anchored, strictBrackets: true, windows: false });
  } catch (err) {
    throw fail((err as Error).message.replace(/\.$/, ''));
  }
  return { text: pattern, foldersOnly, matches: matcher };
}

function compileAll(patterns: readonly string[] | undefined, field: 'include' | 'exclude', root: string, style: PathStyle): CompiledPattern[] {
  if (patterns === undefined) return [];
  if (patterns.length > MAX_FILTER_PATTERNS) throw errors.invalidRequest(`sources.${field}`, `A source takes at most ${MAX_FILTER_PATTERNS} ${field} patterns; ${patterns.length} were given.`);
  return patterns.map((p) => compile(p, field, root, style));
}

/** Checks the patterns (KluisInvalidRequest naming the bad one) and compiles them for a walk of the source. */
export function compileSourceFilter(rules: SourceFilterRules, root: string, style: PathStyle): SourceFilter {
  const includes = compileAll(rules.include, 'include', root, style);
  const excludes = compileAll(rules.exclude, 'exclude', root, style);
  const hit = (patterns: CompiledPattern[], path: string, isFolder: boolean) => patterns.some((p) => (isFolder || !p.foldersOnly) && p.matches(path));
  /** Whether a folder above `path` matches (an included folder brings everything under it; an excluded one takes it out). */
  const underFolder = (patterns: CompiledPattern[], path: string) => {
    const names = path.split('/');
    for (let i = 1; i < names.length; i++) if (hit(patterns, names.slice(0, i).join('/'), true)) return true;
    return false;
  };
  return {
    hasIncludes: includes.length > 0,
    descends: (folder) => !hit(excludes, folder, true),
    keeps: (path, type) => {
      const isFolder = type === 'dir';
      if (hit(excludes, path, isFolder) || underFolder(excludes, path)) return false;
      return includes.length === 0 || hit(includes, path, isFolder) || underFolder(includes, path);
    },
  };
}

/**
 * The entries a filtered walk keeps, in walk order: files and links the filter keeps, and folders that the filter
 * keeps for themselves or that hold something kept (so an include of `*.docx` brings the folders leading to them).
 */
export function applySourceFilter<T extends { path: string; type: 'file' | 'dir' | 'symlink' | 'image' }>(filter: SourceFilter, entries: readonly T[]): T[] {
  const kept = entries.filter((e) => e.type !== 'dir' && filter.keeps(e.path, e.type === 'image' ? 'file' : e.type));
  const folders = new Set<string>();
  for (const e of kept) {
    const names = e.path.split('/');
    for (let i = 1; i < names.length; i++) folders.add(names.slice(0, i).join('/'));
  }
  const keptSet = new Set(kept);
  return entries.filter((e) => keptSet.has(e) || (e.type === 'dir' && (folders.has(e.path) || filter.keeps(e.path, 'dir'))));
}
