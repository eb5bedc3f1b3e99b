import { publicBaseUrl } from '../../lib/domain/public-base-url';

const REQUEST = 'http://127.0.0.1:7071/api/subscriptions/s?api-version=2023-06-01';

describe('publicBaseUrl', () => {
  it("is the request's own scheme and host by default", () => {
    expect(publicBaseUrl({ requestUrl: REQUEST })).toBe('http://127.0.0.1:7071');
    expect(publicBaseUrl({ requestUrl: 'https://localhost:7443/subscriptions' })).toBe('https://localhost:7443');
  });

  it('prefers the configured base URL, without a trailing slash', () => {
    expect(publicBaseUrl({ configured: 'https://backup.example.com/kluis/', requestUrl: REQUEST, forwardedHost: 'other.example', forwardedProto: 'http' })).toBe('https://backup.example.com/kluis');
  });

  it('takes the first X-Forwarded-Proto and X-Forwarded-Host values, dropping default ports', () => {
    expect(publicBaseUrl({ requestUrl: REQUEST, forwardedProto: 'https, http', forwardedHost: 'Backup.Example.com:443, 10.0.0.1' })).toBe('https://backup.example.com');
    expect(publicBaseUrl({ requestUrl: REQUEST, forwardedProto: 'HTTPS' })).toBe('https://127.0.0.1:7071');
    expect(publicBaseUrl({ requestUrl: REQUEST, forwardedHost: 'proxy.example:8080' })).toBe('http://proxy.example:8080');
    expect(publicBaseUrl({ requestUrl: REQUEST, forwardedHost: '[::1]:8443', forwardedProto: 'https' })).toBe('https://[::1]:8443');
  });

  it.each([
    ['a scheme other than http(s)', { forwardedProto: 'ftp' }],
    ['a host with a path', { forwardedHost: 'evil.example/path' }],
    ['a host with user info', { forwardedHost: 'user@evil.example' }],
    ['a port out of range', { forwardedHost: 'evil.example:70000' }],
    ['an empty first value', { forwardedHost: ' , evil.example', forwardedProto: ', https' }],
    ['a host with spaces', { forwardedHost: 'evil example' }],
  ])('ignores %s', (_case, headers) => {
    expect(publicBaseUrl({ requestUrl: REQUEST, ...headers })).toBe('http://127.0.0.1:7071');
  });
});
