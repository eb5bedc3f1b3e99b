/** The log grep of the e2e suites finds what it looks for (test/support/leak-check.ts). */
import { leaksIn } from '../support/leak-check';

describe('leaksIn', () => {
  it('names lines holding a JWT, an account key, a SAS signature, a client secret or a known secret', () => {
    const lines = [
      'GET /subscriptions/x 200',
      'authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiIxMjM0NTY3OCJ9.c2lnbmF0dXJl',
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq',
      'https://127.0.0.1:10000/devstoreaccount1/vhds/a.vhd?sv=2023-01-03&sr=b&sig=abcdefABCDEF0123456789%2B%3D',
      'grant_type=client_credentials&client_secret=s3cr3t-value-123',
      'the master key is 0123456789abcdef0123',
    ];
    expect(leaksIn(lines, ['0123456789abcdef0123']).map((line) => line.split(':')[0])).toEqual(['a JWT', 'an account key', 'a SAS signature', 'a client secret', 'a known secret']);
  });
});
