/**
 * `npm run package` (infra/package.js): what is deployed is the compiled app and its production
 * dependencies only — no emulator, tests, benchmarks or dev dependencies — and everything it requires
 * resolves inside the package. Needs `npm run build` first (as every e2e test).
 */
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { packageApp } = require(path.join(ROOT, 'infra/package.js')) as { packageApp(outDir: string): string };

/** Outside the repository: resolution must not fall back to the repository's node_modules. */
const outDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kluis-package-')), 'app');

function jsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return jsFiles(full);
    return entry.name.endsWith('.js') ? [full] : [];
  });
}

const BUILTINS = new Set(builtinModules);

beforeAll(() => {
  packageApp(outDir);
}, 180_000);

afterAll(() => {
  fs.rmSync(path.dirname(outDir), { recursive: true, force: true });
});

describe('npm run package', () => {
  it('holds host.json, the manifest without scripts or bins, and the compiled app without emulator, tests or benchmarks', () => {
    expect(fs.readdirSync(outDir).sort()).toEqual(['dist', 'host.json', 'node_modules', 'package-lock.json', 'package.json']);
    const dist = fs.readdirSync(path.join(outDir, 'dist'));
    expect(dist).toEqual(expect.arrayContaining(['functions', 'lib', 'orchestrations']));
    for (const excluded of ['emulator', 'test', 'bench', 'bin']) expect(dist).not.toContain(excluded);
    const manifest = JSON.parse(fs.readFileSync(path.join(outDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.scripts).toBeUndefined();
    expect(manifest.bin).toBeUndefined();
    expect(manifest.main).toBe('dist/functions/index.js');
    expect(fs.readFileSync(path.join(outDir, 'host.json'), 'utf8')).toBe(fs.readFileSync(path.join(ROOT, 'host.json'), 'utf8'));
  });

  it('installs the production dependencies and none of the development ones (Azurite, jest, TypeScript)', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const [name, version] of Object.entries(manifest.dependencies)) {
      const installed = JSON.parse(fs.readFileSync(path.join(outDir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
      expect(`${name}@${installed.version}`).toBe(`${name}@${version}`);
    }
    for (const name of Object.keys(manifest.devDependencies)) {
      expect(fs.existsSync(path.join(outDir, 'node_modules', name))).toBe(false);
    }
    expect(fs.existsSync(path.join(outDir, 'node_modules', 'azurite'))).toBe(false);
  });

  it('resolves every module the app requires inside the package, never the emulator', () => {
    const files = jsFiles(path.join(outDir, 'dist'));
    expect(files.length).toBeGreaterThan(100);
    const unresolved: string[] = [];
    for (const file of files) {
      const source = fs.readFileSync(file, 'utf8');
      for (const match of source.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) {
        const specifier = match[1];
        if (specifier.startsWith('node:') || BUILTINS.has(specifier)) continue;
        let resolved: string;
        try {
          resolved = require.resolve(specifier, { paths: [path.dirname(file)] });
        } catch {
          unresolved.push(`${path.relative(outDir, file)}: ${specifier}`);
          continue;
        }
        if (!resolved.startsWith(outDir + path.sep) || resolved.includes(`${path.sep}emulator${path.sep}`)) unresolved.push(`${path.relative(outDir, file)}: ${specifier} → ${resolved}`);
      }
    }
    expect(unresolved).toEqual([]);
  });

  it('loads every function file with Node in the package folder (the entry point Azure loads)', () => {
    const script = `
      const fs = require('node:fs'), path = require('node:path');
      const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.js') ? [path.join(d, e.name)] : []);
      const files = walk('dist/functions');
      for (const file of files) require(path.resolve(file));
      process.stdout.write(String(files.length));`;
    const loaded = execFileSync(process.execPath, ['-e', script], { cwd: outDir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'ignore'] });
    expect(Number(loaded)).toBeGreaterThan(20);
  });
});
