'use strict';
/**
 * Peak memory of the backup server (issue 16, session 9): on Linux, glibc raises its mmap threshold each time a
 * large block is freed, so the MiB-sized buffers of chunking, brotli and AES-GCM (up to the 8 MiB chunk size) end
 * up in malloc arenas that never shrink; RSS then grows with the data backed up while the JS heap and Buffers stay
 * under 100 MiB (a 2 GiB tree: 435 MiB). A fixed threshold (glibc's own default, 128 KiB) returns every such block
 * to the system when freed. glibc reads it only at start-up, so a launcher that finds it unset starts Node again
 * with it set (once: the variable is then present) and passes signals and the exit status through.
 * KLUIS_MALLOC_TUNING=off leaves the process as it is.
 */
const { spawn } = require('node:child_process');

const MMAP_THRESHOLD = '131072';

/** True when this process was relaunched (the caller must do nothing more: the child does the work). */
function relaunchWithMallocTuning() {
  if (process.platform !== 'linux' || process.env.MALLOC_MMAP_THRESHOLD_ !== undefined || process.env.KLUIS_MALLOC_TUNING === 'off') return false;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, MALLOC_MMAP_THRESHOLD_: MMAP_THRESHOLD },
  });
  const forward = (signal) => () => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, forward(signal));
  child.once('error', (err) => {
    console.error(`kluis: could not start Node again with MALLOC_MMAP_THRESHOLD_ (${err.message}); set KLUIS_MALLOC_TUNING=off`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
  return true;
}

module.exports = { relaunchWithMallocTuning, MMAP_THRESHOLD };
