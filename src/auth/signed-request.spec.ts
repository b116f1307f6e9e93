import { DomainError, ErrorCode } from '../common/errors';
import {
  canonicalPath,
  isWithinWindow,
  parseSignatureHeaders,
  replayExpiry,
  signedMessage,
  signedMessageV2,
  useTarget,
  v1Messages,
  v1Purpose,
} from './signed-request';

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

describe('signedMessage with a purpose', () => {
  it('uses the purpose only for an empty body', () => {
    expect(signedMessage(ALICE, '1700000000', undefined, 'miner')).toBe(`${ALICE}:1700000000:miner`);
    expect(signedMessage(ALICE, '1700000000', Buffer.from('abc'), 'miner')).toBe(
      `${ALICE}:1700000000:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad`,
    );
  });
});

describe('v1Purpose', () => {
  const cases: [string, string][] = [
    ['/servers/', 'tee'],
    ['/servers/abc?x=1', 'tee'],
    ['/miner/servers/', 'miner'],
    ['/miner', 'miner'],
    ['/miner?x=/servers', 'miner'],
    ['/%6Diner/servers', 'miner'],
    ['/miners/x', 'tee'],
    ['/admin/miners/x', 'tee'],
    ['/', 'tee'],
  ];
  it.each(cases)('%s → %s', (path, purpose) => {
    expect(v1Purpose(path)).toBe(purpose);
  });
});

describe('v1Messages', () => {
  const body = Buffer.from('{"quote":"AA=="}');
  const hashed = (bytes: Buffer) => signedMessage(ALICE, '1', bytes);
  const cases: [string, string, string, Buffer | undefined, string[]][] = [
    ['GET on /servers', 'GET', '/servers/', undefined, [`${ALICE}:1:tee`]],
    ['GET on /miner', 'GET', '/miner/servers/', undefined, [`${ALICE}:1:miner`]],
    ['POST with a body', 'POST', '/servers/', body, [hashed(body)]],
    ['runtime attestation: body hash or tee', 'POST', '/servers/srv-1/attestation', body, [hashed(body), `${ALICE}:1:tee`]],
    ['runtime attestation, trailing slash', 'post', '/servers/srv-1/attestation/', body, [hashed(body), `${ALICE}:1:tee`]],
    ['runtime attestation without a body', 'POST', '/servers/srv-1/attestation', undefined, [`${ALICE}:1:tee`]],
    ['attestation status is not attestation', 'POST', '/servers/srv-1/attestation/status', body, [hashed(body)]],
    ['GET attestation is not the POST', 'GET', '/servers/srv-1/attestation', body, [hashed(body)]],
    ['boot attestation is not runtime attestation', 'POST', '/servers/boot/attestation/x', body, [hashed(body)]],
  ];
  it.each(cases)('%s', (_name, method, path, bytes, expected) => {
    expect(v1Messages(ALICE, '1', method, path, bytes)).toEqual(expected);
  });
});

describe('signedMessageV2', () => {
  const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  const base = { hotkey: ALICE, nonce: '1700000000', method: 'DELETE', pathWithQuery: '/servers/vm-1?destroy_keys=true', audience: 'https://keys.example.com' };
  it('names signer, time, method, target, audience and the body hash', () => {
    expect(signedMessageV2(base)).toBe(`bootkey-v2:${ALICE}:1700000000:DELETE:/servers/vm-1?destroy_keys=true:https://keys.example.com:${EMPTY}`);
    expect(signedMessageV2({ ...base, method: 'post', rawBody: Buffer.from('abc') })).toBe(
      `bootkey-v2:${ALICE}:1700000000:POST:/servers/vm-1?destroy_keys=true:https://keys.example.com:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad`,
    );
    expect(signedMessageV2({ ...base, rawBody: new Uint8Array(0) })).toBe(signedMessageV2(base));
  });
  it('differs for every part it names, and never equals a v1 message', () => {
    const variants = [
      base,
      { ...base, method: 'GET' },
      { ...base, pathWithQuery: '/servers/vm-2?destroy_keys=true' },
      { ...base, pathWithQuery: '/servers/vm-1' },
      { ...base, pathWithQuery: '/servers/vm-1?destroy_keys=false' },
      { ...base, audience: '-' },
      { ...base, rawBody: Buffer.from('{}') },
      { ...base, nonce: '1700000001' },
    ];
    const messages = variants.map((parts) => signedMessageV2(parts));
    expect(new Set(messages).size).toBe(variants.length);
    expect(messages).not.toContain(signedMessage(ALICE, '1700000000'));
  });
});

describe('canonicalPath and useTarget', () => {
  const paths: [string, string][] = [
    ['/servers/abc', '/servers/abc'],
    ['/servers/abc/', '/servers/abc'],
    ['/servers/abc//', '/servers/abc'],
    ['/servers/%61bc', '/servers/abc'],
    ['/servers/%zz', '/servers/%zz'],
    ['/', '/'],
    ['', '/'],
  ];
  it.each(paths)('canonicalPath(%s) = %s', (path, expected) => {
    expect(canonicalPath(path)).toBe(expected);
  });

  it('keys a use by method, canonical path and the query as sent', () => {
    expect(useTarget('patch', '/servers/a/?server_name=x')).toBe('PATCH /servers/a?server_name=x');
    expect(useTarget('PATCH', '/servers/%61?server_name=x')).toBe(useTarget('PATCH', '/servers/a?server_name=x'));
    expect(useTarget('PATCH', '/servers/a?server_name=y')).not.toBe(useTarget('PATCH', '/servers/a?server_name=x'));
    expect(useTarget('DELETE', '/servers/a')).not.toBe(useTarget('GET', '/servers/a'));
    expect(useTarget('GET', '/servers/a?')).toBe('GET /servers/a');
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

  it('reads the message format: v1 without the version header or with 1, v2 with 2', () => {
    expect(parseSignatureHeaders(ok).version).toBe(1);
    expect(parseSignatureHeaders({ ...ok, 'x-bootkey-signature-version': '1' }).version).toBe(1);
    expect(parseSignatureHeaders({ ...ok, 'x-bootkey-signature-version': '2' }).version).toBe(2);
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
    ['unknown version', { ...ok, 'x-bootkey-signature-version': '3' }, ErrorCode.SIGNATURE_INVALID],
    ['empty version', { ...ok, 'x-bootkey-signature-version': '' }, ErrorCode.SIGNATURE_INVALID],
    ['version sent twice', { ...ok, 'x-bootkey-signature-version': ['2', '2'] }, ErrorCode.SIGNATURE_INVALID],
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
