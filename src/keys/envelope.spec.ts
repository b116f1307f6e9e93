import { randomBytes } from 'node:crypto';
import { DomainError, ErrorCode } from '../common/errors';
import { httpStatusOf } from '../common/http/http-status-by-code';
import { CIPHERTEXT_OVERHEAD_BYTES, createKekRing, Kek, KekRing, openSecret, rewrapSecret, sealSecret, SealedSecret, WRAPPED_KEY_BYTES } from './envelope';

function kek(id: string): Kek {
  return { id, key: new Uint8Array(randomBytes(32)) };
}

const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Runs `attempt` and returns the DomainError it threw (fails the test if it did not throw one). */
function domainErrorOf(attempt: () => unknown): DomainError {
  try {
    attempt();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError, nothing was thrown');
}

const k1 = kek('k1');
const k2 = kek('k2');
const ring1: KekRing = createKekRing([k1], 'k1');
const AAD = 'volume|5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX|vm-1|storage';

describe('sealSecret / openSecret', () => {
  const plaintexts: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['one byte', new Uint8Array([7])],
    ['128-hex passphrase', utf8('ab'.repeat(64))],
    ['4 KiB binary', new Uint8Array(randomBytes(4096))],
  ];

  it.each(plaintexts)('round-trips %s with the documented sizes', (_case, plaintext) => {
    const sealed = sealSecret(plaintext, AAD, k1);
    expect(sealed.kekId).toBe('k1');
    expect(sealed.wrappedKey).toHaveLength(WRAPPED_KEY_BYTES);
    expect(sealed.ciphertext).toHaveLength(plaintext.length + CIPHERTEXT_OVERHEAD_BYTES);
    expect(Buffer.from(openSecret(sealed, AAD, ring1)).equals(Buffer.from(plaintext))).toBe(true);
  });

  it('uses a fresh data key and nonces for every seal of the same plaintext', () => {
    const a = sealSecret(utf8('same'), AAD, k1);
    const b = sealSecret(utf8('same'), AAD, k1);
    expect(Buffer.from(a.wrappedKey).equals(Buffer.from(b.wrappedKey))).toBe(false);
    expect(Buffer.from(a.ciphertext).equals(Buffer.from(b.ciphertext))).toBe(false);
  });

  it('refuses an empty AAD', () => {
    expect(() => sealSecret(utf8('x'), '', k1)).toThrow(/non-empty AAD/);
  });

  const sealed = sealSecret(utf8('passphrase-of-vm-1'), AAD, k1);
  const moved: [string, string][] = [
    ['another volume', 'volume|5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX|vm-1|tdx-cache'],
    ['another vm', 'volume|5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX|vm-2|storage'],
    ['another hotkey', 'volume|5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy|vm-1|storage'],
    ['a root passphrase row', 'root|1.0.0'],
    ['a prefix of the AAD', AAD.slice(0, -1)],
  ];
  it.each(moved)('does not open when copied to %s', (_case, otherAad) => {
    const error = domainErrorOf(() => openSecret(sealed, otherAad, ring1));
    expect([error.code, httpStatusOf(error.code)]).toEqual([ErrorCode.KEY_UNAVAILABLE, 500]);
    expect(error.detail).toMatchObject({ reason: 'wrapped_key_rejected', kekId: 'k1' });
  });

  it('does not open when the kek id is relabelled, even if that KEK is in the ring', () => {
    const both = createKekRing([k1, k2], 'k1');
    const relabelled: SealedSecret = { ...sealed, kekId: 'k2' };
    expect(domainErrorOf(() => openSecret(relabelled, AAD, both)).detail).toMatchObject({ reason: 'wrapped_key_rejected' });
  });

  it('fails with unknown_kek when the ring lacks the KEK', () => {
    const error = domainErrorOf(() => openSecret(sealed, AAD, createKekRing([k2], 'k2')));
    expect(error.code).toBe(ErrorCode.KEY_UNAVAILABLE);
    expect(error.detail).toMatchObject({ reason: 'unknown_kek', kekId: 'k1' });
  });

  const malformed: [string, Partial<SealedSecret>][] = [
    ['a short wrapped key', { wrappedKey: sealed.wrappedKey.subarray(0, WRAPPED_KEY_BYTES - 1) }],
    ['a long wrapped key', { wrappedKey: new Uint8Array([...sealed.wrappedKey, 0]) }],
    ['a ciphertext shorter than nonce + tag', { ciphertext: sealed.ciphertext.subarray(0, CIPHERTEXT_OVERHEAD_BYTES - 1) }],
  ];
  it.each(malformed)('fails with malformed for %s', (_case, change) => {
    expect(domainErrorOf(() => openSecret({ ...sealed, ...change }, AAD, ring1)).detail).toMatchObject({ reason: 'malformed' });
  });

  it('rejects a truncated ciphertext of valid length', () => {
    const truncated = { ...sealed, ciphertext: sealed.ciphertext.subarray(0, sealed.ciphertext.length - 1) };
    expect(domainErrorOf(() => openSecret(truncated, AAD, ring1)).detail).toMatchObject({ reason: 'ciphertext_rejected' });
  });

  it('never puts key material or plaintext in the error', () => {
    const error = domainErrorOf(() => openSecret(sealed, 'root|other', ring1));
    const shown = `${error.message} ${JSON.stringify(error.detail)}`;
    for (const secret of [k1.key, sealed.wrappedKey, sealed.ciphertext]) {
      expect(shown).not.toContain(Buffer.from(secret).toString('hex'));
      expect(shown).not.toContain(Buffer.from(secret).toString('base64'));
    }
    expect(shown).not.toContain('passphrase-of-vm-1');
  });
});

