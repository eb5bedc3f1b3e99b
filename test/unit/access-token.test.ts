import { armUtcTime, audiencesOf, bearerTokenOf, callerOf, checkAudience, checkIssuer, ARM_AUDIENCES } from '../../lib/domain/access-token';
import type { KluisError } from '../../lib/domain/errors';

const OID = '00000000-0000-0000-0000-0000000000a1';
const TID = '00000000-0000-0000-0000-00000000c0de';

function thrown(fn: () => unknown): KluisError {
  try {
    fn();
  } catch (err) {
    return err as KluisError;
  }
  throw new Error('expected a throw');
}

describe('bearerTokenOf', () => {
  it("reads 'Bearer <token>' in any case", () => {
    expect(bearerTokenOf('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerTokenOf('bearer abc.def-_.g~+/h= ')).toBe('abc.def-_.g~+/h=');
  });

  it("answers ARM's AuthenticationFailed for a missing or malformed header", () => {
    expect(thrown(() => bearerTokenOf(null))).toMatchObject({ code: 'AuthenticationFailed', status: 401, message: "Authentication failed. The 'Authorization' header is missing." });
    expect(thrown(() => bearerTokenOf('  '))).toMatchObject({ code: 'AuthenticationFailed', message: expect.stringContaining('missing') });
    for (const header of ['Basic dXNlcjpwdw==', 'Bearer', 'Bearer a b', 'Bearer a"b']) {
      expect(thrown(() => bearerTokenOf(header))).toMatchObject({ code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is provided in an invalid format." });
    }
  });
});

describe('checkAudience', () => {
  it("accepts ARM's resource ids with or without the trailing slash, as a string or in an array", () => {
    for (const aud of ['https://management.core.windows.net/', 'https://management.core.windows.net', 'https://management.azure.com', ['other', 'https://management.azure.com/']]) {
      expect(() => checkAudience({ aud }, ARM_AUDIENCES)).not.toThrow();
    }
    expect(audiencesOf({ aud: ['a', 3, 'b'] })).toEqual(['a', 'b']);
  });

  it('refuses another resource, naming it and the allowed audiences as ARM does', () => {
    const err = thrown(() => checkAudience({ aud: 'https://vault.azure.net' }, ARM_AUDIENCES));
    expect(err).toMatchObject({ code: 'InvalidAuthenticationTokenAudience', status: 401 });
    expect(err.message).toBe(
      "The access token has been obtained for wrong audience or resource 'https://vault.azure.net'. It should exactly match with one of the allowed audiences " +
        "'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.",
    );
    expect(thrown(() => checkAudience({}, ARM_AUDIENCES)).message).toContain("resource '(none)'");
  });
});

describe('checkIssuer', () => {
  it('accepts only the configured issuers, exactly', () => {
    expect(() => checkIssuer({ iss: `https://sts.windows.net/${TID}/` }, [`https://sts.windows.net/${TID}/`], 'https://login.windows.net/')).not.toThrow();
    const err = thrown(() => checkIssuer({ iss: `https://sts.windows.net/${TID}` }, [`https://sts.windows.net/${TID}/`], 'https://login.windows.net/'));
    expect(err).toMatchObject({ code: 'InvalidAuthenticationTokenTenant', status: 401 });
    expect(err.message).toContain(`wrong issuer 'https://sts.windows.net/${TID}'`);
    expect(err.message).toContain("authority (URL) 'https://login.windows.net/'");
  });
});

describe('callerOf', () => {
  it('names an application (service principal, managed identity) by object id, tenant and app id', () => {
    expect(callerOf({ oid: OID.toUpperCase(), tid: TID, appid: 'app-1', idtyp: 'app' })).toEqual({ objectId: OID, tenantId: TID, applicationId: 'app-1', principalType: 'ServicePrincipal' });
    expect(callerOf({ oid: OID, tid: TID, azp: 'app-2' })).toMatchObject({ applicationId: 'app-2', principalType: 'ServicePrincipal' });
  });

  it('names a user by name, upn or unique_name', () => {
    expect(callerOf({ oid: OID, tid: TID, idtyp: 'user', upn: 'user@kluis.local', name: 'Local user', scp: 'user_impersonation' })).toMatchObject({ name: 'Local user', principalType: 'User' });
    expect(callerOf({ oid: OID, tid: TID, unique_name: 'user@kluis.local' })).toMatchObject({ name: 'user@kluis.local', principalType: 'User' });
  });

  it('refuses a token without an object id or tenant', () => {
    expect(thrown(() => callerOf({ tid: TID }))).toMatchObject({ code: 'InvalidAuthenticationToken', message: expect.stringContaining("'oid'") });
    expect(thrown(() => callerOf({ oid: OID, tid: 'contoso' }))).toMatchObject({ code: 'InvalidAuthenticationToken', message: expect.stringContaining("'tid'") });
  });
});

describe('armUtcTime', () => {
  it("writes times as ARM's token messages do", () => {
    expect(armUtcTime(new Date('2017-08-17T22:54:41Z'))).toBe('8/17/2017 10:54:41 PM');
    expect(armUtcTime(new Date('2026-01-05T00:03:09Z'))).toBe('1/5/2026 12:03:09 AM');
    expect(armUtcTime(new Date('2026-01-05T12:00:00Z'))).toBe('1/5/2026 12:00:00 PM');
  });
});
