import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layering (README "Layout"): the engine (lib/engine) stands below the vault side and never imports it;
 * the pure domains (lib/domain, lib/engine/domain) import no I/O. Imports are relative, so each rule is
 * written per folder depth: `toLib(depth)` is the relative path from a file `depth` folders below lib/.
 */
const toLib = (depth) => `^(?:\\.\\./){${depth}}`;
const IO_PACKAGES = [
  { group: ['@azure/*', 'durable-functions'], message: 'Pure code: I/O clients live in lib/stores/azure (and emulator/).' },
  { group: ['fs', 'fs/*', 'node:fs', 'node:fs/*', 'net', 'node:net', 'http', 'node:http', 'https', 'node:https', 'child_process', 'node:child_process'], message: 'Pure code: no file system, network or processes.' },
];
const ENGINE_STORES = '(?:disk-store|page-blob-store|restore-target-store|recovery-point-catalog|managed-disk-compute)';

/** lib/engine/** (a file `depth` folders below lib/): none of the vault side, no config, only the engine's own stores, no @azure. */
function engineRules(depth) {
  const lib = toLib(depth);
  return {
    files: [`lib/engine/${'*/'.repeat(depth - 1)}*.ts`],
    ignores: depth === 2 ? ['lib/engine/domain/*.ts'] : [],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['@azure/*', 'durable-functions'], message: 'The engine reaches storage and Compute through lib/stores interfaces; @azure/* lives in lib/stores/azure.' },
          { regex: `${lib}(?:services|config)(?:/|$)`, message: 'The engine stands below the vault side (lib/services) and takes its configuration as parameters.' },
          { regex: `${lib}domain/(?!errors$)`, message: 'The engine imports only the error catalogue from lib/domain; the rest is the vault side.' },
          { regex: `${lib}stores/(?!${ENGINE_STORES}$)`, message: 'The engine uses only its own store interfaces (disks, page blobs, managed disks, restore targets, recovery points).' },
          { regex: `${lib}\\.\\./`, message: 'lib/engine imports nothing outside lib/ (functions, orchestrations, emulator).' },
        ],
      }],
    },
  };
}

/**
 * lib/backup-server/** (the backup server's repository, issue 16): like the engine, below the vault side; it reaches
 * disks only through its own store interfaces, and its domain/ is pure (node:crypto and node:zlib are computation).
 */
const BACKUP_SERVER_STORES = '(?:repository-store|local-file-system|vault-registrar|vault-copy-access)';
function backupServerRules(depth) {
  const lib = toLib(depth);
  return {
    files: [`lib/backup-server/${'*/'.repeat(depth - 1)}*.ts`],
    ignores: depth === 2 ? ['lib/backup-server/domain/*.ts'] : [],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['@azure/*', 'durable-functions'], message: 'The backup server reaches storage through lib/stores interfaces; @azure/* lives in lib/stores/azure.' },
          { group: ['fs', 'fs/*', 'node:fs', 'node:fs/*'], message: 'The backup server reaches disks through its store interfaces (lib/stores/repository-store, local-file-system).' },
          { regex: `${lib}(?:services|config|engine)(?:/|$)`, message: 'The backup server repository stands below the vault side and takes its configuration as parameters.' },
          { regex: `${lib}domain/(?!errors$|backup-server/)`, message: 'The backup server imports only the error catalogue and the shared backup-server contracts (lib/domain/backup-server) from lib/domain.' },
          { regex: `${lib}stores/(?!${BACKUP_SERVER_STORES}$)`, message: 'The backup server uses only its own store interfaces (repository store, local file system).' },
          { regex: `${lib}\\.\\./`, message: 'lib/backup-server imports nothing outside lib/.' },
        ],
      }],
    },
  };
}

/** The pure domains: lib/domain/** and lib/engine/domain/**: no I/O, no stores, services, engine use cases or config. */
function pureDomainRules(files, depth, { engine }) {
  const lib = toLib(depth);
  const patterns = [
    ...IO_PACKAGES,
    { regex: `${lib}(?:stores|services|config)(?:/|$)`, message: 'Domain code is pure: stores, services and configuration are layers above it.' },
    engine
      ? { regex: `${lib}domain/(?!errors$)`, message: "The engine's domain imports only the error catalogue from lib/domain." }
      : { regex: `${lib}engine/(?!domain/)`, message: "The vault's domain may use the engine's pure domain (lib/engine/domain), nothing else of the engine." },
  ];
  if (engine) patterns.push({ regex: '^\\.\\./(?!\\.\\./|domain/)', message: "The engine's domain is pure: no use cases, sources or deps." });
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', { patterns }],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Pure code: time is a parameter.' }],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Pure code: time is a parameter.' }],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.kluis/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  engineRules(1),
  engineRules(2),
  engineRules(3),
  pureDomainRules(['lib/domain/*.ts'], 1, { engine: false }),
  pureDomainRules(['lib/domain/*/*.ts'], 2, { engine: false }),
  pureDomainRules(['lib/engine/domain/*.ts'], 2, { engine: true }),
  backupServerRules(1),
  backupServerRules(2),
  pureDomainRules(['lib/backup-server/domain/*.ts'], 2, { engine: true }),
  {
    files: ['orchestrations/*.ts'],
    rules: {
      // Orchestrators replay: they run only the pure domains; activities, use cases and stores reach them as types (the
      // activity declarations of functions/activities, the payload types of lib), never as code that could do I/O.
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { regex: '^\\.\\./(?:functions|lib/services|lib/stores|lib/engine/(?!domain/))', allowTypeImports: true, message: 'Orchestrators import activities, use cases and stores as types only (import type).' },
          { regex: '^\\.\\./(?:emulator|lib/config)(?:/|$)', message: 'Orchestrators never read configuration or use the emulator.' },
        ],
      }],
    },
  },
  {
    files: ['web/build.mjs'],
    languageOptions: { sourceType: 'module', globals: { console: 'readonly', process: 'readonly' } },
  },
  {
    files: ['orchestrations/**/*.ts'],
    rules: {
      // Orchestrators replay: time comes from context.df.currentUtcDateTime, never the system clock.
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'fetch', 'process'],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random' }, { object: 'Date', property: 'now' }],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Use context.df.currentUtcDateTime: orchestrators must be deterministic.' },
      ],
    },
  },
);
