#!/usr/bin/env node
'use strict';
/**
 * `npm run package`: the Function App as Azure runs it, in build/package — host.json, package.json
 * (without scripts), the compiled app (dist/functions, dist/orchestrations, dist/lib, and dist/web when
 * the dashboard is built) and its production dependencies from package-lock.json. No emulator, no
 * tests, benchmarks or dev dependencies (Azurite is one). azd, the GitHub workflow and
 * `func azure functionapp publish` deploy this folder; the cloud-mode e2e test runs it.
 *
 * Usage: node infra/package.js [outDir]   (after `npm run build`)
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
/** The compiled folders the app loads; everything else in dist/ (emulator, test, bench) stays out. */
const APP_FOLDERS = ['functions', 'orchestrations', 'lib', 'web'];
const REQUIRED_FOLDERS = ['functions', 'orchestrations', 'lib'];

function packageApp(outDir) {
  const dist = path.join(ROOT, 'dist');
  for (const folder of REQUIRED_FOLDERS) {
    if (!fs.existsSync(path.join(dist, folder))) throw new Error(`dist/${folder} is missing: run npm run build first`);
  }
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(path.join(outDir, 'dist'), { recursive: true });
  for (const folder of APP_FOLDERS) {
    const from = path.join(dist, folder);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(outDir, 'dist', folder), { recursive: true });
  }
  fs.copyFileSync(path.join(ROOT, 'host.json'), path.join(outDir, 'host.json'));
  fs.copyFileSync(path.join(ROOT, 'package-lock.json'), path.join(outDir, 'package-lock.json'));
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  // No scripts (prepare would build, and nothing is built in Azure) and no bins (they start the emulator).
  // devDependencies stay declared so the lock file matches; --omit=dev leaves them out.
  const { scripts: _scripts, bin: _bin, ...deployed } = manifest;
  fs.writeFileSync(path.join(outDir, 'package.json'), `${JSON.stringify(deployed, null, 2)}\n`);
  execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: outDir,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  return outDir;
}

module.exports = { packageApp, APP_FOLDERS };

if (require.main === module) {
  const outDir = path.resolve(process.argv[2] ?? path.join(ROOT, 'build', 'package'));
  packageApp(outDir);
  process.stdout.write(`Packaged the app in ${path.relative(process.cwd(), outDir) || '.'}\n`);
}
