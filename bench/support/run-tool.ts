import { spawn } from 'node:child_process';

/** Runs a baseline tool (restic, borg) to its end: its stdout, or an error with the tail of its stderr. */
export function runTool(command: string, args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${command} ${args[0]} exited with ${code}:\n${Buffer.concat(err).toString('utf8').slice(-2000)}`));
    });
  });
}
