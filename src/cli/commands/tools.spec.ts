import { KEK_ID_PATTERN, KEY_BYTES } from '../../keys/envelope';
import { parseKekList } from '../../keys/kek-ring';
import { defaultKekId, KEK_BYTES, KEK_ID, kekLine, quoteFileToBase64 } from './tools';

describe('keygen', () => {
  it('uses the KEK id rule and key size of the broker', () => {
    expect(KEK_ID.source).toBe(KEK_ID_PATTERN.source);
    expect(KEK_BYTES).toBe(KEY_BYTES);
  });

  it('prints a line BROKER_KEKS accepts, different every time', () => {
    const line = kekLine('kek-2026.03_a');
    const [kek] = parseKekList(line, 'BROKER_KEKS');
    expect(kek.id).toBe('kek-2026.03_a');
    expect(kek.key).toHaveLength(32);
    expect(kekLine('a')).not.toBe(kekLine('a'));
  });

  it('defaults the id to kek-YYYYMMDD', () => {
    expect(defaultKekId(new Date('2026-03-01T12:00:00Z'))).toBe('kek-20260301');
  });
});

describe('quoteFileToBase64', () => {
  const raw = Buffer.from([0x04, 0x00, 0x02, 0x00, 0x81, 0x00, 0x00, 0x00, 0xff]);
  it('encodes raw quote bytes, and passes base64 text through without its whitespace', () => {
    expect(quoteFileToBase64(raw)).toBe(raw.toString('base64'));
    const text = raw.toString('base64');
    expect(quoteFileToBase64(Buffer.from(`${text.slice(0, 4)}\n${text.slice(4)}\n`))).toBe(text);
  });
});
