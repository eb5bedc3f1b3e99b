/**
 * CPU time of this process's finished child processes (Linux /proc/self/stat: cutime + cstime), so the CPU seconds
 * of one restic, borg or Kluis worker process can be read as the difference across its run. Under load, CPU
 * seconds compare tools better than wall time (which waits for the other processes on the machine).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** User + system CPU seconds of all waited-for children so far, or undefined without /proc. */
export function childrenCpuSeconds(): number | undefined {
  ticksPerSecond ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  let stat: string;
  try {
    stat = readFileSync('/proc/self/stat', 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces) in parentheses; cutime and cstime are fields 16 and 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond;
}

/** Runs `fn` (which starts and waits for child processes) and returns its result with the children's CPU seconds. */
export async function withChildrenCpu<T>(fn: () => Promise<T>): Promise<{ result: T; cpuSeconds: number | undefined }> {
  const before = childrenCpuSeconds();
  const result = await fn();
  const after = childrenCpuSeconds();
  return { result, cpuSeconds: before === undefined || after === undefined ? undefined : after - before };
}
