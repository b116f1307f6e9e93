/**
 * The two CRLs of the collateral: the root CA CRL (signed by the pinned root; revokes the
 * intermediate CAs and the TCB signing certificate) and the PCK CRL (signed by the PCK platform or
 * processor CA, whose own chain comes in pck_crl_issuer_chain; revokes PCK certificates).
 */
import { DomainError, ErrorCode } from '../../../common/errors';
import { fromHexStrict } from '../quote/encoding';
import { splitChainPem } from './pem-chain';
import { TrustAnchor, VerifiedChain, checkChainValidity, verifyCertChain } from './cert-chain';
import { Certificate, Crl, X509Error, canSignCrls, isSignedBy, namesEqual, parseCrl } from './x509';
import { checkWindow } from './validity';

export interface VerifiedCrls {
  rootCaCrl: Crl;
  pckCrl: Crl;
  pckCrlIssuerChain: VerifiedChain;
}

export function verifyCrls(input: { rootCaCrlHex: string; pckCrlHex: string; pckCrlIssuerChainPem: string }, anchor: TrustAnchor): VerifiedCrls {
  const rootCaCrl = decodeCrl(input.rootCaCrlHex, 'root_ca_crl');
  requireIssuedBy(rootCaCrl, anchor.certificate, anchor.key, 'root_ca_crl');

  const pckCrlIssuerChain = verifyCertChain(splitChainPem(input.pckCrlIssuerChainPem, 'pck_crl_issuer_chain'), anchor, {
    label: 'pck_crl_issuer_chain',
    code: ErrorCode.COLLATERAL_INVALID,
    leafMustNotBeCa: false,
  });
  const pckCrl = decodeCrl(input.pckCrlHex, 'pck_crl');
  requireIssuedBy(pckCrl, pckCrlIssuerChain.leaf, pckCrlIssuerChain.leafKey, 'pck_crl');
  return { rootCaCrl, pckCrl, pckCrlIssuerChain };
}

/** thisUpdate <= now <= nextUpdate + grace for both CRLs, and the CRL issuer chain is in date. */
export function checkCrlValidity(crls: VerifiedCrls, nowMs: number, graceMs: number): void {
  checkWindow('root_ca_crl', crls.rootCaCrl.thisUpdate, crls.rootCaCrl.nextUpdate, nowMs, graceMs);
  checkWindow('pck_crl', crls.pckCrl.thisUpdate, crls.pckCrl.nextUpdate, nowMs, graceMs);
  checkChainValidity(crls.pckCrlIssuerChain, nowMs, 'pck_crl_issuer_chain', ErrorCode.COLLATERAL_EXPIRED);
}

/**
 * Every certificate of `chain` (and the root itself) against the CRL of its issuer. A certificate
 * whose issuer has no CRL in the collateral cannot be checked, which is refused rather than passed.
 */
export function checkRevocation(chain: VerifiedChain, anchor: TrustAnchor, crls: VerifiedCrls, label: string): void {
  for (const [index, cert] of [...chain.certificates, anchor.certificate].entries()) {
    const crl = crlFor(cert, crls);
    if (!crl) {
      throw new DomainError(ErrorCode.COLLATERAL_INVALID, `${label}: no CRL in the collateral covers certificate ${index}'s issuer`, {
        step: 'revocation',
        index,
      });
    }
    if (crl.revokedSerials.has(cert.serialHex)) {
      throw new DomainError(ErrorCode.CERT_REVOKED, `${label}: certificate ${index} is revoked`, {
        step: 'revocation',
        index,
        serial: cert.serialHex,
      });
    }
  }
}

function crlFor(cert: Certificate, crls: VerifiedCrls): Crl | undefined {
  if (namesEqual(cert.issuer, crls.pckCrl.issuer)) return crls.pckCrl;
  if (namesEqual(cert.issuer, crls.rootCaCrl.issuer)) return crls.rootCaCrl;
  return undefined;
}

function decodeCrl(hex: string, field: string): Crl {
  const der = fromHexStrict(hex);
  if (!der || der.length === 0) throw invalid(`${field} is not hex DER`, field);
  try {
    return parseCrl(der);
  } catch (error) {
    if (error instanceof X509Error) throw invalid(`${field}: ${error.message}`, field);
    throw error;
  }
}

function requireIssuedBy(crl: Crl, issuer: Certificate, issuerKey: TrustAnchor['key'], field: string): void {
  if (!namesEqual(crl.issuer, issuer.subject)) throw invalid(`${field} is not issued by its expected CA`, field);
  if (!canSignCrls(issuer)) throw invalid(`${field} issuer may not sign CRLs`, field);
  if (!isSignedBy(crl.signed, issuerKey)) throw invalid(`${field} signature does not verify`, field);
}

function invalid(message: string, field: string): DomainError {
  return new DomainError(ErrorCode.COLLATERAL_INVALID, `collateral ${message}`, { step: 'crl', field });
}
