import {
  comparableName,
  hostPathStyle,
  nameProblem,
  parsePathStyle,
  pathLengthProblem,
  planRestoreNames,
  renameForWindows,
  rootKind,
  splitPath,
} from '../../lib/backup-server/domain/path-rules';

const refused = (reason: RegExp) => expect.objectContaining({ code: 'KluisRestoreNameNotAllowed', status: 400, message: expect.stringMatching(reason) });

describe('path styles and roots', () => {
  it('takes the style from the platform, or as given', () => {
    expect(hostPathStyle('win32')).toBe('windows');
    expect(hostPathStyle('linux')).toBe('posix');
    expect(parsePathStyle('windows')).toBe('windows');
    expect(() => parsePathStyle('dos')).toThrow(expect.objectContaining({ code: 'KluisInvalidRequest', target: 'pathStyle' }));
  });

  it('knows drive-letter, UNC and long Windows roots, and absolute Linux roots', () => {
    expect(rootKind('C:\\Data', 'windows')).toBe('drive');
    expect(rootKind('d:/Data', 'windows')).toBe('drive');
    expect(rootKind('\\\\fileserver\\share\\Data', 'windows')).toBe('unc');
    expect(rootKind('\\\\?\\C:\\Very\\Long', 'windows')).toBe('long');
    expect(rootKind('\\\\?\\UNC\\server\\share', 'windows')).toBe('long');
    expect(rootKind('/srv/data', 'posix')).toBe('posix');
    for (const bad of ['Data', 'C:', 'C:Data', '\\\\server', '/srv/data']) expect(() => rootKind(bad, 'windows')).toThrow(expect.objectContaining({ code: 'KluisInvalidRequest' }));
    for (const bad of ['srv/data', 'C:\\Data', '/srv/\0x']) expect(() => rootKind(bad, 'posix')).toThrow(expect.objectContaining({ code: 'KluisInvalidRequest' }));
  });

  it('splits on both separators on Windows, on / only on Linux', () => {
    expect(splitPath('C:\\Data/sub\\file.txt', 'windows')).toEqual(['C:', 'Data', 'sub', 'file.txt']);
    expect(splitPath('/srv/a\\b', 'posix')).toEqual(['srv', 'a\\b']);
  });

  it('compares names without case on Windows only', () => {
    expect(comparableName('Readme.TXT', 'windows')).toBe(comparableName('README.txt', 'windows'));
    expect(comparableName('Readme.TXT', 'posix')).not.toBe(comparableName('README.txt', 'posix'));
  });
});

describe('names a Windows target cannot hold', () => {
  it.each(['CON', 'prn', 'Aux', 'NUL', 'COM1', 'com9', 'LPT1', 'lpt9', 'NUL.txt', 'con.tar.gz', 'COM\u00b9'])('refuses the reserved device name %s (with any extension)', (name) => {
    expect(nameProblem(name, 'windows')).toMatch(/reserved device name/);
    expect(nameProblem(name, 'posix')).toBeUndefined();
  });

  it.each(['a<b', 'a>b', 'a:b', 'a"b', 'a|b', 'a?b', 'a*b', 'a\\b', 'tab\there', 'nul\u0000byte', 'bell\u0007'])('refuses the invalid character in %j', (name) => {
    expect(nameProblem(name, 'windows')).toMatch(/cannot hold/);
  });

  it('refuses trailing dots and spaces, and names over 255 characters', () => {
    expect(nameProblem('report.', 'windows')).toMatch(/end with a dot or a space/);
    expect(nameProblem('report ', 'windows')).toMatch(/end with a dot or a space/);
    expect(nameProblem('x'.repeat(256), 'windows')).toMatch(/256 characters; Windows allows 255/);
    expect(nameProblem('CONSOLE.txt', 'windows')).toBeUndefined();
    expect(nameProblem('COM10', 'windows')).toBeUndefined();
    expect(nameProblem('.profile', 'windows')).toBeUndefined();
  });

  it('renames by the documented rules', () => {
    expect(renameForWindows('a:b?.txt')).toBe('a_b_.txt');
    expect(renameForWindows('CON.txt')).toBe('_CON.txt');
    expect(renameForWindows('notes. ')).toBe('notes__');
    expect(renameForWindows('nul')).toBe('_nul');
  });

  it('limits full paths to 259 characters (MAX_PATH) unless the target is a \\\\?\\ long path', () => {
    const rel = `${'d'.repeat(200)}\\${'f'.repeat(60)}`;
    expect(pathLengthProblem('C:\\R', rel, 'windows')).toMatch(/266 characters; Windows allows 259/);
    expect(pathLengthProblem('\\\\?\\C:\\R', rel, 'windows')).toBeUndefined();
    expect(pathLengthProblem('\\\\?\\C:\\R', 'x'.repeat(32_800), 'windows')).toMatch(/Windows allows 32766/);
  });
});

