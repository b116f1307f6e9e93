/**
 * @deprecated These helpers moved down to src/common/crypto/ (hashing.ts, random.ts); import
 * them from there. This file only re-exports them for branches that still import it, and is
 * removed once they are merged.
 */
export { constantTimeEqual, sha256, sha256Hex } from '../common/crypto/hashing';
export { isHex32, randomHex, randomPassphraseHex } from '../common/crypto/random';
