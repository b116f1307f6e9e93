/**
 * The gen-C VM's proof of its miner's hotkey (CHUTES-PROTOCOL §1.2 step 5, §2.0): on the boot,
 * /provision and confirm calls the VM signs `{hotkey}:{X-Chutes-Nonce}:{sha256hex(body)}` with the
 * miner's sr25519 seed. These calls are single-use by their own nonce (the boot nonce, the quote
 * nonce, the confirm nonce), so no signature replay cache is involved — but unlike the Chutes API
 * the signed X-Chutes-Nonce must be that very nonce, so a signature cannot be moved to another
 * call (CHUTES-PROTOCOL §7.2 item 4).
 */
import { signatureVerify } from '@polkadot/util-crypto';
import { DomainError, ErrorCode } from '../common/errors';
import { canonicalSs58, isSs58Address } from '../common/validation/ss58';
import { HeaderBag, HOTKEY_HEADER, NONCE_HEADER, SIGNATURE_HEADER, SIGNATURE_HEX, signedMessage, single } from './signed-request';

/** What a proof said: `absent` (not offered), or the proven hotkey (canonical ss58). */
export type PossessionProof = { proven: false } | { proven: true; hotkey: string };

/**
 * Reads and checks the proof. Not offered (no X-Chutes-Hotkey or no X-Chutes-Signature) → not
 * proven. Offered but malformed, signed over another nonce, or not verifying → SIGNATURE_INVALID.
 */
export function readPossessionProof(headers: HeaderBag, rawBody: Uint8Array | undefined, endpointNonce: string): PossessionProof {
  const hotkey = single(headers, HOTKEY_HEADER);
  const signatureHex = single(headers, SIGNATURE_HEADER);
  if (!hotkey || !signatureHex) return { proven: false };
  const nonce = single(headers, NONCE_HEADER)?.trim() ?? '';
  if (!isSs58Address(hotkey)) throw new DomainError(ErrorCode.SIGNATURE_INVALID, `${HOTKEY_HEADER} is not an ss58 address`);
  const signatureMatch = SIGNATURE_HEX.exec(signatureHex);
  if (!signatureMatch) throw new DomainError(ErrorCode.SIGNATURE_INVALID, `${SIGNATURE_HEADER} must be 64 bytes of hex`);
  const signature = Uint8Array.from(Buffer.from(signatureMatch[1], 'hex'));
  if (nonce === '' || nonce.toLowerCase() !== endpointNonce.toLowerCase())
    throw new DomainError(ErrorCode.SIGNATURE_INVALID, `the signature must be made over this call's own nonce`);
  const message = signedMessage(hotkey, nonce, rawBody);
  let valid = false;
  try {
    const result = signatureVerify(message, signature, hotkey);
    valid = result.isValid && result.crypto === 'sr25519';
  } catch {
    valid = false;
  }
  if (!valid) throw new DomainError(ErrorCode.SIGNATURE_INVALID, 'the miner signature does not verify');
  return { proven: true, hotkey: canonicalSs58(hotkey) };
}
