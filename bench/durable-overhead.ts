/**
 * Issue 2 benchmark: per-activity overhead of the embedded Durable host.
 *
 *   npm run build && node dist/bench/durable-overhead.js [--fan-out 1000] [--chain 200] [--runs 3]
 *
 * For each scenario (a fan-out/fan-in of N trivial activities with Task.all, a chain of N) it starts an
 * in-memory Azurite and the host as a child process with `bench/apps/durable`, runs one small warm-up
 * orchestration, then `--runs` measured ones, each started over HTTP and polled until Completed.
 * Reports the median total time, per-activity time (total / N), per-activity host overhead
 * ((total − N direct in-process calls of the same activity body) / N), and the host's peak RSS (VmHWM,
 * read just before it stops). Targets (issue 2): ≤ 5 ms overhead per activity, 1,000-way fan-out ≤ 10 s.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { startAzurite } from '../emulator/azurite';
import { REPO_ROOT, startBenchHost } from './support/host-process';
import { describeMachine } from './support/machine';
import { peakRssOfProcess } from './support/process-memory';
import { formatBytes, formatMs, markdownTable, median, timed } from './support/stats';

const APP_DIR = path.join(REPO_ROOT, 'bench', 'apps', 'durable');
const POLL_INTERVAL_IN_MS = 20;
const RUN_TIMEOUT_IN_MS = 300_000;
const WARM_UP_COUNT = 20;
const OVERHEAD_TARGET_IN_MS = 5;
const FAN_OUT_TARGET_IN_MS = 10_000;

type ScenarioName = 'FanOut' | 'Chain';

interface ScenarioResult {
  name: ScenarioName;
  count: number;
  /** Wall-clock ms from the HTTP start request until the status endpoint reports Completed. */
  totals: number[];
  /** Host-side ms: the instance's createdTime → lastUpdatedTime. */
  hostTimes: number[];
  /** ms for `count` direct in-process calls of the activity body (same shape: parallel or sequential). */
  baselines: number[];
  hostPeakRss?: number;
  azuritePeakRss?: number;
}

interface StatusBody {
  runtimeStatus: string;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
}

// The app is plain CommonJS outside the TypeScript build: load its activity body at run time.
const { echo } = createRequire(__filename)(path.join(APP_DIR, 'activities.js')) as { echo: <T>(input: T) => T };

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
}

async function main(): Promise<void> {
  const opts = new Command()
    .name('durable-overhead')
    .option('--fan-out <n>', 'activities in the fan-out/fan-in', positiveInt, 1000)
    .option('--chain <n>', 'activities in the chain', positiveInt, 200)
    .option('--runs <n>', 'measured runs per scenario (the median is reported)', positiveInt, 3)
    .parse(process.argv)
    .opts<{ fanOut: number; chain: number; runs: number }>();

  const started = new Date();
  console.log(`durable-overhead: ${started.toISOString()} on ${describeMachine()}`);
  const results = [
    await runScenario('FanOut', opts.fanOut, opts.runs),
    await runScenario('Chain', opts.chain, opts.runs),
  ];
  printReport(results, opts.runs);
}

async function runScenario(name: ScenarioName, count: number, runs: number): Promise<ScenarioResult> {
  const result: ScenarioResult = { name, count, totals: [], hostTimes: [], baselines: [] };
  for (let i = 0; i < runs; i++) result.baselines.push((await timed(() => directCalls(name, count))).ms);

  const azurite = await startAzurite({ inMemory: true });
  try {
    const host = await startBenchHost({ app: APP_DIR, storage: azurite.connectionString });
    try {
      await runOrchestration(host.origin, name, WARM_UP_COUNT);
      for (let i = 0; i < runs; i++) {
        const { result: status, ms } = await timed(() => runOrchestration(host.origin, name, count));
        result.totals.push(ms);
        result.hostTimes.push(Date.parse(status.lastUpdatedTime) - Date.parse(status.createdTime));
        console.log(`  ${name} ×${count} run ${i + 1}/${runs}: ${formatMs(ms)}`);
      }
      result.hostPeakRss = peakRssOfProcess(host.pid);
      result.azuritePeakRss = peakRssOfProcess(azurite.pid);
    } catch (error) {
      console.error(host.outputTail());
      throw error;
    } finally {
      await host.stop();
    }
  } finally {
    await azurite.stop();
  }
  return result;
}

