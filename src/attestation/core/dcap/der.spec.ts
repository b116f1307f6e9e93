/**
 * The strict DER reader on hand-built vectors: every malformed input is a DerError with the code
 * of its defect and a message naming the element, never a TypeError.
 */
import {
  DerCursor,
  DerError,
  DerErrorCode,
  TAG_ENUMERATED,
  TAG_INTEGER,
  bitStringBytes,
  childrenOf,
  decodeBoolean,
  decodeOid,
  decodeSmallUnsigned,
  decodeTime,
  integerHex,
  parseDer,
  readNode,
} from './der';

const hex = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
const node = (text: string) => parseDer(hex(text));

/** The DerError code `run` throws, or 'ok'; any other error is rethrown (a crash, not a verdict). */
function derCodeOf(run: () => unknown): DerErrorCode | 'ok' {
  try {
    run();
    return 'ok';
  } catch (error) {
    if (error instanceof DerError) return error.code;
    throw error;
  }
}

function derErrorOf(run: () => unknown): DerError {
  try {
    run();
  } catch (error) {
    if (error instanceof DerError) return error;
    throw error;
  }
  throw new Error('expected a DerError');
}

describe('parseDer: one TLV, strictly encoded', () => {
  it.each<[string, string, DerErrorCode | 'ok']>([
    ['empty input', '', 'truncated'],
    ['a lone tag', '30', 'truncated'],
    ['an empty SEQUENCE', '3000', 'ok'],
    ['a SEQUENCE declaring more than present', '3003 0201', 'truncated'],
    ['a long-form (multi-byte) tag', '1f2a 01 00', 'unsupported_tag'],
    ['a constructed context long-form tag', 'bf81 00 00', 'unsupported_tag'],
    ['the indefinite length form', '3080 0000', 'unsupported_length'],
    ['a 4-byte length', '3084 00000001 00', 'unsupported_length'],
    ['a truncated long length', '3082 01', 'truncated'],
    ['a long form for a short length', '3081 05 0203010203', 'non_minimal'],
    ['a long length with a leading zero', '3082 0080' + '00'.repeat(128), 'non_minimal'],
    ['a minimal long length', '0481 80' + '00'.repeat(128), 'ok'],
    ['trailing bytes', '3000 00', 'trailing_bytes'],
    ['two values', '3000 3000', 'trailing_bytes'],
  ])('%s → %s', (_name, input, code) => {
    expect(derCodeOf(() => parseDer(hex(input)))).toBe(code);
  });

  it('names the element in the message', () => {
    const error = derErrorOf(() => parseDer(hex('3003 0201'), 'certificate'));
    expect(error.element).toBe('certificate');
    expect(error.message).toMatch(/^certificate: declares 3 bytes, 2 present/);
  });

  it('readNode reports where the next TLV starts, and refuses to start past the end', () => {
    expect(readNode(hex('0201 05 0500'), 0).end).toBe(3);
    expect(derCodeOf(() => readNode(hex('0201 05'), 3))).toBe('truncated');
  });
});

describe('childrenOf and DerCursor', () => {
  it('refuses to open a primitive value', () => {
    expect(derCodeOf(() => childrenOf(node('0201 05')))).toBe('wrong_tag');
  });

  it('names the child whose encoding is truncated', () => {
    const error = derErrorOf(() => childrenOf(node('3004 0201 05 02'), 'validity'));
    expect([error.code, error.element]).toEqual(['truncated', 'validity[1]']);
  });

  it('reads required, optional and remaining children in order', () => {
    const cursor = new DerCursor(node('300a 0101ff 0201 05 0500 0500'), 'seq');
    expect(cursor.optional(TAG_INTEGER)).toBeUndefined();
    expect(cursor.optional(0x01)?.value).toEqual(hex('ff'));
    expect(decodeSmallUnsigned(cursor.next(TAG_INTEGER, 'n'))).toBe(5);
    expect(cursor.rest()).toHaveLength(2);
    expect(cursor.done).toBe(true);
    expect(() => cursor.end()).not.toThrow();
  });

  it.each<[string, (cursor: DerCursor) => unknown, DerErrorCode, string]>([
    ['next on an empty SEQUENCE', (c) => c.next(TAG_INTEGER, 'serialNumber'), 'missing', 'tbs.serialNumber'],
    ['nextAny on an empty SEQUENCE', (c) => c.nextAny('notBefore'), 'missing', 'tbs.notBefore'],
  ])('%s → %s naming %s', (_name, read, code, element) => {
    const error = derErrorOf(() => read(new DerCursor(node('3000'), 'tbs')));
    expect([error.code, error.element]).toEqual([code, element]);
  });

  it('refuses a wrong tag, naming the element', () => {
    const error = derErrorOf(() => new DerCursor(node('3003 0401 00'), 'tbs').next(TAG_INTEGER, 'serialNumber'));
    expect([error.code, error.element]).toEqual(['wrong_tag', 'tbs.serialNumber']);
    expect(error.message).toContain('expected tag 0x02, found 0x04');
  });

  it('refuses elements left over', () => {
    const cursor = new DerCursor(node('3006 0201 01 0201 02'), 'algorithm');
    cursor.next(TAG_INTEGER, 'first');
    expect(derCodeOf(() => cursor.end())).toBe('unexpected_element');
  });
});

