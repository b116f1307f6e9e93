/**
 * Two checks of a VM attestation proxy's answer at registration (DESIGN.md "Registration evidence";
 * CHUTES-PROTOCOL §2.7 steps 3 and 5, §3):
 * - its TLS leaf must be issued by the VM root CA recorded at /provision (when one was): issuer
 *   name = CA subject, not self-signed, signature by the CA's key;
 * - the optional response proof `X-Chutes-Hotkey/Nonce/Signature` (sr25519 over `{ss58}:{ts}:tee`
 *   by the miner's key, ts within 600 s) proves the miner's hotkey. An unusable proof is no proof.
 */
import { X509Certificate } from 'node:crypto';
import { signatureVerify } from '@polkadot/util-crypto';
import { canonicalSs58, isSs58Address } from '../common/validation/ss58';

/** `not_recorded`: the VM's latest boot recorded no root CA (gen B, or no /provision yet): nothing to check. */
export type RootCaVerdict = 'ok' | 'not_recorded' | 'ca_unreadable' | 'self_signed' | 'issuer_mismatch' | 'signature_invalid';

export function checkLeafIssuedBy(leaf: X509Certificate, caPem: string | null): RootCaVerdict {
  if (caPem === null) return 'not_recorded';
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(caPem);
  } catch {
    return 'ca_unreadable';
  }
  // The CA itself (or any self-signed certificate) presented as the leaf is refused as the real API does.
  if (leaf.issuer === leaf.subject || leaf.checkIssued(leaf)) return 'self_signed';
  if (leaf.issuer !== ca.subject || !leaf.checkIssued(ca)) return 'issuer_mismatch';
  try {
    return leaf.verify(ca.publicKey) ? 'ok' : 'signature_invalid';
  } catch {
    return 'signature_invalid';
  }
}

/** The proof headers of a proxy's answer, as sent (unchecked). */
export interface ResponseProof {
  hotkey: string;
  nonce: string;
  signature: string;
}

/** The purpose word of the proxy's response proof (attestation-proxy `sign_response`). */
export const TEE_PURPOSE = 'tee';
/** How far the proof's timestamp may be from now, either way. */
export const RESPONSE_PROOF_MAX_SKEW_S = 600;

export type ResponseProofVerdict = 'absent' | 'ok' | 'malformed' | 'stale' | 'invalid_signature';

export interface ResponseProofResult {
  verdict: ResponseProofVerdict;
  /** The proven hotkey (canonical ss58), only with verdict `ok`. */
  hotkey?: string;
}

export function verifyResponseProof(proof: ResponseProof | null, nowSeconds: number): ResponseProofResult {
  if (!proof) return { verdict: 'absent' };
  const { hotkey, nonce, signature } = proof;
  const hex = signature.replace(/^0x/, '');
  if (!isSs58Address(hotkey) || !/^\d{1,12}$/.test(nonce) || !/^(?:[0-9a-fA-F]{2})+$/.test(hex)) return { verdict: 'malformed' };
  if (Math.abs(nowSeconds - Number(nonce)) > RESPONSE_PROOF_MAX_SKEW_S) return { verdict: 'stale' };
  try {
    const result = signatureVerify(`${hotkey}:${nonce}:${TEE_PURPOSE}`, Buffer.from(hex, 'hex'), hotkey);
    if (!result.isValid || result.crypto !== 'sr25519') return { verdict: 'invalid_signature' };
  } catch {
    return { verdict: 'invalid_signature' };
  }
  return { verdict: 'ok', hotkey: canonicalSs58(hotkey) };
}
