/**
 * Certificate chains to the pinned Intel root: the PCK chain inside the quote and the issuer
 * chains that come with the collateral. Verification here is time-independent (signatures, names,
 * CA flags, path lengths) so its result can be cached; the validity windows it returns are checked
 * against `now` on every call by checkChainValidity.
 */
import { KeyObject } from 'node:crypto';
import { DomainError, ErrorCode } from '../../../common/errors';
import { bytesEqual } from '../quote/encoding';
import { Certificate, X509Error, canSignCertificates, isSignedBy, namesEqual, p256KeyFromSpki, parseCertificate } from './x509';

/** Intel chains are leaf → (platform|processor CA) → root; anything much longer is not Intel's. */
const MAX_CHAIN_LENGTH = 4;

export interface TrustAnchor {
  certificate: Certificate;
  key: KeyObject;
}

export interface VerifiedChain {
  /** Leaf first, root excluded (the anchor is held separately). */
  certificates: Certificate[];
  leaf: Certificate;
  leafKey: KeyObject;
  /** Intersection of every certificate's validity, root included: [notBefore, notAfter] epoch ms. */
  notBefore: number;
  notAfter: number;
}

export function loadTrustAnchor(rootDer: Uint8Array): TrustAnchor {
  try {
    const certificate = parseCertificate(rootDer);
    if (!canSignCertificates(certificate) || !namesEqual(certificate.issuer, certificate.subject)) {
      throw new X509Error('root is not a self-issued CA certificate');
    }
    return { certificate, key: p256KeyFromSpki(certificate.subjectPublicKeyInfo) };
  } catch (error) {
    if (error instanceof X509Error) throw new DomainError(ErrorCode.PCK_CHAIN_INVALID, `root CA: ${error.message}`);
    throw error;
  }
}

export interface ChainOptions {
  /** Names the chain in messages: "pck chain", "tcb_info_issuer_chain", ... */
  label: string;
  /** The error code a bad chain maps to for this step. */
  code: ErrorCode;
  /** End-entity chains (PCK, TCB signing) must not end in a CA; CRL issuer chains do. */
  leafMustNotBeCa: boolean;
}

/**
 * Verifies leaf → … → pinned root. A copy of the root at the end of the chain is accepted only if it
 * is byte-identical to the pinned one; otherwise the last certificate must be signed by the root.
 */
export function verifyCertChain(certificatesDer: Uint8Array[], anchor: TrustAnchor, options: ChainOptions): VerifiedChain {
  const fail = (message: string, detail?: Record<string, unknown>) =>
    new DomainError(options.code, `${options.label}: ${message}`, { step: options.label, ...detail });
  let ders = certificatesDer;
  const last = ders.at(-1);
  if (last && bytesEqual(last, anchor.certificate.der)) ders = ders.slice(0, -1);
  if (ders.length === 0) throw fail('no certificate below the root');
  if (ders.length > MAX_CHAIN_LENGTH) throw fail(`${ders.length} certificates, at most ${MAX_CHAIN_LENGTH}`);

  const certificates = ders.map((der, i) => {
    try {
      return parseCertificate(der);
    } catch (error) {
      if (error instanceof X509Error) throw fail(`certificate ${i}: ${error.message}`, { index: i });
      throw error;
    }
  });
  const [leaf] = certificates;
  if (!leaf) throw fail('no certificate below the root');
  if (options.leafMustNotBeCa && leaf.isCa) throw fail('leaf certificate is a CA');

  let notBefore = anchor.certificate.notBefore;
  let notAfter = anchor.certificate.notAfter;
  for (const [i, cert] of certificates.entries()) {
    const next = certificates[i + 1];
    const issuer = next ?? anchor.certificate;
    const issuerKey = next ? keyOf(next, i + 1, fail) : anchor.key;
    if (!namesEqual(cert.issuer, issuer.subject)) throw fail(`certificate ${i} issuer does not match the next certificate`, { index: i });
    if (!canSignCertificates(issuer)) throw fail(`certificate ${i + 1} may not issue certificates`, { index: i + 1 });
    // CAs between this certificate's issuer and the leaf: RFC 5280 pathLenConstraint counts them.
    const casBelowIssuer = i;
    if (issuer.pathLength !== undefined && casBelowIssuer > issuer.pathLength) {
      throw fail(`certificate ${i + 1} path length constraint exceeded`, { index: i + 1 });
    }
    if (!isSignedBy(cert.signed, issuerKey)) throw fail(`certificate ${i} signature does not verify`, { index: i });
    notBefore = Math.max(notBefore, cert.notBefore);
    notAfter = Math.min(notAfter, cert.notAfter);
  }
  return { certificates, leaf, leafKey: keyOf(leaf, 0, fail), notBefore, notAfter };
}

/** Re-checked on every verification: validity is the one part of a chain that depends on `now`. */
export function checkChainValidity(chain: VerifiedChain, nowMs: number, label: string, code: ErrorCode): void {
  if (nowMs < chain.notBefore || nowMs > chain.notAfter) {
    throw new DomainError(code, `${label}: a certificate is outside its validity period`, {
      step: label,
      notBefore: new Date(chain.notBefore).toISOString(),
      notAfter: new Date(chain.notAfter).toISOString(),
    });
  }
}

function keyOf(cert: Certificate, index: number, fail: (m: string, d?: Record<string, unknown>) => DomainError): KeyObject {
  try {
    return p256KeyFromSpki(cert.subjectPublicKeyInfo);
  } catch (error) {
    if (error instanceof X509Error) throw fail(`certificate ${index}: ${error.message}`, { index });
    throw error;
  }
}
