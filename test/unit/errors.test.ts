import {
  isRetryableCode,
  isServiceUnavailableError,
  describeFailure,
  ERROR_CODES,
  errors,
  formatFailure,
  isKluisErrorLike,
  KLUIS_ERROR_CODES,
  KluisError,
  statusOf,
  toErrorBody,
} from '../../lib/domain/errors';

describe('KluisError', () => {
  it('carries code, status, recommendation and target from the catalogue', () => {
    const err = errors.sourceDiskNotFound('disks', 'vm1/os.vhd');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('KluisError');
    expect(err.code).toBe('KluisSourceDiskNotFound');
    expect(err.status).toBe(404);
    expect(err.recommendation).toBe(ERROR_CODES.KluisSourceDiskNotFound.recommendation);
    expect(err.target).toBe('source');
    expect(err.message).toBe("The source disk 'disks/vm1/os.vhd' was not found.");
  });

  it("puts the code in the stack's first line and in toString, not in the message", () => {
    const err = errors.unsupportedDiskSize(1000, 'it is not a multiple of 512 bytes');
    expect(err.stack?.split('\n')[0]).toBe(`KluisError [UserErrorUnsupportedDiskSize]: ${err.message}`);
    expect(String(err)).toBe(`KluisError [UserErrorUnsupportedDiskSize]: ${err.message}`);
    expect(err.message).not.toContain('UserErrorUnsupportedDiskSize');
  });

  it('uses Azure Backup names where Azure has them, ours otherwise', () => {
    expect(KLUIS_ERROR_CODES).toEqual(
      expect.arrayContaining(['UserErrorUnsupportedDiskSize', 'BackUpOperationFailed', 'UserErrorVmNotFoundV2']),
    );
    for (const code of KLUIS_ERROR_CODES) {
      // Azure Backup's names, ARM's own (ResourceNotFound, InvalidSubscriptionId, the sign-in and RBAC codes …), or ours.
      expect(code).toMatch(
        /^(UserError|BackUp|GuestAgent|ExtensionFailed|ExtensionOperationFailedForManagedDisks$|Kluis[A-Z]|ResourceNotFound$|InvalidSubscriptionId$|InvalidResourceLocation$|ServiceResourceNotEmpty$|InvalidResourceType$|NotFound$|MethodNotAllowed$|GatewayTimeout$|AuthenticationFailed$|SubscriptionNotFound$|ReadOnlyDisabledSubscription$|ResourceGroupNotFound$|InvalidResourceGroupLocation$|ResourceGroupDeletionBlocked$|InvalidResourceNamespace$|UnsupportedMediaType$|(Linked)?AuthorizationFailed$|RoleAssignment(Exists|UpdateNotPermitted|NotFound)$|RoleDefinition(DoesNotExist|NotFound)$|InvalidRoleAssignmentId$|BMSUserError|(Invalid|Expired)AuthenticationToken)[A-Za-z0-9]*$/,
      );
      expect(ERROR_CODES[code].recommendation.length).toBeGreaterThan(20);
      expect(ERROR_CODES[code].status).toBeGreaterThanOrEqual(400);
    }
  });
});

describe('isKluisErrorLike', () => {
  it('checks name and code, not the prototype', () => {
    expect(isKluisErrorLike(errors.vmNotFound('vm1'))).toBe(true);
    expect(isKluisErrorLike({ name: 'KluisError', code: 'KluisBlobNotFound', message: 'gone' })).toBe(true);
    expect(isKluisErrorLike({ name: 'KluisError', code: 'NoSuchCode', message: 'x' })).toBe(false);
    expect(isKluisErrorLike({ name: 'RestError', code: 'BlobNotFound', message: 'x' })).toBe(false);
    expect(isKluisErrorLike(new Error('plain'))).toBe(false);
    expect(isKluisErrorLike(null)).toBe(false);
  });
});

describe('toErrorBody', () => {
  it('gives the ARM envelope with target, details and recommendation', () => {
    const err = errors.invalidRequest('container', 'The container is required.', [
      { code: 'KluisInvalidRequest', message: 'missing', target: 'container' },
    ]);
    expect(toErrorBody(err)).toEqual({
      error: {
        code: 'KluisInvalidRequest',
        message: 'The container is required.',
        target: 'container',
        details: [{ code: 'KluisInvalidRequest', message: 'missing', target: 'container' }],
        recommendation: ERROR_CODES.KluisInvalidRequest.recommendation,
      },
    });
    expect(statusOf(err)).toBe(400);
  });

  it('hides the text of errors that are not ours', () => {
    const body = toErrorBody(new Error('connect ECONNREFUSED https://acct.blob.core.windows.net/?sig=secret'));
    expect(body.error.code).toBe('BackUpOperationFailed');
    expect(JSON.stringify(body)).not.toContain('secret');
    expect(statusOf(new Error('x'))).toBe(500);
  });
});

