import { requestOrigin, requestUrl } from '../../emulator/http-server';

describe('the URL the embedded host gives a request', () => {
  it("uses the Host header's host and port, with the server's scheme", () => {
    expect(requestOrigin('https://127.0.0.1:7443', 'localhost:7443')).toBe('https://localhost:7443');
    expect(requestOrigin('http://127.0.0.1:7071', '[::1]:7071')).toBe('http://[::1]:7071');
    expect(requestOrigin('https://127.0.0.1:443', 'backup.example.com')).toBe('https://backup.example.com');
  });

  it('falls back to the address the server listens on for a missing or odd Host header', () => {
    for (const host of [undefined, '', 'evil.example/path', 'user@evil.example', 'a b', 'x:99999']) {
      expect(requestOrigin('http://127.0.0.1:7071', host)).toBe('http://127.0.0.1:7071');
    }
  });

  it('keeps a target that starts with // as a path (az sends //metadata/endpoints), and absolute targets at this origin', () => {
    expect(requestUrl('https://127.0.0.1:7443', '//metadata/endpoints?api-version=2015-01-01').pathname).toBe('//metadata/endpoints');
    expect(requestUrl('https://127.0.0.1:7443', '//metadata/endpoints').host).toBe('127.0.0.1:7443');
    expect(requestUrl('http://127.0.0.1:7071', 'http://evil.example/api/x?y=1').href).toBe('http://127.0.0.1:7071/api/x?y=1');
    expect(requestUrl('http://127.0.0.1:7071', undefined).href).toBe('http://127.0.0.1:7071/');
  });
});
