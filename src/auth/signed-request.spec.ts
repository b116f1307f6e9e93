import { DomainError, ErrorCode } from '../common/errors';
import { isWithinWindow, parseSignatureHeaders, replayExpiry, signedMessage } from './signed-request';

const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const SIG = 'ab'.repeat(64);
const ok = { 'x-chutes-hotkey': ALICE, 'x-chutes-signature': SIG, 'x-chutes-nonce': '1700000000' };

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
}

describe('signedMessage', () => {
  const cases: [string, Uint8Array | undefined | null, string][] = [
    ['no body', undefined, `${ALICE}:1700000000:tee`],
    ['null body', null, `${ALICE}:1700000000:tee`],
    ['empty body', new Uint8Array(0), `${ALICE}:1700000000:tee`],
    ['"abc"', Buffer.from('abc'), `${ALICE}:1700000000:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad`],
    ['one space', Buffer.from(' '), `${ALICE}:1700000000:36a9e7f1c95b82ffb99743e0c5c4ce95d83c9a430aac59f84ef3cbfab6145068`],
  ];
  it.each(cases)('%s', (_name, body, expected) => {
    expect(signedMessage(ALICE, '1700000000', body)).toBe(expected);
  });
});

describe('parseSignatureHeaders', () => {
  it('reads valid headers, with or without 0x and in either case', () => {
    for (const signature of [SIG, `0x${SIG}`, SIG.toUpperCase(), `0x${SIG.toUpperCase()}`]) {
      const parsed = parseSignatureHeaders({ ...ok, 'x-chutes-signature': signature });
      expect([signature, Buffer.from(parsed.signature).toString('hex')]).toEqual([signature, SIG]);
      expect(parsed).toMatchObject({ hotkey: ALICE, nonce: '1700000000', nonceSeconds: 1700000000 });
    }
  });

  const refused: [string, Record<string, string | string[] | undefined>, ErrorCode][] = [
    ['no headers', {}, ErrorCode.SIGNATURE_MISSING],
    ['no hotkey', { ...ok, 'x-chutes-hotkey': undefined }, ErrorCode.SIGNATURE_MISSING],
    ['empty signature', { ...ok, 'x-chutes-signature': '' }, ErrorCode.SIGNATURE_MISSING],
    ['no nonce', { ...ok, 'x-chutes-nonce': undefined }, ErrorCode.SIGNATURE_MISSING],
    ['hotkey not ss58', { ...ok, 'x-chutes-hotkey': 'alice' }, ErrorCode.SIGNATURE_INVALID],
    ['hotkey bad checksum', { ...ok, 'x-chutes-hotkey': ALICE.slice(0, -1) + 'Z' }, ErrorCode.SIGNATURE_INVALID],
    ['hotkey sent twice', { ...ok, 'x-chutes-hotkey': [ALICE, ALICE] }, ErrorCode.SIGNATURE_INVALID],
    ['signature not hex', { ...ok, 'x-chutes-signature': 'zz'.repeat(64) }, ErrorCode.SIGNATURE_INVALID],
    ['signature 63 bytes', { ...ok, 'x-chutes-signature': 'ab'.repeat(63) }, ErrorCode.SIGNATURE_INVALID],
    ['signature 65 bytes', { ...ok, 'x-chutes-signature': 'ab'.repeat(65) }, ErrorCode.SIGNATURE_INVALID],
    ['signature odd length', { ...ok, 'x-chutes-signature': `${SIG}a` }, ErrorCode.SIGNATURE_INVALID],
    ['signature 0X prefix', { ...ok, 'x-chutes-signature': `0X${SIG}` }, ErrorCode.SIGNATURE_INVALID],
    ['signature with spaces', { ...ok, 'x-chutes-signature': ` ${SIG}` }, ErrorCode.SIGNATURE_INVALID],
    ['nonce fractional', { ...ok, 'x-chutes-nonce': '1700000000.5' }, ErrorCode.SIGNATURE_INVALID],
    ['nonce negative', { ...ok, 'x-chutes-nonce': '-1' }, ErrorCode.SIGNATURE_INVALID],
    ['nonce exponent', { ...ok, 'x-chutes-nonce': '1.7e9' }, ErrorCode.SIGNATURE_INVALID],
    ['nonce too long', { ...ok, 'x-chutes-nonce': '1'.repeat(13) }, ErrorCode.SIGNATURE_INVALID],
    ['nonce hex', { ...ok, 'x-chutes-nonce': '0x65' }, ErrorCode.SIGNATURE_INVALID],
  ];
  it.each(refused)('refuses %s', (_name, headers, code) => {
    expect(codeOf(() => parseSignatureHeaders(headers))).toBe(code);
  });

  it('names every missing header', () => {
    expect(() => parseSignatureHeaders({ 'x-chutes-hotkey': ALICE })).toThrow('missing header(s): x-chutes-signature, x-chutes-nonce');
  });
});

describe('isWithinWindow', () => {
  const now = new Date('2026-01-01T00:00:00.000Z');
  const t = now.getTime() / 1000;
  const cases: [string, number, Date, boolean][] = [
    ['same second', t, now, true],
    ['exactly window behind', t - 600, now, true],
    ['exactly window ahead', t + 600, now, true],
    ['one second too old', t - 601, now, false],
    ['one second too far ahead', t + 601, now, false],
    ['half a second past the window', t - 600, new Date(now.getTime() + 500), false],
    ['zero', 0, now, false],
  ];
  it.each(cases)('%s', (_name, nonce, at, expected) => {
    expect(isWithinWindow(nonce, at, 600)).toBe(expected);
  });

  it('expires replay rows exactly when the window closes', () => {
    expect(replayExpiry(t, 600).toISOString()).toBe('2026-01-01T00:10:00.000Z');
  });
});
