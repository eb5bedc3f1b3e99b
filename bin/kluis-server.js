#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const { relaunchWithMallocTuning } = require('./malloc-tuning');
const entry = path.join(__dirname, '..', 'dist', 'emulator', 'backup-server', 'cli.js');
if (!fs.existsSync(entry)) {
  console.error('kluis-server: not built yet. Run `npm run build` in ' + path.dirname(__dirname) + '.');
  process.exit(1);
}
if (!relaunchWithMallocTuning()) require(entry).main(process.argv).catch((err) => {
  if (err && typeof err.exitCode === 'number' && typeof err.code === 'string' && err.code.startsWith('commander.')) {
    process.exit(err.exitCode);
  }
  console.error(`kluis-server: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
