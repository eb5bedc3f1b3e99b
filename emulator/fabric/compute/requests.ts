/**
 * Request bodies of the fabric's Compute endpoint, as the published API (and @azure/arm-compute)
 * sends them. Unknown and read-only properties are ignored, as ARM does; enum values match
 * case-insensitively. A body that does not fit is 400 InvalidParameter naming the property.
 */
import { z } from 'zod';
import { computeErrors } from './errors';

const tags = z.record(z.string().max(512), z.string().max(256)).optional();
const resourceRef = z.object({ id: z.string().min(1) });

/** An enum whose values match case-insensitively and come out in their canonical spelling. */
export function looseEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return z.string().transform((value, ctx) => {
    const found = values.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
    if (found === undefined) {
      ctx.addIssue({ code: 'custom', message: `'${value.slice(0, 64)}' is not one of ${values.join(', ')}` });
      return z.NEVER;
    }
    return found as T[number];
  });
}

const osType = looseEnum(['Windows', 'Linux']).optional();
const hyperVGeneration = looseEnum(['V1', 'V2']).optional();

/** ARM's `encryptionSettingsCollection` (Azure Disk Encryption); the fabric keeps the first element's keys. */
const encryptionSettingsCollection = z.object({
  enabled: z.boolean(),
  encryptionSettings: z
    .array(
      z.object({
        diskEncryptionKey: z.object({ secretUrl: z.string().url(), sourceVault: resourceRef }).optional(),
        keyEncryptionKey: z.object({ keyUrl: z.string().url(), sourceVault: resourceRef }).optional(),
      }),
    )
    .max(1, 'the local fabric keeps one encryption setting per disk')
    .optional(),
  encryptionSettingsVersion: z.string().optional(),
});

export const diskBodySchema = z.object({
  location: z.string().optional(),
  tags,
  sku: z.object({ name: z.string() }).optional(),
  zones: z.array(z.string()).optional(),
  properties: z.object({
    osType,
    hyperVGeneration,
    diskSizeGB: z.number().int().optional(),
    encryptionSettingsCollection: encryptionSettingsCollection.optional(),
    creationData: z.object({
      createOption: z.string(),
      sourceResourceId: z.string().optional(),
      uploadSizeBytes: z.number().int().optional(),
      sourceUri: z.string().optional(),
      storageAccountId: z.string().optional(),
    }),
  }),
});
export type DiskBody = z.output<typeof diskBodySchema>;

export const snapshotBodySchema = z.object({
  location: z.string().optional(),
  tags,
  sku: z.object({ name: z.string() }).optional(),
  properties: z.object({
    osType,
    hyperVGeneration,
    incremental: z.boolean().optional(),
    creationData: z.object({ createOption: z.string(), sourceResourceId: z.string().optional() }),
  }),
});
export type SnapshotBody = z.output<typeof snapshotBodySchema>;

export const grantAccessSchema = z.object({
  access: looseEnum(['None', 'Read', 'Write']),
  durationInSeconds: z.number().int(),
  fileFormat: looseEnum(['VHD', 'VHDX']).optional(),
  getSecureVMGuestStateSAS: z.boolean().optional(),
});
export type GrantAccessBody = z.output<typeof grantAccessSchema>;

export const collectionBodySchema = z.object({
  location: z.string().optional(),
  tags,
  properties: z.object({ source: resourceRef.optional(), instantAccess: z.boolean().optional() }).optional(),
});
export type CollectionBody = z.output<typeof collectionBodySchema>;

export const collectionPatchSchema = z.object({ tags });

export const restorePointBodySchema = z.object({
  properties: z
    .object({
      excludeDisks: z.array(resourceRef).optional(),
      consistencyMode: z.string().optional(),
      instantAccessDurationMinutes: z.number().int().positive().optional(),
      sourceRestorePoint: resourceRef.optional(),
    })
    .optional(),
});
export type RestorePointBody = z.output<typeof restorePointBodySchema>;

const vmDiskSchema = z.object({
  name: z.string().optional(),
  osType,
  createOption: z.string(),
  caching: z.string().optional(),
  deleteOption: looseEnum(['Delete', 'Detach']).optional(),
  managedDisk: z.object({ id: z.string().optional(), storageAccountType: z.string().optional() }).optional(),
  vhd: z.object({ uri: z.string().optional() }).optional(),
});

export const virtualMachineBodySchema = z.object({
  location: z.string().optional(),
  tags,
  properties: z.object({
    hardwareProfile: z.object({ vmSize: z.string().min(1).max(64).optional() }).optional(),
    storageProfile: z.object({
      imageReference: z.unknown().optional(),
      osDisk: vmDiskSchema,
      dataDisks: z.array(vmDiskSchema.extend({ lun: z.number().int() })).optional(),
    }),
  }),
});
export type VirtualMachineBody = z.output<typeof virtualMachineBodySchema>;

/** A management lock (ARM's ManagementLockObject): `level` CanNotDelete (or ReadOnly, which the fabric refuses). */
export const lockBodySchema = z.object({
  properties: z.object({ level: z.string(), notes: z.string().max(512).optional(), owners: z.array(z.unknown()).optional() }),
});
export type LockBody = z.output<typeof lockBodySchema>;

/** Parses a JSON request body; InvalidRequestContent when it is not JSON, InvalidParameter naming the first misfit. */
export function parseBody<T>(schema: z.ZodType<T>, raw: Buffer): T {
  const text = raw.toString('utf8');
  let value: unknown = {};
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      throw computeErrors.invalidRequestContent('the body is not valid JSON.');
    }
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const target = issue.path.map(String).join('.') || 'body';
  throw computeErrors.invalidParameter(target, `The value of parameter '${target}' is invalid: ${issue.message}.`);
}
