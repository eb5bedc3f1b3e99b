/**
 * CPU time and resident memory of running processes over a phase of a benchmark, read from Linux /proc:
 * CPU seconds (utime + stime) at the start and end give the share of a core each process used, which
 * tells whether the host or Azurite was the bottleneck; RSS sampled every interval cross-checks VmHWM.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { rssOfProcess } from './process-memory';

const TICKS_PER_SECOND = clockTicksPerSecond();

function clockTicksPerSecond(): number {
  const result = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(result.stdout?.trim());
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
}

/** CPU seconds (user + system) a live process has used so far, or undefined when it is gone. */
export function cpuSecondsOfProcess(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may contain spaces) start after the last ')'; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export interface ProcessUsage {
  name: string;
  /** CPU seconds used during the phase. */
  cpuSeconds: number;
  /** cpuSeconds ÷ the phase's wall seconds (1.0 = one core busy all the time). */
  coresBusy: number;
  /** Largest RSS seen by the sampler. */
  maxSampledRss: number;
}

/** Samples the processes' RSS every `intervalInMs` until stop(), which returns each one's usage. */
export function sampleProcesses(processes: ReadonlyArray<{ name: string; pid: number }>, intervalInMs = 250): { stop(): ProcessUsage[] } {
  const startedAt = performance.now();
  const startCpu = processes.map((p) => cpuSecondsOfProcess(p.pid) ?? 0);
  const maxRss = processes.map(() => 0);
  const sample = () =>
    processes.forEach((p, i) => {
      maxRss[i] = Math.max(maxRss[i], rssOfProcess(p.pid) ?? 0);
    });
  sample();
  const timer = setInterval(sample, intervalInMs);
  timer.unref();
  return {
    stop(): ProcessUsage[] {
      clearInterval(timer);
      sample();
      const wallSeconds = (performance.now() - startedAt) / 1000;
      return processes.map((p, i) => {
        const cpuSeconds = (cpuSecondsOfProcess(p.pid) ?? startCpu[i]) - startCpu[i];
        return { name: p.name, cpuSeconds, coresBusy: wallSeconds > 0 ? cpuSeconds / wallSeconds : 0, maxSampledRss: maxRss[i] };
      });
    },
  };
}
