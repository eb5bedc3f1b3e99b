/**
 * What the identity endpoint answers when it refuses, built by one factory: token requests get
 * OAuth 2.0's error response (RFC 6749 §5.2: `{error, error_description}`, as Entra ID and AD FS send
 * it, which MSAL and az surface), the admin API gets `{error:{code,message}}` as Microsoft Graph does.
 * Messages never contain a secret or a token.
 */

export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope' | 'invalid_resource';

export class IdentityError extends Error {
  override readonly name = 'IdentityError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** OAuth errors answer `{error, error_description}`; admin errors `{error:{code,message}}`. */
    readonly shape: 'oauth' | 'admin',
  ) {
    super(message);
  }

  toBody(): unknown {
    return this.shape === 'oauth' ? { error: this.code, error_description: this.message } : { error: { code: this.code, message: this.message } };
  }
}

const oauth = (status: number, code: OAuthErrorCode, message: string) => new IdentityError(status, code, message, 'oauth');
const admin = (status: number, code: string, message: string) => new IdentityError(status, code, message, 'admin');

export const identityErrors = {
  // Token requests
  missingParameter(name: string): IdentityError {
    return oauth(400, 'invalid_request', `The request body must contain the parameter '${name}'.`);
  },
  unsupportedGrantType(grantType: string): IdentityError {
    return oauth(400, 'unsupported_grant_type', `The grant type '${grantType.slice(0, 60)}' is not supported: this endpoint issues tokens for client credentials and authorization codes (browser sign-in with PKCE).`);
  },
  invalidClient(): IdentityError {
    return oauth(401, 'invalid_client', 'The client id is not a service principal of this tenant, or the client secret does not match it.');
  },
  invalidScope(scope: string): IdentityError {
    return oauth(400, 'invalid_scope', `The scope '${scope.slice(0, 200)}' is not valid: ask for '<resource>/.default', e.g. 'https://management.core.windows.net//.default'.`);
  },
  invalidResource(resource: string): IdentityError {
    return oauth(400, 'invalid_resource', `The resource '${resource.slice(0, 200)}' is not an http(s) URL or an application id URI.`);
  },
  missingMsiSecret(header: string): IdentityError {
    return oauth(401, 'unauthorized_client', `The '${header}' header is missing or does not match the MSI secret of this endpoint.`);
  },
  missingMetadataHeader(): IdentityError {
    return oauth(400, 'invalid_request', "Required metadata header not specified: send 'Metadata: true'.");
  },
  unsupportedApiVersion(version: string): IdentityError {
    return oauth(400, 'invalid_request', `The api-version '${version.slice(0, 40)}' is not supported: use 2017-09-01 (header 'secret') or 2019-08-01 (header 'X-IDENTITY-HEADER').`);
  },
  unknownManagedIdentity(): IdentityError {
    return oauth(400, 'invalid_request', 'No managed identity of this endpoint has the given client id, object id or resource id.');
  },
  interactiveSignInNotSupported(): IdentityError {
    return oauth(400, 'unsupported_grant_type', 'This local endpoint has no device code flow: users sign in in a browser (authorization code with PKCE), service principals with client credentials, managed identities through the MSI endpoint.');
  },
  invalidAuthorizeRequest(reason: string): IdentityError {
    return oauth(400, 'invalid_request', `The sign-in request is not valid: ${reason}.`);
  },
  invalidGrant(reason: string): IdentityError {
    return oauth(400, 'invalid_grant', reason);
  },
  unknownUser(): IdentityError {
    return oauth(400, 'invalid_request', 'The account picked is not a user of this directory.');
  },
  // Admin API
  invalidPrincipal(field: string, reason: string): IdentityError {
    return admin(400, 'Request_BadRequest', `Invalid value for '${field}': ${reason}.`);
  },
  principalExists(field: string, value: string): IdentityError {
    return admin(409, 'Request_MultipleObjectsWithSameKeyValue', `Another principal already has ${field} '${value.slice(0, 200)}'.`);
  },
  principalNotFound(id: string): IdentityError {
    return admin(404, 'Request_ResourceNotFound', `Resource '${id.slice(0, 100)}' does not exist or one of its queried reference-property objects are not present.`);
  },
  defaultPrincipal(objectId: string): IdentityError {
    return admin(400, 'Request_BadRequest', `The principal '${objectId}' is one of the endpoint's defaults and cannot be deleted.`);
  },
  routeNotFound(method: string, path: string): IdentityError {
    return admin(404, 'NotFound', `The identity endpoint serves no operation ${method} ${path.slice(0, 200)}.`);
  },
  invalidBody(reason: string): IdentityError {
    return admin(400, 'Request_BadRequest', `The request body is not valid: ${reason}.`);
  },
};

/** Whatever was thrown, as an IdentityError (unknown failures become 500 without their text). */
export function asIdentityError(err: unknown): IdentityError {
  if (err instanceof IdentityError) return err;
  return new IdentityError(500, 'server_error', 'The identity endpoint failed to answer the request.', 'oauth');
}