describe('tampering: every single flipped byte is detected', () => {
  const short = sealSecret(utf8('pw'), AAD, k1);
  const fields: ['wrappedKey' | 'ciphertext', string][] = [
    ['wrappedKey', 'wrapped_key_rejected'],
    ['ciphertext', 'ciphertext_rejected'],
  ];
  it.each(fields)('in %s', (field, reason) => {
    const failures: string[] = [];
    for (let position = 0; position < short[field].length; position++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bytes = Uint8Array.from(short[field]);
        bytes[position] ^= mask;
        try {
          openSecret({ ...short, [field]: bytes }, AAD, ring1);
          failures.push(`${field}[${position}] ^ 0x${mask.toString(16)} opened`);
        } catch (error) {
          const detail = (error as DomainError).detail;
          if (!(error instanceof DomainError) || detail?.reason !== reason) failures.push(`${field}[${position}] ^ 0x${mask.toString(16)}: ${String(error)}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('rewrapSecret and KEK retirement', () => {
  const secrets = Array.from({ length: 5 }, (_, i) => ({ aad: `volume|hk|vm-${i}|storage`, plaintext: utf8(`secret-${i}`) }));

  it('re-wraps only the data key, after which the old KEK can leave the ring', () => {
    const sealedUnderK1 = secrets.map(({ aad, plaintext }) => ({ aad, plaintext, sealed: sealSecret(plaintext, aad, k1) }));
    const rotating = createKekRing([k1, k2], 'k2');
    const rewrapped = sealedUnderK1.map((item) => ({ ...item, sealed: rewrapSecret(item.sealed, item.aad, rotating, k2) }));

    for (const [before, after] of sealedUnderK1.map((item, i) => [item, rewrapped[i]] as const)) {
      expect(after.sealed.kekId).toBe('k2');
      expect(after.sealed.ciphertext).toBe(before.sealed.ciphertext);
      expect(Buffer.from(after.sealed.wrappedKey).equals(Buffer.from(before.sealed.wrappedKey))).toBe(false);
    }
    const k2Only = createKekRing([k2], 'k2');
    for (const { aad, plaintext, sealed } of rewrapped) expect([aad, text(openSecret(sealed, aad, k2Only))]).toEqual([aad, text(plaintext)]);
    expect(domainErrorOf(() => openSecret(sealedUnderK1[0].sealed, secrets[0].aad, k2Only)).detail).toMatchObject({ reason: 'unknown_kek' });
  });

  it('refuses to re-wrap a damaged or moved secret, so it is noticed before the old KEK is retired', () => {
    const sealed = sealSecret(utf8('x'), 'root|1', k1);
    const damaged = { ...sealed, ciphertext: Uint8Array.from(sealed.ciphertext, (b, i) => (i === 30 ? b ^ 1 : b)) };
    const rotating = createKekRing([k1, k2], 'k2');
    expect(domainErrorOf(() => rewrapSecret(damaged, 'root|1', rotating, k2)).detail).toMatchObject({ reason: 'ciphertext_rejected' });
    expect(domainErrorOf(() => rewrapSecret(sealed, 'root|2', rotating, k2)).detail).toMatchObject({ reason: 'wrapped_key_rejected' });
  });
});

describe('createKekRing', () => {
  const misuse: [string, () => unknown, RegExp][] = [
    ['active not in ring', () => createKekRing([k1], 'k2'), /active KEK k2 is not in the ring/],
    ['duplicate id', () => createKekRing([k1, k1], 'k1'), /appears twice/],
    ['short key', () => createKekRing([{ id: 'a', key: new Uint8Array(16) }], 'a'), /not 32 bytes/],
    ['bad id', () => createKekRing([{ id: 'a|b', key: new Uint8Array(32) }], 'a|b'), /invalid KEK id/],
  ];
  it.each(misuse)('rejects %s', (_case, attempt, expected) => {
    expect(attempt).toThrow(expected);
  });
});
