/**
 * bin/malloc-tuning.js (issue 16, session 9): a launcher that finds MALLOC_MMAP_THRESHOLD_ unset starts Node again
 * with it set, once, and passes the child's output and exit status through; set, or KLUIS_MALLOC_TUNING=off, it
 * runs as it is.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const TUNING = path.resolve(__dirname, '..', '..', 'bin', 'malloc-tuning.js');
/** Prints its pid, its parent's and the threshold it sees, then exits 7 (the launcher must pass 7 on). */
const SCRIPT = `if (!require(${JSON.stringify(TUNING)}).relaunchWithMallocTuning()) { console.log(JSON.stringify({ pid: process.pid, ppid: process.ppid, threshold: process.env.MALLOC_MMAP_THRESHOLD_ ?? null })); process.exit(7); }`;

async function launch(env: Record<string, string | undefined>): Promise<{ code: number; seen: { pid: number; ppid: number; threshold: string | null } }> {
  const { MALLOC_MMAP_THRESHOLD_: _unset, KLUIS_MALLOC_TUNING: _off, ...rest } = process.env;
  const child = run(process.execPath, ['-e', SCRIPT], { env: { ...rest, ...env } });
  const pid = child.child.pid;
  const result = await child.then(() => ({ code: 0, stdout: '' }), (err: { code: number; stdout: string }) => err);
  const seen = JSON.parse(result.stdout) as { pid: number; ppid: number; threshold: string | null };
  return { code: result.code, seen: { ...seen, ppid: seen.ppid === pid ? -1 : seen.ppid, pid: seen.pid === pid ? 0 : seen.pid } };
}

const onLinux = process.platform === 'linux';

describe('bin/malloc-tuning.js', () => {
  it('unset: the work runs in a child started with the fixed threshold, whose output and exit status come through', async () => {
    const { code, seen } = await launch({});
    expect(code).toBe(7);
    // -1: the printing process is the launcher's child; 0: the launcher itself printed.
    expect(seen).toMatchObject(onLinux ? { ppid: -1, threshold: '131072' } : { pid: 0, threshold: null });
  });

  it('already set, or KLUIS_MALLOC_TUNING=off: no relaunch', async () => {
    expect(await launch({ MALLOC_MMAP_THRESHOLD_: '262144' })).toMatchObject({ code: 7, seen: { pid: 0, threshold: '262144' } });
    expect(await launch({ KLUIS_MALLOC_TUNING: 'off' })).toMatchObject({ code: 7, seen: { pid: 0, threshold: null } });
  });
});
