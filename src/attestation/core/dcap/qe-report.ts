/**
 * The quoting enclave's own report: signed by the PCK key (verifyQeReportSignature), and binding
 * the attestation key (verifyQeReportData) — together they make the attestation key Intel-certified.
 */
import { KeyObject, createHash, verify as cryptoVerify } from 'node:crypto';
import { DomainError, ErrorCode } from '../../../common/errors';
import type { QeReportCertificationData } from '../quote/quote.types';

export function verifyQeReportSignature(qe: QeReportCertificationData, pckLeafKey: KeyObject): void {
  if (!cryptoVerify('sha256', qe.qeReportBytes, { key: pckLeafKey, dsaEncoding: 'ieee-p1363' }, qe.qeReportSignature)) {
    throw new DomainError(ErrorCode.QE_REPORT_INVALID, 'QE report signature does not verify with the PCK certificate key', {
      step: 'qe_report_signature',
    });
  }
}

/** REPORTDATA[0..32) = SHA-256(attestation key || QE auth data) and REPORTDATA[32..64) = 0. */
export function verifyQeReportData(qe: QeReportCertificationData, attestationKey: Uint8Array): void {
  const expected = createHash('sha256').update(attestationKey).update(qe.qeAuthData).digest();
  const reportData = qe.qeReport.reportData;
  if (!expected.equals(reportData.subarray(0, 32))) {
    throw new DomainError(ErrorCode.QE_REPORT_INVALID, 'QE report data does not bind the attestation key', {
      step: 'qe_report_data',
    });
  }
  for (let i = 32; i < 64; i++) {
    if (reportData[i] !== 0) {
      throw new DomainError(ErrorCode.QE_REPORT_INVALID, 'QE report data upper half is not zero', { step: 'qe_report_data' });
    }
  }
}
