/**
 * Errors the fabric's Microsoft.Compute endpoint answers with, in ARM's envelope
 * `{error:{code,message,target?}}` and with Compute's codes (ResourceNotFound, OperationNotAllowed,
 * InvalidParameter, DiskRestorePointUsedByCustomer …), built by one factory. These are the emulated
 * service's errors, not Kluis's: the product sees them as the Azure SDK's RestError, as it would in Azure.
 */

export class ComputeError extends Error {
  override readonly name = 'ComputeError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly target?: string,
    readonly headers: Record<string, string> = {},
    /** A failure Azure reports on the accepted operation (its status says Failed), not on the request. */
    readonly failsOperation = false,
  ) {
    super(message);
  }

  toBody(): { error: { code: string; message: string; target?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.target === undefined ? {} : { target: this.target }) } };
  }
}

const NOT_FOUND_HELP = 'For more details please go to https://aka.ms/ARMResourceNotFoundFix';

export const computeErrors = {
  authenticationMissing(): ComputeError {
    return new ComputeError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", undefined, {
      'www-authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="The authentication failed because of missing \'Authorization\' header."',
    });
  },
  authenticationInvalid(): ComputeError {
    return new ComputeError(401, 'InvalidAuthenticationToken', "The access token is invalid: the 'Authorization' header must be 'Bearer <token>'.", undefined, {
      'www-authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="The access token is invalid."',
    });
  },
  missingApiVersion(): ComputeError {
    return new ComputeError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
  },
  invalidResourceType(method: string, path: string): ComputeError {
    return new ComputeError(404, 'InvalidResourceType', `The local fabric's Microsoft.Compute endpoint serves no operation ${method} ${path}.`);
  },
  methodNotAllowed(method: string, path: string): ComputeError {
    return new ComputeError(405, 'MethodNotAllowed', `The method ${method} is not supported on ${path}.`);
  },
  resourceNotFound(type: string, name: string, resourceGroup: string): ComputeError {
    return new ComputeError(404, 'ResourceNotFound', `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. ${NOT_FOUND_HELP}`);
  },
  parentResourceNotFound(type: string, name: string): ComputeError {
    return new ComputeError(404, 'ParentResourceNotFound', `Can not perform requested operation on nested resource. Parent resource '${name}' (${type}) not found.`);
  },
  operationNotFound(id: string): ComputeError {
    return new ComputeError(404, 'NotFound', `The operation '${id}' was not found.`);
  },
  lockNotFound(name: string): ComputeError {
    return new ComputeError(404, 'LockNotFound', `The lock '${name}' could not be found.`);
  },
  /** ARM's answer to a DELETE under a CanNotDelete lock. */
  scopeLocked(scope: string, lockedScope: string): ComputeError {
    return new ComputeError(409, 'ScopeLocked', `The scope '${scope}' cannot perform delete operation because following scope(s) are locked: '${lockedScope}'. Please remove the lock and try again.`);
  },
  invalidRequestContent(reason: string): ComputeError {
    return new ComputeError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: ${reason}`);
  },
  invalidParameter(target: string, message: string): ComputeError {
    return new ComputeError(400, 'InvalidParameter', message, target);
  },
  locationRequired(): ComputeError {
    return new ComputeError(400, 'LocationRequired', 'The location property is required for this definition.', 'location');
  },
  operationNotAllowed(message: string, target?: string): ComputeError {
    return new ComputeError(409, 'OperationNotAllowed', message, target);
  },
  propertyChangeNotAllowed(property: string): ComputeError {
    return new ComputeError(409, 'PropertyChangeNotAllowed', `Changing property '${property}' is not allowed.`, property);
  },
  diskRestorePointUsedByCustomer(): ComputeError {
    return new ComputeError(
      409,
      'DiskRestorePointUsedByCustomer',
      'There is an active shared access signature outstanding for disk restore point. Call EndGetAccess before deleting the restore point.',
    );
  },
  conflict(message: string): ComputeError {
    return new ComputeError(409, 'Conflict', message);
  },
  copySourceNotFound(source: string): ComputeError {
    return new ComputeError(404, 'NotFound', `The source resource '${source}' of the copy was not found.`, 'creationData.sourceResourceId');
  },
  /** The source's data went missing after the request was accepted: the operation fails. */
  copySourceDataGone(source: string): ComputeError {
    return new ComputeError(404, 'CopySourceNotFound', `The data of the copy source '${source}' is gone; the disk was not created.`, undefined, {}, true);
  },
  internal(): ComputeError {
    return new ComputeError(500, 'InternalExecutionError', 'An internal execution error occurred. Please retry later.');
  },
};

/** Whatever was thrown, as a ComputeError (unknown failures become 500 without their text). */
export function asComputeError(err: unknown): ComputeError {
  return err instanceof ComputeError ? err : computeErrors.internal();
}
