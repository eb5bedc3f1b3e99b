/**
 * Runs one invocation the way the Node worker does: through the app's programming model
 * (getInvocationModel → getArguments → preInvocation hooks → invokeFunction → postInvocation hooks → getResponse).
 */
import { randomUUID } from 'node:crypto';
import { FunctionsCore, RegisteredFunction } from './functions-core';
import type { CoreInvocationContext, RpcInvocationRequest, RpcInvocationResponse, RpcTypedData } from './functions-core-types';
import { HostLogger, normalizeLevel } from './logger';

export interface InvocationInput {
  /** Typed data per binding name (trigger and extra inputs). */
  inputs: Record<string, RpcTypedData | undefined>;
  triggerMetadata?: Record<string, RpcTypedData>;
  logFields?: Record<string, unknown>;
}

export type InvocationOutcome =
  | { ok: true; invocationId: string; response: RpcInvocationResponse; result: unknown }
  | { ok: false; invocationId: string; error: unknown };

export class Invoker {
  constructor(
    private readonly coreApi: FunctionsCore,
    private readonly logger: HostLogger,
  ) {}

  async invoke(fn: RegisteredFunction, input: InvocationInput): Promise<InvocationOutcome> {
    const invocationId = randomUUID();
    const functionName = fn.metadata.name;
    const log = this.logger.child({ invocationId, functionName, ...input.logFields });
    const request: RpcInvocationRequest = {
      invocationId,
      functionId: functionName,
      inputData: Object.entries(input.inputs).map(([name, data]) => ({ name, data: data ?? {} })),
      triggerMetadata: input.triggerMetadata ?? {},
    };
    const coreCtx: CoreInvocationContext = {
      invocationId,
      request,
      metadata: { name: functionName, bindings: fn.metadata.bindings, functionId: functionName },
      log: (level, category, message) => log.log(normalizeLevel(level), message, { category }),
    };
    const model = this.coreApi.programmingModel;
    if (!model) throw new Error('No programming model registered');
    const started = process.hrtime.bigint();
    try {
      const invocationModel = await model.getInvocationModel(coreCtx);
      const { context, inputs } = await invocationModel.getArguments();
      const hookData = {};
      const pre = { invocationContext: context, inputs, functionCallback: fn.callback, hookData, appHookData: this.coreApi.appHookData };
      coreCtx.state = 'preInvocationHooks';
      await this.coreApi.runHooks('preInvocation', pre);
      coreCtx.state = 'invocation';
      let result: unknown;
      let error: unknown;
      try {
        result = await invocationModel.invokeFunction(context, pre.inputs, pre.functionCallback);
      } catch (err) {
        error = err;
      }
      const post = { invocationContext: context, inputs: pre.inputs, result, error, hookData, appHookData: this.coreApi.appHookData };
      coreCtx.state = 'postInvocationHooks';
      await this.coreApi.runHooks('postInvocation', post);
      coreCtx.state = undefined;
      if (post.error) throw post.error;
      const response = await invocationModel.getResponse(context, post.result);
      log.log('debug', `Executed '${functionName}' (Succeeded, Duration=${elapsedMs(started)}ms)`);
      return { ok: true, invocationId, response, result: post.result };
    } catch (error) {
      log.log('error', `Executed '${functionName}' (Failed, Duration=${elapsedMs(started)}ms): ${describeError(error)}`);
      return { ok: false, invocationId, error };
    }
  }
}

function elapsedMs(started: bigint): number {
  return Number((process.hrtime.bigint() - started) / 1000000n);
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('$OutOfProcData$')[0].trim();
  return String(error);
}

export function jsonData(value: unknown): RpcTypedData {
  return value === undefined ? {} : { json: JSON.stringify(value) };
}

/** Reads a returned value the way the Functions host would pass it on (JSON where possible). */
export function fromTypedData(data: RpcTypedData | null | undefined): unknown {
  if (!data) return undefined;
  if (data.json != null) return JSON.parse(data.json);
  if (data.string != null) {
    try {
      return JSON.parse(data.string);
    } catch {
      return data.string;
    }
  }
  if (data.bytes != null) return Buffer.from(data.bytes);
  if (data.int != null) return data.int;
  if (data.double != null) return data.double;
  return undefined;
}
