/**
 * The one error type of Kluis and the catalogue of its codes.
 *
 * Codes follow Azure Backup's names where Azure has one (UserError…, BackUpOperationFailed); ours
 * start with `Kluis`. Every code has an HTTP status and a recommendation, so an API response, a job's
 * error details and a log line all say the same thing.
 */

export interface ErrorCodeInfo {
  readonly status: number;
  readonly recommendation: string;
}

/** Every code Kluis raises, in one place. Add new codes here, then a factory below. */
export const ERROR_CODES = {
  // Azure Backup names
  UserErrorUnsupportedDiskSize: {
    status: 400,
    recommendation:
      'Azure Backup supports page-blob disks of up to 32 TiB whose size is a whole number of 512-byte pages. Resize the disk or exclude it from backup.',
  },
  UserErrorVmNotFoundV2: {
    status: 404,
    recommendation: 'The virtual machine no longer exists. Stop protection for it, or restore it from an existing recovery point.',
  },
  BackUpOperationFailed: {
    status: 500,
    recommendation: 'The backup failed because of an internal error. Retry the operation; if it fails again, check the logs for the job.',
  },
  // Kluis names (Azure Backup has none for these cases)
  KluisInvalidRequest: {
    status: 400,
    recommendation: 'Correct the named field and send the request again.',
  },
  KluisSourceDiskNotFound: {
    status: 404,
    recommendation: 'Check the container and blob name of the source disk, and that Kluis has access to its storage account.',
  },
  KluisSourceDiskNotPageBlob: {
    status: 400,
    recommendation: 'Only page blobs holding fixed VHDs can be backed up. Convert the disk to a fixed VHD page blob.',
  },
  KluisInvalidVhdFooter: {
    status: 400,
    recommendation: 'The source blob is not a valid fixed VHD (its last 512 bytes must be a VHD footer). Re-upload the disk as a fixed VHD.',
  },
  KluisUnsupportedVhdType: {
    status: 400,
    recommendation: 'Only fixed VHDs are supported. Convert the dynamic or differencing VHD to a fixed VHD first.',
  },
  KluisBlobNotFound: {
    status: 404,
    recommendation: 'A blob Kluis needs is missing. If it was deleted outside Kluis, run the operation again.',
  },
  KluisInvalidBlobName: {
    status: 400,
    recommendation: 'Blob names are 1–1024 characters, at most 254 path segments, and must not end with a dot or a slash.',
  },
  KluisInvalidContainerName: {
    status: 400,
    recommendation: 'Container names are 3–63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.',
  },
  KluisInvalidIdentifier: {
    status: 400,
    recommendation: 'Identifiers are 1–128 letters, digits, dots, underscores and hyphens, starting with a letter or digit.',
  },
  KluisInvalidPageRange: {
    status: 500,
    recommendation: 'The storage service reported page ranges Kluis cannot use. Retry the backup; if it fails again, report the job.',
  },
  KluisTransferIntegrityFailed: {
    status: 500,
    recommendation: 'Data read back did not match what was written. Retry the backup; if it fails again, check the storage account health.',
  },
  KluisInvalidConfiguration: {
    status: 500,
    recommendation: 'Fix the named application setting (see local.settings.sample.json) and restart the app.',
  },
  KluisBackupInstanceNotFound: {
    status: 404,
    recommendation: 'Check the backup job id; ids are returned by POST /api/backups.',
  },
  KluisInvalidBlockSums: {
    status: 500,
    recommendation: 'A checksums blob of a recovery point is damaged or of an unknown format. Take a new full backup; report the job if it recurs.',
  },
  KluisInvalidManifest: {
    status: 500,
    recommendation: 'A recovery point manifest is damaged or of an unknown schema. Use another recovery point and report the job.',
  },
  KluisTransferPlanInvalid: {
    status: 500,
    recommendation: 'The transfer plan for a disk segment is inconsistent (internal error). Retry the backup; report the job if it fails again.',
  },
  KluisStagingCopyFailed: {
    status: 500,
    recommendation: 'Copying the disk snapshot to its staging blob failed. Retry the backup; check the source storage account health if it fails again.',
  },
  KluisCatalogConflict: {
    status: 409,
    recommendation: 'The catalog entry was changed by another operation. Read it again and retry.',
  },
  // Restore and delete of recovery points (restore-disks.ts, delete-recovery-point.ts)
  UserErrorInstantRpNotFound: {
    status: 404,
    recommendation:
      'The instant-restore snapshot of this recovery point no longer exists. Restore from the vault tier, or pick a recovery point whose snapshot tier is still available.',
  },
  KluisRecoveryPointNotFound: {
    status: 404,
    recommendation: 'Check the item and recovery point ids; list the recovery points of the item to see which exist.',
  },
  KluisRecoveryPointDataNotFound: {
    status: 404,
    recommendation:
      'The stored data of this recovery point is missing (its snapshot and vault copies are gone). Restore from another recovery point.',
  },
  KluisRestoreVerificationFailed: {
    status: 500,
    recommendation:
      'The data read for the restore did not match the checksums recorded at backup, so the partial restore was deleted. Restore from the other tier of this point (snapshot or vault) or from another recovery point, and report the job: the stored copy may be damaged.',
  },
  KluisRestoreTargetExists: {
    status: 409,
    recommendation:
      'Restore never overwrites blobs. Choose another target container or blob prefix, or delete the existing blobs first.',
  },
  KluisVaultTierDeletionBlocked: {
    status: 409,
    recommendation:
      "The vault tier of a recovery point cannot be deleted while its snapshot tier exists. Delete the snapshot tier first, or let retention expire the point.",
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type KluisErrorCode = keyof typeof ERROR_CODES;

export const KLUIS_ERROR_CODES = Object.keys(ERROR_CODES) as KluisErrorCode[];

export function isKluisErrorCode(value: unknown): value is KluisErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

export interface KluisErrorDetail {
  code: string;
  message: string;
  target?: string;
}

export class KluisError extends Error {
  override readonly name = 'KluisError';
  readonly code: KluisErrorCode;
  readonly status: number;
  readonly recommendation: string;
  readonly target?: string;
  readonly details?: readonly KluisErrorDetail[];

  constructor(
    code: KluisErrorCode,
    message: string,
    opts: { target?: string; details?: readonly KluisErrorDetail[]; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.recommendation = ERROR_CODES[code].recommendation;
    if (opts.target !== undefined) this.target = opts.target;
    if (opts.details !== undefined) this.details = opts.details;
    // Only the message and the stack cross the Durable activity boundary; putting the code in the
    // stack's first line (Node's `TypeError [ERR_X]: …` style) lets the orchestrator recover it.
    if (typeof this.stack === 'string') {
      this.stack = this.stack.replace(/^[^\n]*/, formatFailure({ code, message }));
    }
  }

  override toString(): string {
    return formatFailure(this);
  }
}

/** Structural check (name/code), so errors from another copy of this module or a worker still count. */
export function isKluisErrorLike(x: unknown): x is Pick<KluisError, 'name' | 'code' | 'message'> &
  Partial<Pick<KluisError, 'status' | 'recommendation' | 'target' | 'details'>> {
  if (typeof x !== 'object' || x === null) return false;
  const candidate = x as { name?: unknown; code?: unknown; message?: unknown };
  return candidate.name === 'KluisError' && isKluisErrorCode(candidate.code) && typeof candidate.message === 'string';
}

// ---- factories: one per code --------------------------------------------------------------------

const TIB = 1024 ** 4;

export const errors = {
  unsupportedDiskSize(sizeInBytes: number, reason: string): KluisError {
    return new KluisError(
      'UserErrorUnsupportedDiskSize',
      `The disk size ${sizeInBytes} bytes is not supported: ${reason}.`,
      { target: 'disk.size' },
    );
  },
  vmNotFound(vmName: string): KluisError {
    return new KluisError('UserErrorVmNotFoundV2', `The virtual machine '${vmName}' was not found.`, { target: 'vm' });
  },
  backupOperationFailed(message = 'The backup operation failed because of an internal error.', cause?: unknown): KluisError {
    return new KluisError('BackUpOperationFailed', message, { cause });
  },
  invalidRequest(target: string, message: string, details?: readonly KluisErrorDetail[]): KluisError {
    return new KluisError('KluisInvalidRequest', message, { target, details });
  },
  sourceDiskNotFound(container: string, blob: string): KluisError {
    return new KluisError(
      'KluisSourceDiskNotFound',
      `The source disk '${container}/${blob}' was not found.`,
      { target: 'source' },
    );
  },
  sourceDiskNotPageBlob(container: string, blob: string, blobType: string): KluisError {
    return new KluisError(
      'KluisSourceDiskNotPageBlob',
      `The source disk '${container}/${blob}' is a ${blobType}, not a page blob.`,
      { target: 'source' },
    );
  },
  invalidVhdFooter(reason: string): KluisError {
    return new KluisError('KluisInvalidVhdFooter', `The VHD footer is invalid: ${reason}.`, { target: 'disk.footer' });
  },
  unsupportedVhdType(diskType: number): KluisError {
    const name = diskType === 3 ? 'dynamic' : diskType === 4 ? 'differencing' : `type ${diskType}`;
    return new KluisError('KluisUnsupportedVhdType', `The VHD is ${name}; only fixed VHDs (type 2) are supported.`, {
      target: 'disk.footer.diskType',
    });
  },
  blobNotFound(container: string, blob: string): KluisError {
    return new KluisError('KluisBlobNotFound', `The blob '${container}/${blob}' was not found.`, { target: 'blob' });
  },
  invalidBlobName(name: string, reason: string): KluisError {
    return new KluisError('KluisInvalidBlobName', `The blob name '${truncate(name)}' is invalid: ${reason}.`, {
      target: 'blobName',
    });
  },
  invalidContainerName(name: string, target = 'container'): KluisError {
    return new KluisError(
      'KluisInvalidContainerName',
      `The container name '${truncate(name)}' is invalid.`,
      { target },
    );
  },
  invalidIdentifier(target: string, value: string): KluisError {
    return new KluisError('KluisInvalidIdentifier', `The ${target} '${truncate(value)}' is invalid.`, { target });
  },
  invalidPageRange(message: string): KluisError {
    return new KluisError('KluisInvalidPageRange', message);
  },
  transferIntegrityFailed(message: string): KluisError {
    return new KluisError('KluisTransferIntegrityFailed', message);
  },
  /** The setting's value is never echoed: it may hold an account key. */
  invalidConfiguration(setting: string, reason: string): KluisError {
    return new KluisError('KluisInvalidConfiguration', `The application setting '${setting}' is invalid: ${reason}.`, {
      target: setting,
    });
  },
  invalidBlockSums(reason: string): KluisError {
    return new KluisError('KluisInvalidBlockSums', `The block checksums are invalid: ${reason}.`, { target: 'checksums' });
  },
  invalidManifest(reason: string): KluisError {
    return new KluisError('KluisInvalidManifest', `The recovery point manifest is invalid: ${reason}.`, { target: 'manifest' });
  },
  transferPlanInvalid(reason: string): KluisError {
    return new KluisError('KluisTransferPlanInvalid', `The transfer plan is invalid: ${reason}.`);
  },
  stagingCopyFailed(reason: string, cause?: unknown): KluisError {
    return new KluisError('KluisStagingCopyFailed', `Copying the snapshot to the staging blob failed: ${reason}.`, { cause });
  },
  catalogConflict(what: string): KluisError {
    return new KluisError('KluisCatalogConflict', `${what} was changed by another operation.`, { target: 'etag' });
  },
  instantRpNotFound(itemId: string, recoveryPointId: string, reason: string): KluisError {
    return new KluisError(
      'UserErrorInstantRpNotFound',
      `The snapshot tier of recovery point '${truncate(recoveryPointId)}' of item '${truncate(itemId)}' is not available: ${reason}.`,
      { target: 'recoveryPointId' },
    );
  },
  recoveryPointNotFound(itemId: string, recoveryPointId: string): KluisError {
    return new KluisError(
      'KluisRecoveryPointNotFound',
      `Recovery point '${truncate(recoveryPointId)}' of item '${truncate(itemId)}' does not exist.`,
      { target: 'recoveryPointId' },
    );
  },
  recoveryPointDataNotFound(itemId: string, recoveryPointId: string, reason: string): KluisError {
    return new KluisError(
      'KluisRecoveryPointDataNotFound',
      `The data of recovery point '${truncate(recoveryPointId)}' of item '${truncate(itemId)}' is not available: ${reason}.`,
      { target: 'recoveryPointId' },
    );
  },
  restoreVerificationFailed(lun: number, tier: string, detail: string): KluisError {
    return new KluisError(
      'KluisRestoreVerificationFailed',
      `Restore of disk lun ${lun} from the ${tier} tier failed verification: ${detail}. The partial target was deleted.`,
      { target: `disks[lun=${lun}]` },
    );
  },
  restoreTargetExists(container: string, blobs: readonly string[]): KluisError {
    const shown = blobs.slice(0, 5).map((b) => `'${truncate(b)}'`).join(', ');
    const more = blobs.length > 5 ? ` and ${blobs.length - 5} more` : '';
    return new KluisError(
      'KluisRestoreTargetExists',
      `The target container '${container}' already holds ${shown}${more}; nothing was written.`,
      { target: 'target' },
    );
  },
  vaultTierDeletionBlocked(itemId: string, recoveryPointId: string): KluisError {
    return new KluisError(
      'KluisVaultTierDeletionBlocked',
      `The vault tier of recovery point '${truncate(recoveryPointId)}' of item '${truncate(itemId)}' cannot be deleted while its snapshot tier exists.`,
      { target: 'recoveryPointId' },
    );
  },
  backupInstanceNotFound(instanceId: string): KluisError {
    return new KluisError('KluisBackupInstanceNotFound', `No backup job with id '${truncate(instanceId)}' exists.`, {
      target: 'instanceId',
    });
  },
} as const;

export const DISK_SIZE_LIMIT_IN_BYTES = 32 * TIB;

function truncate(value: string, max = 200): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}

// ---- ARM error envelope ---------------------------------------------------------------------------

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    target?: string;
    details?: KluisErrorDetail[];
    recommendation?: string;
  };
}

