/**
 * verifyQeIdentity (Intel-signed TD_QE identity) and matchQeIdentity: the quoting enclave that
 * signed this quote is Intel's TD QE (MRSIGNER, ISVPRODID, masked MISCSELECT and ATTRIBUTES), and
 * its ISVSVN selects the QE TCB level whose status joins the platform's.
 */
import { DomainError, ErrorCode } from '../../../common/errors';
import { byteAt, bytesEqual, toHex } from '../quote/encoding';
import type { EnclaveReport } from '../quote/quote.types';
import { TrustAnchor, VerifiedChain } from './cert-chain';
import { parseQeIdentityJson } from './collateral-json';
import { QeIdentity, TcbStatus } from './collateral.types';
import { verifySignedDocument } from './signed-document';
import { requireLevelStatuses } from './tcb-info';
import { checkWindow } from './validity';

/** SGX ATTRIBUTES.DEBUG: a debug enclave's secrets — here, the attestation key — are host-readable. */
const SGX_ATTRIBUTES_DEBUG = 0x02;

export interface VerifiedQeIdentity {
  qeIdentity: QeIdentity;
  signingChain: VerifiedChain;
}

export function verifyQeIdentity(input: { text: string; signatureHex: string; issuerChainPem: string }, anchor: TrustAnchor): VerifiedQeIdentity {
  const signingChain = verifySignedDocument(input, anchor, 'qe_identity');
  const qeIdentity = parseQeIdentityJson(input.text);
  requireLevelStatuses(
    qeIdentity.tcbLevels.map((level) => level.tcbStatus),
    'qe_identity',
  );
  return { qeIdentity, signingChain };
}

export function checkQeIdentityValidity(qeIdentity: QeIdentity, nowMs: number, graceMs: number): void {
  checkWindow('qe_identity', qeIdentity.issueDate, qeIdentity.nextUpdate, nowMs, graceMs);
}

export interface QeTcbResult {
  status: TcbStatus;
  advisoryIds: string[];
}

export function matchQeIdentity(report: EnclaveReport, identity: QeIdentity): QeTcbResult {
  if (!bytesEqual(report.mrSigner, identity.mrSigner)) {
    throw mismatch('MRSIGNER', { actual: toHex(report.mrSigner), expected: toHex(identity.mrSigner) });
  }
  if (report.isvProdId !== identity.isvProdId) {
    throw mismatch('ISVPRODID', { actual: report.isvProdId, expected: identity.isvProdId });
  }
  if ((report.miscSelect & identity.miscSelectMask) >>> 0 !== (identity.miscSelect & identity.miscSelectMask) >>> 0) {
    throw mismatch('MISCSELECT', { actual: report.miscSelect, expected: identity.miscSelect });
  }
  for (let i = 0; i < identity.attributes.length; i++) {
    const mask = byteAt(identity.attributesMask, i);
    if ((byteAt(report.attributes, i) & mask) !== (byteAt(identity.attributes, i) & mask)) {
      throw mismatch('ATTRIBUTES', { byte: i });
    }
  }
  // Intel's mask already covers DEBUG; checked on its own so a permissive mask cannot let it through.
  if (byteAt(report.attributes, 0) & SGX_ATTRIBUTES_DEBUG) throw mismatch('ATTRIBUTES.DEBUG', {});
  return matchQeTcbLevel(report.isvSvn, identity);
}

/** Levels are ordered newest first; the first one the QE's ISVSVN reaches applies. */
function matchQeTcbLevel(isvSvn: number, identity: QeIdentity): QeTcbResult {
  const level = identity.tcbLevels.find((candidate) => isvSvn >= candidate.isvSvn);
  if (!level) {
    throw new DomainError(ErrorCode.TCB_LEVEL_NOT_FOUND, `QE ISVSVN ${isvSvn} is below every QE identity TCB level`, {
      step: 'qe_identity',
      isvSvn,
    });
  }
  return { status: level.tcbStatus, advisoryIds: level.advisoryIds };
}

function mismatch(field: string, detail: Record<string, unknown>): DomainError {
  return new DomainError(ErrorCode.QE_IDENTITY_MISMATCH, `QE report ${field} does not match the QE identity`, {
    step: 'qe_identity',
    field,
    ...detail,
  });
}
