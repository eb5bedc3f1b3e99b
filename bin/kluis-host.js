#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'emulator', 'cli.js');
if (!fs.existsSync(entry)) {
  console.error('kluis-host: the embedded host is not built yet. Run `npm run build` in ' + path.dirname(__dirname) + '.');
  process.exit(1);
}
require(entry).main(process.argv).catch((err) => {
  console.error(`kluis-host: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