describe('primitive values', () => {
  it.each<[string, string, string]>([
    ['ecdsa-with-SHA256', '0608 2a8648ce3d040302', '1.2.840.10045.4.3.2'],
    ['a first arc of 2', '0603 883703', '2.999.3'],
    ['an empty OID', '0600', 'bad_value'],
    ['an OID ending inside an arc', '0602 2a86', 'truncated'],
    ['a non-minimal arc', '0603 2a8001', 'non_minimal'],
    ['an arc beyond 2^53', '060a 2a ffffffffffffffff7f', 'bad_value'],
    ['an INTEGER where an OID belongs', '0201 05', 'wrong_tag'],
  ])('decodeOid: %s → %s', (_name, input, expected) => {
    let result: string;
    try {
      result = decodeOid(node(input));
    } catch (error) {
      if (!(error instanceof DerError)) throw error;
      result = error.code;
    }
    expect(result).toBe(expected);
  });

  it.each<[string, string, number | DerErrorCode]>([
    ['zero', '0201 00', 0],
    ['128 with its sign byte', '0202 0080', 128],
    ['0xffffff, which needs 4 bytes', '0204 00ffffff', 'bad_value'],
    ['an empty integer', '0200', 'bad_value'],
    ['a negative integer', '0201 ff', 'bad_value'],
    ['a 4-byte integer', '0204 01000000', 'bad_value'],
    ['a non-minimal integer', '0202 0005', 'non_minimal'],
    ['an ENUMERATED where an INTEGER belongs', '0a01 01', 'wrong_tag'],
  ])('decodeSmallUnsigned: %s → %s', (_name, input, expected) => {
    let result: number | string;
    try {
      result = decodeSmallUnsigned(node(input));
    } catch (error) {
      if (!(error instanceof DerError)) throw error;
      result = error.code;
    }
    expect(result).toBe(expected);
  });

  it('decodeSmallUnsigned reads ENUMERATED when asked to', () => {
    expect(decodeSmallUnsigned(node('0a01 01'), TAG_ENUMERATED)).toBe(1);
    expect(derCodeOf(() => decodeSmallUnsigned(node('0201 01'), TAG_ENUMERATED))).toBe('wrong_tag');
  });

  it('integerHex keeps the exact contents and refuses an empty integer', () => {
    expect(integerHex(node('0203 00abcd'))).toBe('00abcd');
    expect(derCodeOf(() => integerHex(node('0200')))).toBe('bad_value');
    expect(derCodeOf(() => integerHex(node('0401 00')))).toBe('wrong_tag');
  });

  it.each<[string, string, boolean | DerErrorCode]>([
    ['TRUE', '0101 ff', true],
    ['FALSE', '0101 00', false],
    ['a non-DER TRUE', '0101 01', 'bad_value'],
    ['two bytes', '0102 ffff', 'bad_value'],
    ['no byte', '0100', 'bad_value'],
  ])('decodeBoolean: %s → %s', (_name, input, expected) => {
    let result: boolean | string;
    try {
      result = decodeBoolean(node(input));
    } catch (error) {
      if (!(error instanceof DerError)) throw error;
      result = error.code;
    }
    expect(result).toBe(expected);
  });

  it('bitStringBytes: payload after a zero unused-bits byte; refuses empty and unused bits', () => {
    expect(bitStringBytes(node('0303 00abcd'))).toEqual(hex('abcd'));
    expect(derCodeOf(() => bitStringBytes(node('0300')))).toBe('bad_value');
    expect(derCodeOf(() => bitStringBytes(node('0302 0180')))).toBe('bad_value');
    expect(derCodeOf(() => bitStringBytes(node('0401 00')))).toBe('wrong_tag');
  });
});

describe('decodeTime', () => {
  const utc = (text: string) => node(`170d${Buffer.from(text).toString('hex')}`);
  const generalized = (text: string) => node(`180f${Buffer.from(text).toString('hex')}`);

  it('reads UTCTime with the RFC 5280 century rule, and GeneralizedTime', () => {
    expect(decodeTime(utc('490101000000Z'))).toBe(Date.parse('2049-01-01T00:00:00Z'));
    expect(decodeTime(utc('500101000000Z'))).toBe(Date.parse('1950-01-01T00:00:00Z'));
    expect(decodeTime(generalized('20500101000000Z'))).toBe(Date.parse('2050-01-01T00:00:00Z'));
  });

  it('reads GeneralizedTime years below 100 as themselves, not 19xx', () => {
    expect(new Date(decodeTime(generalized('00050101000000Z'))).getUTCFullYear()).toBe(5);
  });

  it.each<[string, () => unknown, DerErrorCode]>([
    ['no node at all (an empty validity)', () => decodeTime(undefined, 'validity.notBefore'), 'missing'],
    ['an INTEGER', () => decodeTime(node('0201 05')), 'wrong_tag'],
    ['UTCTime without Z', () => decodeTime(node(`170c${Buffer.from('490101000000').toString('hex')}`)), 'bad_value'],
    ['UTCTime with fractional seconds', () => decodeTime(node(`1711${Buffer.from('490101000000.123Z').toString('hex')}`)), 'bad_value'],
    ['GeneralizedTime text in a UTCTime', () => decodeTime(node(`170f${Buffer.from('20490101000000Z').toString('hex')}`)), 'bad_value'],
    ['30 February', () => decodeTime(utc('490230000000Z')), 'bad_value'],
    ['hour 24', () => decodeTime(utc('490101240000Z')), 'bad_value'],
    ['second 60', () => decodeTime(utc('490101000060Z')), 'bad_value'],
    ['month 13', () => decodeTime(generalized('20491301000000Z')), 'bad_value'],
  ])('refuses %s → %s', (_name, run, code) => {
    expect(derCodeOf(run)).toBe(code);
  });

  it('names the element it was asked for', () => {
    expect(derErrorOf(() => decodeTime(undefined, 'tbsCertificate.validity.notAfter')).message).toBe('tbsCertificate.validity.notAfter: missing');
  });
});
