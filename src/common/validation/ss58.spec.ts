import { encodeAddress } from '@polkadot/util-crypto';
import { canonicalSs58, isSs58Address } from './ss58';

const publicKey = Buffer.alloc(32, 7);
const generic = encodeAddress(publicKey, 42);
const polkadot = encodeAddress(publicKey, 0);

describe('ss58 addresses (remembered answers)', () => {
  it('answers the same on every call: valid, canonical form with prefix 42', () => {
    for (let round = 0; round < 3; round++) {
      expect(isSs58Address(generic)).toBe(true);
      expect(isSs58Address(polkadot)).toBe(true);
      expect(canonicalSs58(polkadot)).toBe(generic);
      expect(canonicalSs58(generic)).toBe(generic);
    }
  });

  it('refuses a broken checksum every time, and canonicalSs58 still throws on it', () => {
    const broken = generic.slice(0, -1) + (generic.endsWith('a') ? 'b' : 'a');
    for (let round = 0; round < 3; round++) {
      expect(isSs58Address(broken)).toBe(false);
      expect(() => canonicalSs58(broken)).toThrow();
    }
    expect(isSs58Address('x'.repeat(48))).toBe(false);
    expect(isSs58Address(42)).toBe(false);
  });

  it('stays correct past its bound', () => {
    for (let i = 0; i < 10_050; i++) isSs58Address(encodeAddress(Buffer.alloc(32, i % 256).fill(i >> 8, 0, 1), 42));
    expect(canonicalSs58(polkadot)).toBe(generic);
    expect(isSs58Address(generic)).toBe(true);
  });
});
