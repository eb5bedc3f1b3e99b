import { contentTypeOf, dashboardContentSecurityPolicy, dashboardRequestOf } from '../../lib/domain/dashboard-assets';

describe('what a request under /dashboard/ asks for', () => {
  it('serves pages of the single-page app for the root and every path without a file extension', () => {
    for (const path of [undefined, '', 'vaults/new', 'vaults/sub/rg/v1/items/IaasVMContainer;iaasvmcontainerv2;rg;web.01/VM;iaasvmcontainerv2;rg;web.01', 'signed-in', '../package.json']) {
      expect(dashboardRequestOf(path)).toEqual({ kind: 'page' });
    }
  });

  it('serves hashed assets for good, the favicon and the sign-in settings', () => {
    expect(dashboardRequestOf('assets/app-MU5CF4C4.js')).toEqual({ kind: 'asset', file: 'assets/app-MU5CF4C4.js', immutable: true });
    expect(dashboardRequestOf('assets/app-MU5CF4C4.js.map')).toEqual({ kind: 'asset', file: 'assets/app-MU5CF4C4.js.map', immutable: false });
    expect(dashboardRequestOf('favicon.svg')).toEqual({ kind: 'asset', file: 'favicon.svg', immutable: false });
    expect(dashboardRequestOf('config.json')).toEqual({ kind: 'config' });
  });

  it('never leaves the build folder', () => {
    for (const path of ['assets/../../secrets.json', 'assets/..', 'assets/.hidden.js', 'assets/a%2F..%2Fb.js', 'assets/a\\b.js', 'assets', 'assets/x/y.js']) {
      expect(dashboardRequestOf(path)).toEqual({ kind: 'notFound' });
    }
  });

  it('names content types', () => {
    expect(contentTypeOf('index.html')).toBe('text/html; charset=utf-8');
    expect(contentTypeOf('assets/app-X.js')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeOf('favicon.svg')).toBe('image/svg+xml');
    expect(contentTypeOf('assets/app.js.LEGAL.txt')).toBe('application/octet-stream');
  });

  it('lets the pages reach only the app and the sign-in authority, and frames only Entra for MSAL', () => {
    const local = dashboardContentSecurityPolicy({ kind: 'local', clientId: 'c', authority: 'http://127.0.0.1:7072/organizations', scopes: [] });
    expect(local).toContain("script-src 'self'");
    expect(local).toContain("connect-src 'self' http://127.0.0.1:7072");
    expect(local).toContain("frame-src 'none'");
    expect(local).toContain("frame-ancestors 'none'");
    const entra = dashboardContentSecurityPolicy({ kind: 'entra', clientId: 'c', authority: 'https://login.microsoftonline.com/tenant', scopes: [] });
    expect(entra).toContain('connect-src \'self\' https://login.microsoftonline.com');
    expect(entra).toContain('frame-src https://login.microsoftonline.com');
    expect(dashboardContentSecurityPolicy({ kind: 'none' })).toContain("connect-src 'self';");
  });
});
