// Bundles the dashboard (web/src) into dist/web with esbuild: one hashed entry script (plus lazily
// loaded chunks, e.g. MSAL for Entra sign-in), index.html pointing at it, and the favicon. Everything
// the page needs is in the bundle: no CDN, works offline. Run by `npm run build` (after tsc).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '..', 'dist', 'web');
rmSync(out, { recursive: true, force: true });
mkdirSync(path.join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: { app: path.join(here, 'src', 'main.tsx') },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16', 'edge110'],
  outdir: path.join(out, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  metafile: true,
  logLevel: 'warning',
});

const entry = Object.entries(result.metafile.outputs).find(([, output]) => output.entryPoint?.endsWith('main.tsx'));
if (entry === undefined) throw new Error('esbuild produced no entry script');
const script = `assets/${path.basename(entry[0])}`;
const template = readFileSync(path.join(here, 'index.html'), 'utf8');
writeFileSync(path.join(out, 'index.html'), template.replace('%APP_SCRIPT%', script));
copyFileSync(path.join(here, 'favicon.svg'), path.join(out, 'favicon.svg'));
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
console.log(`dashboard: dist/web (${script}, ${(bytes / 1024).toFixed(0)} KiB in ${Object.keys(result.metafile.outputs).length} files)`);