/**
 * The ARM envelope `{error:{code,message,target?,details?}}` plus our `recommendation`.
 * Anything that is not a KluisError becomes BackUpOperationFailed with a generic message, so
 * internal texts (which may contain URLs or keys) never reach a response.
 */
export function toErrorBody(err: unknown): ErrorBody {
  const failure = describeFailure(err);
  const body: ErrorBody['error'] = { code: failure.code, message: failure.message };
  if (isKluisErrorLike(err)) {
    if (err.target !== undefined) body.target = err.target;
    if (err.details !== undefined && err.details.length > 0) body.details = [...err.details];
  }
  body.recommendation = ERROR_CODES[failure.code].recommendation;
  return { error: body };
}

/** The HTTP status for an error: the code's status for Kluis errors, 500 otherwise. */
export function statusOf(err: unknown): number {
  return isKluisErrorLike(err) ? ERROR_CODES[err.code].status : 500;
}

export interface FailureDescription {
  code: KluisErrorCode;
  message: string;
}

const CODE_IN_TEXT = new RegExp(`KluisError \\[(${KLUIS_ERROR_CODES.join('|')})\\]: ([^\\n]*)`);

/**
 * Code and message of a failure, also after it crossed the Durable activity boundary (where it
 * arrives as a plain Error or TaskFailedError whose message/stack carry `KluisError [Code]: text`).
 */
