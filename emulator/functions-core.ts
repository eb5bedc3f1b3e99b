/**
 * The `@azure/functions-core` module that the Azure Functions Node worker injects into apps.
 * `@azure/functions` and `durable-functions` register their functions and hooks through it; the embedded
 * host provides it so that an unchanged app registers with us exactly as it would with the real worker.
 */
import Module from 'node:module';
import type * as core from './functions-core-types';

export type HookName = 'preInvocation' | 'postInvocation' | 'appStart' | 'appTerminate' | 'log';

export interface RegisteredFunction {
  metadata: core.FunctionMetadata;
  callback: core.FunctionCallback;
}

export type LogSink = (level: core.RpcLogLevel, category: core.RpcLogCategory, message: string) => void;

class Disposable {
  static from(...items: { dispose: () => unknown }[]): Disposable {
    return new Disposable(() => items.forEach((item) => item.dispose()));
  }
  #callOnDispose: (() => unknown) | undefined;
  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }
  dispose(): unknown {
    const fn = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return fn?.();
  }
}

/** The registry behind the injected module: functions, hooks and the programming model the app set. */
export class FunctionsCore {
  readonly functions = new Map<string, RegisteredFunction>();
  readonly hooks: Record<HookName, core.HookCallback[]> = {
    preInvocation: [],
    postInvocation: [],
    appStart: [],
    appTerminate: [],
    log: [],
  };
  readonly appHookData: core.HookData = {};
  programmingModel: core.ProgrammingModel | undefined;
  logSink: LogSink = () => undefined;

  /** The object handed to `require('@azure/functions-core')`. */
  readonly module = {
    version: '3.10.1',
    hostVersion: '4.1037.0',
    Disposable,
    registerFunction: (metadata: core.FunctionMetadata, callback: core.FunctionCallback) => {
      if (this.functions.has(metadata.name.toLowerCase())) {
        throw new Error(`A function with the name "${metadata.name}" has already been registered.`);
      }
      this.functions.set(metadata.name.toLowerCase(), { metadata, callback });
      return new Disposable(() => this.functions.delete(metadata.name.toLowerCase()));
    },
    registerHook: (hookName: string, callback: core.HookCallback) => {
      const list = this.hooks[hookName as HookName];
      if (!list) throw new RangeError(`"${hookName}" is not a valid hook name.`);
      list.push(callback);
      return new Disposable(() => {
        const index = list.indexOf(callback);
        if (index >= 0) list.splice(index, 1);
      });
    },
    setProgrammingModel: (model: core.ProgrammingModel) => {
      this.programmingModel = model;
    },
    getProgrammingModel: () => {
      if (!this.programmingModel) {
        throw new Error('No programming model has been set. The app must load "@azure/functions" v4.');
      }
      return this.programmingModel;
    },
    log: (level: core.RpcLogLevel, category: core.RpcLogCategory, message: string) => {
      this.logSink(level, category, message);
    },
  };

  getFunction(name: string): RegisteredFunction | undefined {
    return this.functions.get(name.toLowerCase());
  }

  async runHooks(name: HookName, context: core.HookContext): Promise<void> {
    for (const hook of [...this.hooks[name]]) await hook(context);
  }
}

let installed: FunctionsCore | undefined;

/**
 * Makes `require('@azure/functions-core')` return the given registry, as the Node worker does by patching
 * `Module.prototype.require`. One registry per process: `@azure/functions` caches the module it first gets.
 */
export function installFunctionsCore(coreApi: FunctionsCore): void {
  if (installed) {
    if (installed !== coreApi) throw new Error('@azure/functions-core is already provided by another host in this process.');
    return;
  }
  installed = coreApi;
  const proto = Module.prototype as unknown as { require: (id: string) => unknown };
  const originalRequire = proto.require;
  proto.require = function patchedRequire(this: unknown, id: string) {
    if (id === '@azure/functions-core') return coreApi.module;
    return originalRequire.call(this, id);
  };
}
