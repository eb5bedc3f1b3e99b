/**
 * Request bodies of the fabric's VM actions (the create body is the domain's createVmRequestSchema),
 * and the one function that turns a zod failure into KluisInvalidRequest naming the offending field.
 */
import { z } from 'zod';
import { errors } from '../../lib/domain/errors';
import {
  AGENT_STATUSES,
  FS_FREEZE_HEALTH,
  MAX_DATA_DISK_LUN,
  SNAPSHOT_STATUS_REPORTING,
  VSS_HEALTH,
} from '../../lib/domain/virtual-machine';
import { PAGE_SIZE } from '../../lib/engine/domain/vhd';

/** `all` disks, the `os` disk, or the data disk with this Azure LUN. */
export const diskSelectorSchema = z.union([z.literal('all'), z.literal('os'), z.number().int().min(0).max(MAX_DATA_DISK_LUN)]);
export type DiskSelector = z.output<typeof diskSelectorSchema>;

const percent = z.number().gt(0, { error: 'must be more than 0' }).max(100);
const seed = z.string().min(1).max(128);
const pageMultiple = (what: string) =>
  z
    .number()
    .int()
    .refine((n) => n % PAGE_SIZE === 0, { error: `${what} must be a multiple of ${PAGE_SIZE} bytes` });

export const writeDataRequestSchema = z.strictObject({
  disk: diskSelectorSchema.default('all'),
  /** Share of each selected disk to overwrite, in random 64 KiB blocks. */
  percent,
  /** Same seed, same blocks and bytes. Default: a fresh random seed (returned in the result). */
  seed: seed.optional(),
});
export type WriteDataRequest = z.output<typeof writeDataRequestSchema>;
export type WriteDataRequestInput = z.input<typeof writeDataRequestSchema>;

export const clearDataRequestSchema = z
  .strictObject({
    disk: diskSelectorSchema.default('all'),
    /** Clear one range: from `offset` (default 0) for `length` bytes (default: to the end of the data area). */
    offset: pageMultiple('offset').nonnegative().optional(),
    length: pageMultiple('length').positive().optional(),
    /** Or clear random 64 KiB blocks covering this share of each disk. */
    percent: percent.optional(),
    seed: seed.optional(),
  })
  .refine((r) => r.percent === undefined || (r.offset === undefined && r.length === undefined), {
    error: 'give either percent or offset/length, not both',
    path: ['percent'],
  });
export type ClearDataRequest = z.output<typeof clearDataRequestSchema>;
export type ClearDataRequestInput = z.input<typeof clearDataRequestSchema>;

/** Fault injection: set what is given; `null` removes a script. Unset fields stay as they are. */
export const faultsRequestSchema = z.strictObject({
  agentStatus: z.enum(AGENT_STATUSES).optional(),
  agentVersion: z.string().min(1).max(64).optional(),
  vss: z.enum(VSS_HEALTH).optional(),
  fsFreeze: z.enum(FS_FREEZE_HEALTH).optional(),
  snapshotStatus: z.enum(SNAPSHOT_STATUS_REPORTING).optional(),
  provisioningState: z.enum(['Succeeded', 'Failed']).optional(),
  preScript: z.string().min(1).max(1024).nullable().optional(),
  postScript: z.string().min(1).max(1024).nullable().optional(),
});
export type FaultsRequest = z.output<typeof faultsRequestSchema>;

/**
 * Azure Disk Encryption of a VM: the BEK secret and (unless bekOnly) the KEK key are made in this Key
 * Vault. `keyVaultId` is the vault's resource id — with the local Key Vault emulator also its name or URL.
 */
export const encryptVmRequestSchema = z.strictObject({
  keyVaultId: z.string().trim().min(1).max(1024),
  /** Default: the vault URL the locator gives for keyVaultId. */
  keyVaultUrl: z.url({ protocol: /^https$/ }).optional(),
  /** The KEK's name (an existing key is reused, as ADE does); default kluis-ade-kek. */
  kekName: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, { error: 'a key name is 1–127 letters, digits and hyphens' }).optional(),
  /** BEK only, no KEK: what Azure Backup refuses to protect. */
  bekOnly: z.boolean().default(false),
}).refine((r) => !(r.bekOnly && r.kekName !== undefined), { error: 'a BEK-only encryption has no KEK: leave kekName out', path: ['kekName'] });
export type EncryptVmRequest = z.output<typeof encryptVmRequestSchema>;
export type EncryptVmRequestInput = z.input<typeof encryptVmRequestSchema>;

/** Parses `value` with `schema`; KluisInvalidRequest with the first issue's field path as target. */
export function parseRequest<T>(schema: z.ZodType<T>, value: unknown, targetPrefix = ''): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.code === 'unrecognized_keys' ? [...issue.path.map(String), issue.keys.join(',')].join('.') : issue.path.map(String).join('.');
  const target = [targetPrefix, field].filter((part) => part !== '').join('.') || 'body';
  throw errors.invalidRequest(target, `${target}: ${issue.message}`);
}
