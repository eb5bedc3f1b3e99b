import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';
import { startAzurite, type AzuriteOptions, type RunningAzurite } from '../../emulator/azurite';

const STARTUP_HOOK_TIMEOUT_IN_MS = 60_000;
const MAX_NAME_LENGTH = 63;

/**
 * Starts an in-memory Azurite for the enclosing jest suite (beforeAll) and stops it (afterAll).
 * Call at suite level; use the returned getter inside tests.
 */
export function useAzurite(opts: Partial<AzuriteOptions> = {}): () => RunningAzurite {
  let running: RunningAzurite | undefined;
  beforeAll(async () => {
    running = await startAzurite({ inMemory: true, ...opts });
  }, STARTUP_HOOK_TIMEOUT_IN_MS);
  afterAll(async () => {
    await running?.stop();
    running = undefined;
  });
  return () => {
    if (running === undefined) throw new Error('Azurite is not running: use the getter inside a test, after beforeAll');
    return running;
  };
}

let nameCounter = 0;

/** Short, unique across processes and calls: time, a per-process counter and random bits. */
function uniqueSuffix(): string {
  nameCounter += 1;
  const random = randomBytes(4).readUInt32BE(0).toString(36).padStart(7, '0');
  return `${Date.now().toString(36)}${nameCounter.toString(36)}${random}`;
}

/** A fresh name valid for blob containers and queues: 3–63 chars of [a-z0-9-], no leading, trailing or double '-'. */
export function uniqueName(prefix: string): string {
  const suffix = uniqueSuffix();
  const cleaned = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
  const head = cleaned.slice(0, MAX_NAME_LENGTH - suffix.length - 1).replace(/-+$/, '');
  return head === '' ? `n${suffix}` : `${head}-${suffix}`;
}

/** A fresh name valid for tables: 3–63 alphanumeric chars starting with a letter. */
export function uniqueTableName(prefix: string): string {
  const suffix = uniqueSuffix();
  let head = prefix.toLowerCase().replace(/[^a-z0-9]+/g, '');
  if (!/^[a-z]/.test(head)) head = `t${head}`;
  return `${head.slice(0, MAX_NAME_LENGTH - suffix.length)}${suffix}`;
}

// Client factories with retries off, so a failing call fails the test at once.

export function blobService(conn: string): BlobServiceClient {
  return BlobServiceClient.fromConnectionString(conn, { retryOptions: { maxTries: 1 } });
}

export function tableClient(conn: string, table: string): TableClient {
  return TableClient.fromConnectionString(conn, table, {
    allowInsecureConnection: true,
    retryOptions: { maxRetries: 0 },
  });
}

export function tableService(conn: string): TableServiceClient {
  return TableServiceClient.fromConnectionString(conn, {
    allowInsecureConnection: true,
    retryOptions: { maxRetries: 0 },
  });
}

export function queueService(conn: string): QueueServiceClient {
  return QueueServiceClient.fromConnectionString(conn, { retryOptions: { maxTries: 1 } });
}
