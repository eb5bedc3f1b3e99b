import { applySourceFilter, compileSourceFilter } from '../../lib/backup-server/domain/source-filter';
import { validateProtectionGroup } from '../../lib/backup-server/domain/protection-group';

type Entry = { path: string; type: 'file' | 'dir' | 'symlink' };
const tree: Entry[] = [
  { path: 'Temp', type: 'dir' },
  { path: 'Temp/a.doc', type: 'file' },
  { path: 'docs', type: 'dir' },
  { path: 'docs/cache', type: 'dir' },
  { path: 'docs/cache/x.bin', type: 'file' },
  { path: 'docs/plan.docx', type: 'file' },
  { path: 'docs/scratch.TMP', type: 'file' },
  { path: 'docs/scratch.tmp', type: 'file' },
  { path: 'empty', type: 'dir' },
  { path: 'link', type: 'symlink' },
  { path: 'temp.tmp', type: 'file' },
];
const kept = (rules: { include?: string[]; exclude?: string[] }, root: string, style: 'posix' | 'windows') =>
  applySourceFilter(compileSourceFilter(rules, root, style), tree).map((e) => e.path);

describe('source include/exclude', () => {
  it('excludes by file type at any depth, case-sensitively on Linux', () => {
    expect(kept({ exclude: ['*.tmp'] }, '/srv/data', 'posix')).toEqual(tree.map((e) => e.path).filter((p) => p !== 'docs/scratch.tmp' && p !== 'temp.tmp'));
  });

  it('excludes without case on Windows, with \\ separators and an absolute folder inside the root', () => {
    const out = kept({ exclude: ['*.tmp', 'C:\\DATA\\temp\\', 'Docs\\Cache'] }, 'C:\\Data', 'windows');
    expect(out).toEqual(['docs', 'docs/plan.docx', 'empty', 'link']);
  });

  it('does not descend into an excluded folder; a trailing separator matches folders only', () => {
    const filter = compileSourceFilter({ exclude: ['cache/', 'temp.tmp/'] }, '/srv', 'posix');
    expect(filter.descends('docs/cache')).toBe(false);
    expect(filter.descends('docs')).toBe(true);
    expect(filter.keeps('temp.tmp', 'file')).toBe(true);
  });

  it('anchors patterns with a separator at the source root', () => {
    expect(kept({ exclude: ['cache/**'] }, '/srv', 'posix')).toContain('docs/cache/x.bin');
    expect(kept({ exclude: ['docs/cache/**'] }, '/srv', 'posix')).not.toContain('docs/cache/x.bin');
  });

  it('includes only matching files and the folders leading to them; exclusion wins', () => {
    expect(kept({ include: ['*.docx', 'Temp'] }, '/srv', 'posix')).toEqual(['Temp', 'Temp/a.doc', 'docs', 'docs/plan.docx']);
    expect(kept({ include: ['*.docx', 'Temp'], exclude: ['*.doc'] }, '/srv', 'posix')).toEqual(['Temp', 'docs', 'docs/plan.docx']);
  });

  it.each([
    ['', /empty/],
    ['../etc/*', /'\.\.' segment/],
    ['/etc/passwd', /outside the source root/],
    ['[abc', /not valid/],
    ['a\u0001b', /control character/],
  ])('refuses the pattern %j with KluisInvalidRequest (400)', (pattern, why) => {
    expect(() => compileSourceFilter({ exclude: [pattern] }, '/srv/data', 'posix')).toThrow(expect.objectContaining({ code: 'KluisInvalidRequest', status: 400, target: 'sources.exclude', message: expect.stringMatching(why) }));
  });

  it('refuses a Windows pattern on another drive, and too many patterns', () => {
    expect(() => compileSourceFilter({ exclude: ['D:\\Temp\\'] }, 'C:\\Data', 'windows')).toThrow(expect.objectContaining({ message: expect.stringMatching(/outside the source root/) }));
    expect(() => compileSourceFilter({ include: Array.from({ length: 101 }, (_, i) => `${i}.txt`) }, '/srv', 'posix')).toThrow(expect.objectContaining({ target: 'sources.include' }));
  });

  it('is checked when a protection group is validated; disk images take no patterns', () => {
    const group = (source: object) => ({ name: 'G', sources: [{ name: 's', path: '/srv/data', ...source }], shortTerm: { retentionDays: 3, dailyAt: '22:00' } });
    expect(() => validateProtectionGroup(group({ exclude: ['../x'] }))).toThrow(expect.objectContaining({ code: 'KluisInvalidRequest', target: 'sources.exclude' }));
    expect(() => validateProtectionGroup(group({ kind: 'DiskImage', exclude: ['*.tmp'] }))).toThrow(expect.objectContaining({ code: 'KluisInvalidRequest', message: expect.stringMatching(/disk image/) }));
    expect(() => validateProtectionGroup(group({ kind: 'Volume' }))).toThrow(expect.objectContaining({ target: 'sources.kind' }));
    expect(validateProtectionGroup(group({ exclude: ['*.tmp'], pathStyle: 'posix' })).sources[0].exclude).toEqual(['*.tmp']);
  });
});