describe('names a Linux target cannot hold', () => {
  it('refuses NUL and names over 255 bytes (UTF-8), and paths over 4095 bytes', () => {
    expect(nameProblem('a\u0000b', 'posix')).toMatch(/NUL/);
    expect(nameProblem('é'.repeat(128), 'posix')).toMatch(/256 bytes; Linux allows 255/);
    expect(nameProblem('é'.repeat(127), 'posix')).toBeUndefined();
    expect(nameProblem('a:b?<CON>.', 'posix')).toBeUndefined();
    expect(pathLengthProblem('/restore', `${'a'.repeat(250)}/`.repeat(17), 'posix')).toMatch(/Linux allows 4095/);
    expect(pathLengthProblem('/restore', `${'a'.repeat(250)}/`.repeat(15), 'posix')).toBeUndefined();
  });
});

describe('planRestoreNames', () => {
  const tree = ['docs', 'docs/CON.txt', 'docs/Readme', 'docs/README', 'docs/a:b', 'docs/a:b/inner.txt', 'ok.txt'];

  it('keeps every name on a Linux target', () => {
    const plan = planRestoreNames(tree, '/restore', 'posix');
    expect(plan.renames).toEqual([]);
    expect([...plan.targetOf.values()]).toEqual(tree);
  });

  it('refuses a restore to Windows naming the first path it cannot hold, and why', () => {
    expect(() => planRestoreNames(tree, 'C:\\Restore', 'windows')).toThrow(refused(/'docs\/CON\.txt' cannot be restored to a windows target: 'CON' is a reserved device name/));
    expect(() => planRestoreNames(['Readme', 'README'], 'C:\\Restore', 'windows')).toThrow(refused(/'README'.*'Readme' differ only by case/));
  });

  it('renames invalid names and case-only collisions on request, listing each with the reason; children follow their folder', () => {
    const plan = planRestoreNames(tree, 'C:\\Restore', 'windows', 'rename');
    expect(Object.fromEntries(plan.targetOf)).toEqual({
      docs: 'docs',
      'docs/CON.txt': 'docs/_CON.txt',
      'docs/Readme': 'docs/Readme',
      'docs/README': 'docs/README (2)',
      'docs/a:b': 'docs/a_b',
      'docs/a:b/inner.txt': 'docs/a_b/inner.txt',
      'ok.txt': 'ok.txt',
    });
    expect(plan.renames.map((r) => [r.from, r.to])).toEqual([['docs/CON.txt', 'docs/_CON.txt'], ['docs/README', 'docs/README (2)'], ['docs/a:b', 'docs/a_b']]);
    expect(plan.renames[1].reason).toMatch(/differ only by case/);
  });

  it('numbers a rename that lands on an existing name', () => {
    const plan = planRestoreNames(['a_b.txt', 'a:b.txt'], 'C:\\R', 'windows', 'rename');
    expect(plan.targetOf.get('a:b.txt')).toBe('a_b (2).txt');
  });

  it('refuses too long paths and Linux-invalid names even with rename', () => {
    expect(() => planRestoreNames(['x'.repeat(250), `${'x'.repeat(250)}/${'y'.repeat(20)}`], 'C:\\R', 'windows', 'rename')).toThrow(refused(/MAX_PATH/));
    expect(() => planRestoreNames(['a\u0000b'], '/r', 'posix', 'rename')).toThrow(refused(/NUL/));
  });
});
