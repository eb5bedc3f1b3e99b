#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'emulator', 'az-env.js');
if (!fs.existsSync(entry)) {
  console.error('kluis: not built yet. Run `npm run build` in ' + path.dirname(__dirname) + '.');
  process.exit(1);
}
require(entry).main(process.argv).catch((err) => {
  // Commander has already printed its own usage errors and help; it marks them with an exitCode.
  if (err && typeof err.exitCode === 'number' && typeof err.code === 'string' && err.code.startsWith('commander.')) {
    process.exit(err.exitCode);
  }
  console.error(`kluis: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
