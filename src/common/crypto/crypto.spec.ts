import { constantTimeEqual, sha256Hex } from './hashing';
import { isHex32, randomHex, randomPassphraseHex } from './random';

describe('common/crypto', () => {
  it('hashes with SHA-256 (FIPS 180-2 "abc" vector)', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(Buffer.from('abc'))).toBe(sha256Hex('abc'));
  });

  it.each([
    ['equal', [1, 2, 3], [1, 2, 3], true],
    ['different byte', [1, 2, 3], [1, 2, 4], false],
    ['different length', [1, 2, 3], [1, 2], false],
  ])('compares byte strings: %s', (_case, a, b, expected) => {
    expect(constantTimeEqual(Uint8Array.from(a), Uint8Array.from(b))).toBe(expected);
  });

  it('makes random lowercase hex of the asked length, and passphrases of 64 bytes by default', () => {
    expect(randomHex(32)).toMatch(/^[0-9a-f]{64}$/);
    expect(randomHex(32)).not.toBe(randomHex(32));
    expect(randomPassphraseHex()).toMatch(/^[0-9a-f]{128}$/);
  });

  it.each([
    ['a nonce', 'ab'.repeat(32), true],
    ['uppercase', 'AB'.repeat(32), false],
    ['63 characters', 'a'.repeat(63), false],
    ['65 characters', 'a'.repeat(65), false],
    ['not hex', 'g'.repeat(64), false],
    ['not a string', 42, false],
  ])('isHex32: %s', (_case, value, expected) => {
    expect(isHex32(value)).toBe(expected);
  });
});
