import { challengeHeaders, quoted } from '../../functions/http/authentication';
import { KluisError } from '../../lib/domain/errors';

describe('the WWW-Authenticate challenge of a refused token', () => {
  it('is a valid header value whatever the message holds (typographic quotes, other non-ASCII, line breaks, quotes)', () => {
    const err = new KluisError('InvalidAuthenticationToken', 'The server’s key is “unknown”: naïve\r\nsecond line "quoted" \\ end');
    const headers = challengeHeaders(err);
    expect(headers).toBeDefined();
    expect(() => new Headers(headers)).not.toThrow();
    expect(headers?.['WWW-Authenticate']).toContain(`error_description="The server's key is 'unknown': na?ve second line \\"quoted\\" \\\\ end"`);
  });

  it('quotes plain ASCII unchanged', () => {
    expect(quoted('a b')).toBe('"a b"');
  });

  it('is only sent with a 401', () => {
    expect(challengeHeaders(new KluisError('AuthorizationFailed', 'no'))).toBeUndefined();
  });
});
