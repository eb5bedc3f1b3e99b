/** Runs bench/backup-server-worker.ts (one Kluis repository operation per child process) for bench/backup-server.ts. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { KluisTask, KluisWorkerResult } from '../backup-server-worker';
import { timed } from './stats';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const WORKER = path.join(REPO_ROOT, 'dist', 'bench', 'backup-server-worker.js');
/** bin/malloc-tuning.js's value (the launcher is plain JS outside the compiled tree). */
const MMAP_THRESHOLD = '131072';

/** The worker's result and the wall time of the whole child process (Node start-up included, as restic's and borg's). */
export async function runKluis(task: KluisTask): Promise<{ result: KluisWorkerResult; ms: number }> {
  return timed(
    () =>
      new Promise<KluisWorkerResult>((resolve, reject) => {
        // As bin/kluis-server.js runs it (bin/malloc-tuning.js): glibc's mmap threshold fixed, so freed MiB-sized buffers leave RSS.
        const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? MMAP_THRESHOLD };
        const child = spawn(process.execPath, [WORKER, JSON.stringify(task)], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        child.once('error', reject);
        child.once('close', (code) => {
          const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
          if (code === 0 && line) resolve(JSON.parse(line.slice('RESULT '.length)) as KluisWorkerResult);
          else reject(new Error(`Kluis worker (${task.op}) exited with ${code}:\n${stderr.slice(-4000)}`));
        });
      }),
  );
}
