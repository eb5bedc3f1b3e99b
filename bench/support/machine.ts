/** A one-line description of the machine a benchmark ran on (and how busy it was), for RESULTS.md. */
import os from 'node:os';
import { GIB } from './stats';

export function describeMachine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  return `${cpus.length} cores (${model}), ${(os.totalmem() / GIB).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}, load average ${os.loadavg()[0].toFixed(2)} at start`;
}