/** The in-process baseline: `count` calls of the activity body, parallel for FanOut, sequential for Chain. */
async function directCalls(name: ScenarioName, count: number): Promise<void> {
  if (name === 'FanOut') {
    const results = await Promise.all(Array.from({ length: count }, (_, i) => Promise.resolve(i).then(echo)));
    if (results.length !== count) throw new Error('baseline lost results');
    return;
  }
  let value = 0;
  for (let i = 0; i < count; i++) value = await Promise.resolve(value + 1).then(echo);
  if (value !== count) throw new Error('baseline miscounted');
}

async function runOrchestration(origin: string, name: ScenarioName, count: number): Promise<StatusBody> {
  const start = await fetch(`${origin}/api/orchestrators/${name}`, { method: 'POST', body: JSON.stringify({ count }) });
  const startText = await start.text();
  if (start.status !== 202) throw new Error(`Starting ${name} answered ${start.status}: ${startText}`);
  const { statusQueryGetUri } = JSON.parse(startText) as { statusQueryGetUri: string };
  const deadline = Date.now() + RUN_TIMEOUT_IN_MS;
  for (;;) {
    const response = await fetch(statusQueryGetUri);
    const status = (await response.json()) as StatusBody;
    if (status.runtimeStatus === 'Completed') {
      checkOutput(name, count, status.output);
      return status;
    }
    if (status.runtimeStatus === 'Failed' || status.runtimeStatus === 'Terminated') {
      throw new Error(`${name} ×${count} ended ${status.runtimeStatus}: ${JSON.stringify(status.output)}`);
    }
    if (Date.now() > deadline) throw new Error(`${name} ×${count} did not complete within ${RUN_TIMEOUT_IN_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_IN_MS));
  }
}

function checkOutput(name: ScenarioName, count: number, output: unknown): void {
  const expected = name === 'FanOut' ? { count, sum: (count * (count - 1)) / 2 } : { count, last: count };
  if (JSON.stringify(output) !== JSON.stringify(expected)) {
    throw new Error(`${name} ×${count} returned ${JSON.stringify(output)}, expected ${JSON.stringify(expected)}`);
  }
}

function printReport(results: readonly ScenarioResult[], runs: number): void {
  const rows = results.map((r) => {
    const total = median(r.totals);
    const baseline = median(r.baselines);
    const overhead = (total - baseline) / r.count;
    return [
      `${r.name === 'FanOut' ? 'fan-out/fan-in' : 'chain'} of ${r.count}`,
      formatMs(total),
      r.totals.map(formatMs).join(', '),
      formatMs(median(r.hostTimes)),
      formatMs(total / r.count),
      formatMs(baseline),
      formatMs(overhead),
      r.hostPeakRss === undefined ? 'n/a' : formatBytes(r.hostPeakRss),
      r.azuritePeakRss === undefined ? 'n/a' : formatBytes(r.azuritePeakRss),
    ];
  });
  console.log(`\nMedian of ${runs} runs (after a ${WARM_UP_COUNT}-activity warm-up):\n`);
  console.log(
    markdownTable(
      ['scenario', 'total (median)', 'runs', 'host-side time', 'per activity', `direct calls (baseline)`, 'overhead per activity', 'host peak RSS', 'Azurite peak RSS'],
      rows,
    ),
  );
  console.log('\nTargets:');
  for (const r of results) {
    const overhead = (median(r.totals) - median(r.baselines)) / r.count;
    console.log(`- ${r.name} ×${r.count}: overhead per activity ${formatMs(overhead)} (target ≤ ${OVERHEAD_TARGET_IN_MS} ms, ${overhead <= OVERHEAD_TARGET_IN_MS ? 'met' : 'NOT met'})`);
  }
  const fanOut = results.find((r) => r.name === 'FanOut');
  if (fanOut && fanOut.count === 1000) {
    const total = median(fanOut.totals);
    console.log(`- FanOut ×1000 total ${formatMs(total)} (target ≤ ${FAN_OUT_TARGET_IN_MS / 1000} s, ${total <= FAN_OUT_TARGET_IN_MS ? 'met' : 'NOT met'})`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