describe('describeFailure', () => {
  it('reads a KluisError directly', () => {
    expect(describeFailure(errors.blobNotFound('c', 'b'))).toEqual({
      code: 'KluisBlobNotFound',
      message: "The blob 'c/b' was not found.",
    });
  });

  it('recovers the code after the activity boundary (legacy reason/details text)', () => {
    const original = errors.sourceDiskNotFound('disks', 'x.vhd');
    const crossed = new Error(`Activity function 'discover' failed: ${original.message} \n ${original.stack}`);
    expect(describeFailure(crossed)).toEqual({ code: 'KluisSourceDiskNotFound', message: original.message });
  });

  it('recovers the code from structured failure details', () => {
    const original = errors.invalidVhdFooter('the cookie is not conectix');
    const taskFailed = Object.assign(new Error('KluisError: x'), {
      failureDetails: { errorType: 'KluisError', errorMessage: original.message, stackTrace: original.stack },
    });
    expect(describeFailure(taskFailed).code).toBe('KluisInvalidVhdFooter');
    const withProperties = Object.assign(new Error('KluisError: x'), {
      failureDetails: { errorType: 'KluisError', errorMessage: 'x', properties: { code: 'KluisBlobNotFound', message: 'gone' } },
    });
    expect(describeFailure(withProperties)).toEqual({ code: 'KluisBlobNotFound', message: 'gone' });
  });

  it('reads the one-line form it writes', () => {
    const text = formatFailure({ code: 'UserErrorUnsupportedDiskSize', message: 'too big' });
    expect(describeFailure(`Orchestrator function 'backup' failed: ${text}`)).toEqual({
      code: 'UserErrorUnsupportedDiskSize',
      message: 'too big',
    });
  });

  it('falls back to BackUpOperationFailed with a generic message', () => {
    expect(describeFailure(new Error('socket hang up'))).toEqual({
      code: 'BackUpOperationFailed',
      message: 'The backup operation failed because of an internal error.',
    });
    expect(describeFailure(undefined).code).toBe('BackUpOperationFailed');
  });

  it('ignores a code-like text that is not a known code', () => {
    expect(describeFailure('KluisError [NotACode]: x').code).toBe('BackUpOperationFailed');
  });

  it('round-trips every code', () => {
    for (const code of KLUIS_ERROR_CODES) {
      const err = new KluisError(code, `message for ${code}`);
      expect(describeFailure(new Error(`wrapped: ${err.stack}`))).toEqual({ code, message: `message for ${code}` });
    }
  });
});

describe('a service that was unavailable', () => {
  const restError = (fields: { statusCode?: number; code?: string }) => Object.assign(new Error('Service Unavailable https://acct.blob.core.windows.net/c/b?sig=secret'), { name: 'RestError', ...fields });

  it.each([
    ['503 ServerBusy', { statusCode: 503, code: 'ServerBusy' }],
    ['500 InternalError', { statusCode: 500, code: 'InternalError' }],
    ['408', { statusCode: 408 }],
    ['a reset connection', { code: 'ECONNRESET' }],
    ['a refused connection', { code: 'ECONNREFUSED' }],
    ['a try that timed out', { code: 'ETIMEDOUT' }],
    ['an answer cut off in its body', { code: 'PARSE_ERROR' }],
  ])('is KluisStorageUnavailable, 503 and retryable, for %s, without the SDK text', (_name, fields) => {
    const err = restError(fields);
    expect(isServiceUnavailableError(err)).toBe(true);
    expect(describeFailure(err).code).toBe('KluisStorageUnavailable');
    expect(statusOf(err)).toBe(503);
    expect(isRetryableCode(describeFailure(err).code)).toBe(true);
    const body = toErrorBody(err);
    expect(body.error.code).toBe('KluisStorageUnavailable');
    expect(JSON.stringify(body)).not.toMatch(/sig=|core\.windows\.net/);
  });

  it('is not a 404, a 409 or a 412, nor an error without a network code', () => {
    for (const statusCode of [400, 404, 409, 412]) expect(isServiceUnavailableError(restError({ statusCode }))).toBe(false);
    expect(isServiceUnavailableError(new Error('x'))).toBe(false);
    expect(isServiceUnavailableError(errors.storageUnavailable())).toBe(false);
    expect(describeFailure(restError({ statusCode: 404 })).code).toBe('BackUpOperationFailed');
  });

  it('crosses the activity boundary by its text', () => {
    const err = errors.storageUnavailable(restError({ statusCode: 503 }));
    expect(err.message).toBe('The storage service is unavailable: it answered HTTP 503, also after retries.');
    expect(describeFailure(new Error(`Activity failed: ${err.stack}`)).code).toBe('KluisStorageUnavailable');
    expect(isRetryableCode('BackUpOperationFailed')).toBe(false);
  });
});