export function describeFailure(err: unknown): FailureDescription {
  if (isKluisErrorLike(err)) return { code: err.code, message: err.message };
  for (const text of failureTexts(err)) {
    const match = CODE_IN_TEXT.exec(text);
    if (match) return { code: match[1] as KluisErrorCode, message: match[2].trim() };
  }
  const properties = (err as { failureDetails?: { properties?: Record<string, unknown> } } | undefined)?.failureDetails
    ?.properties;
  if (properties && isKluisErrorCode(properties.code) && typeof properties.message === 'string') {
    return { code: properties.code, message: properties.message };
  }
  return { code: 'BackUpOperationFailed', message: 'The backup operation failed because of an internal error.' };
}

/** `KluisError [Code]: message`, the one-line form describeFailure() reads back. */
export function formatFailure(failure: FailureDescription): string {
  return `KluisError [${failure.code}]: ${failure.message}`;
}

function failureTexts(err: unknown): string[] {
  if (typeof err === 'string') return [err];
  if (typeof err !== 'object' || err === null) return [];
  const e = err as { message?: unknown; stack?: unknown; failureDetails?: { errorMessage?: unknown; stackTrace?: unknown } };
  return [e.message, e.stack, e.failureDetails?.errorMessage, e.failureDetails?.stackTrace].filter(
    (t): t is string => typeof t === 'string',
  );
}
