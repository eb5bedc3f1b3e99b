/** Memory of running processes, read from Linux /proc (the benchmarks run on Linux). */
import { readFileSync, writeFileSync } from 'node:fs';
import { KIB } from './stats';

/**
 * Peak resident set size ("high-water mark", VmHWM) of a live process in bytes, or undefined when the
 * process is gone or /proc is unavailable. Read it just before stopping the process.
 */
export function peakRssOfProcess(pid: number): number | undefined {
  return statusField(pid, 'VmHWM');
}

/**
 * Resets a live process's peak RSS (VmHWM) to its current RSS (Linux ≥ 4.0: `5` into /proc/<pid>/clear_refs),
 * so a later peakRssOfProcess measures one phase only. Returns false when that is not possible.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Current resident set size (VmRSS) of a live process in bytes. */
export function rssOfProcess(pid: number): number | undefined {
  return statusField(pid, 'VmRSS');
}

function statusField(pid: number, field: string): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(status);
  return match ? Number(match[1]) * KIB : undefined;
}

/** Peak RSS of this process so far (`process.resourceUsage().maxRSS` is in KiB). */
export function peakRssOfThisProcess(): number {
  return process.resourceUsage().maxRSS * KIB;
}
