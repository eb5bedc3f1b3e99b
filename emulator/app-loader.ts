/**
 * Loads a Functions v4 Node app the way the Node worker does: provide `@azure/functions-core`, read
 * package.json `main` (a file or a glob), require every entry point, then check what got registered.
 */
import { promises as fs, existsSync } from 'node:fs';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { FunctionsCore, installFunctionsCore, RegisteredFunction } from './functions-core';
import type { RpcBindingInfo } from './functions-core-types';

export const supportedBindingTypes = {
  triggers: ['httpTrigger', 'timerTrigger', 'orchestrationTrigger', 'activityTrigger'],
  inputs: ['durableClient', 'orchestrationClient'],
  outputs: ['http'],
} as const;

export interface HostJson {
  version?: string;
  extensions?: {
    http?: { routePrefix?: string };
    durableTask?: {
      hubName?: string;
      maxConcurrentActivityFunctions?: number;
      maxConcurrentOrchestratorFunctions?: number;
      [key: string]: unknown;
    };
  };
  [key: string]: unknown;
}

export interface LoadedApp {
  appDir: string;
  entryPoints: string[];
  hostJson: HostJson;
  functions: RegisteredFunction[];
}

export class AppLoadError extends Error {
  override name = 'AppLoadError';
}

export function triggerBinding(fn: RegisteredFunction): [string, RpcBindingInfo] {
  const entry = Object.entries(fn.metadata.bindings).find(([, b]) => /Trigger$/i.test(b.type ?? ''));
  if (!entry) throw new AppLoadError(`Function "${fn.metadata.name}" has no trigger binding.`);
  return entry;
}

/** Names the first binding the embedded host cannot serve, so the user knows exactly what is missing. */
export function checkSupportedBindings(fn: RegisteredFunction): void {
  for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
    const type = binding.type ?? '';
    const allowed: readonly string[] = /Trigger$/i.test(type)
      ? supportedBindingTypes.triggers
      : binding.direction === 'out'
        ? supportedBindingTypes.outputs
        : supportedBindingTypes.inputs;
    if (!allowed.some((t) => t.toLowerCase() === type.toLowerCase())) {
      throw new AppLoadError(
        `Function "${fn.metadata.name}" uses binding "${name}" of type "${type}", which the embedded host (kluis-host) ` +
          `does not support. Supported: triggers ${supportedBindingTypes.triggers.join(', ')}; inputs ` +
          `${supportedBindingTypes.inputs.join(', ')}; outputs ${supportedBindingTypes.outputs.join(', ')}. ` +
          `Run this app with Azure Functions Core Tools (func start) for other bindings.`,
      );
    }
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (err) {
    throw new AppLoadError(`Cannot parse ${file}: ${(err as Error).message}`);
  }
}

export async function readHostJson(appDir: string): Promise<HostJson> {
  return (await readJson<HostJson>(path.join(appDir, 'host.json'))) ?? { version: '2.0' };
}

/** Values from local.settings.json, as `func start` exposes them (existing environment variables win). */
export async function readLocalSettings(appDir: string): Promise<Record<string, string>> {
  const settings = await readJson<{ Values?: Record<string, unknown> }>(path.join(appDir, 'local.settings.json'));
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings?.Values ?? {})) values[key] = String(value);
  return values;
}

export async function resolveEntryPoints(appDir: string): Promise<string[]> {
  const pkg = await readJson<{ main?: string }>(path.join(appDir, 'package.json'));
  const main = pkg?.main ?? 'index.js';
  const files = (await glob(main, { cwd: appDir, absolute: true, onlyFiles: true })).sort();
  if (files.length === 0) {
    throw new AppLoadError(
      `package.json "main" of ${appDir} is "${main}", which matches no file. Build the app first (npm run build).`,
    );
  }
  return files;
}

export async function loadApp(appDir: string, coreApi: FunctionsCore): Promise<LoadedApp> {
  const absDir = path.resolve(appDir);
  installFunctionsCore(coreApi);
  const hostJson = await readHostJson(absDir);
  const entryPoints = await resolveEntryPoints(absDir);
  for (const file of entryPoints) {
    try {
      // The worker loads CommonJS entry points with require; so do we.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(file);
    } catch (err) {
      throw new AppLoadError(`Worker failed to load function entry point "${file}": ${(err as Error).stack ?? err}`);
    }
  }
  const functions = [...coreApi.functions.values()];
  if (functions.length === 0) {
    throw new AppLoadError(
      `The app in ${absDir} registered no functions. Entry points loaded: ${entryPoints.join(', ')}. ` +
        `Register functions with app.http/app.timer/df.app.* from "@azure/functions" v4 and "durable-functions" v3 ` +
        `(make sure the app resolves the same "@azure/functions" package at load time).`,
    );
  }
  if (!coreApi.programmingModel) {
    throw new AppLoadError('The app did not set a programming model; it must use "@azure/functions" v4.');
  }
  functions.forEach(checkSupportedBindings);
  return { appDir: absDir, entryPoints, hostJson, functions };
}
