import { DomainError } from '../../common/errors';
import { decodeQuoteBase64 } from './quote.request';

describe('decodeQuoteBase64', () => {
  it('decodes strict base64, tolerating line breaks', () => {
    expect(decodeQuoteBase64('AAEC\nAw==').toString('hex')).toBe('00010203');
  });
  it.each([
    ['not base64', 'not base64!'],
    ['bad padding', 'AAE='.slice(0, 3)],
    ['url alphabet', 'AA-_'],
    ['empty after trim', '  '],
  ])('refuses %s as QUOTE_MALFORMED', (_n, text) => {
    expect(() => decodeQuoteBase64(text)).toThrow(DomainError);
    try {
      decodeQuoteBase64(text);
    } catch (error) {
      expect((error as DomainError).code).toBe('QUOTE_MALFORMED');
      expect((error as DomainError).message).not.toContain(text.trim() || '\u0000');
    }
  });
});
