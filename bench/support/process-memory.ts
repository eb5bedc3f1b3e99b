/** Memory of running processes, read from Linux /proc (the benchmarks run on Linux). */
import { readFileSync } from 'node:fs';
import { KIB } from './stats';

/**
 * Peak resident set size ("high-water mark", VmHWM) of a live process in bytes, or undefined when the
 * process is gone or /proc is unavailable. Read it just before stopping the process.
 */
export function peakRssOfProcess(pid: number): number | undefined {
  return statusField(pid, 'VmHWM');
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
