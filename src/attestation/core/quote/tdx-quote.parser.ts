/**
 * parseTdxQuote: bytes → TdxQuote for Intel TDX quotes v4 and v5 (TD report 1.0 and 1.5).
 * Structure only — no signature is checked here (that is dcap/). Dispatches on
 * (version, TEE type, attestation key type, body type, certification data types) and rejects any
 * combination it does not know with QUOTE_UNSUPPORTED; short or inconsistent lengths are
 * QUOTE_MALFORMED naming the field. Bytes after the declared signature data are counted, not refused.
 */
import { DomainError, ErrorCode } from '../../../common/errors';
import { BinaryReader } from './binary-reader';
import {
  ATTRIBUTES_8_BYTES,
  ATT_KEY_TYPE_ECDSA_P256,
  BODY_TYPE_TD_REPORT_10,
  BODY_TYPE_TD_REPORT_15,
  CERT_DATA_TYPE_PCK_CHAIN,
  CERT_DATA_TYPE_QE_REPORT,
  CPU_SVN_BYTES,
  ECDSA_P256_PUBLIC_KEY_BYTES,
  ECDSA_P256_SIGNATURE_BYTES,
  ENCLAVE_REPORT_BYTES,
  MEASUREMENT_BYTES,
  QE_VENDOR_ID_BYTES,
  QUOTE_MAX_BYTES,
  QUOTE_VERSION_4,
  QUOTE_VERSION_5,
  REPORT_DATA_BYTES,
  SGX_ATTRIBUTES_BYTES,
  SGX_MEASUREMENT_BYTES,
  TD_REPORT_10_BYTES,
  TD_REPORT_15_BYTES,
  TEE_TCB_SVN_BYTES,
  TEE_TYPE_TDX,
  USER_DATA_BYTES,
} from './quote-constants';
import { PemError, bytesToLatin1, splitPemCertificates } from './encoding';
import type { EnclaveReport, PckCertChain, QeReportCertificationData, QuoteHeader, QuoteSignatureData, TdReport, TdxQuote } from './quote.types';

export function parseTdxQuote(bytes: Uint8Array): TdxQuote {
  if (bytes.length > QUOTE_MAX_BYTES) {
    throw malformed(`quote is ${bytes.length} bytes, at most ${QUOTE_MAX_BYTES} allowed`, { size: bytes.length });
  }
  const reader = new BinaryReader(bytes);
  const header = parseHeader(reader);
  const { bodyType, tdReportVersion } = parseBodyDescriptor(reader, header.version);
  const body = parseTdReport(reader, tdReportVersion === '1.5');
  const signedBytes = bytes.subarray(0, reader.position);
  const signature = parseSignatureData(reader);
  return {
    header,
    bodyType,
    tdReportVersion,
    body,
    signedBytes,
    signature,
    trailingBytes: reader.remaining,
    size: bytes.length,
  };
}

function parseHeader(reader: BinaryReader): QuoteHeader {
  const version = reader.u16('header.version');
  if (version !== QUOTE_VERSION_4 && version !== QUOTE_VERSION_5) {
    throw unsupported(`quote version ${version} is not supported (TDX quotes are v4 or v5)`, { version });
  }
  const attestationKeyType = reader.u16('header.att_key_type');
  if (attestationKeyType !== ATT_KEY_TYPE_ECDSA_P256) {
    throw unsupported(`attestation key type ${attestationKeyType} is not supported (ECDSA-P256 is 2)`, {
      attestationKeyType,
    });
  }
  const teeType = reader.u32('header.tee_type');
  if (teeType !== TEE_TYPE_TDX) {
    throw unsupported(`TEE type 0x${teeType.toString(16).padStart(8, '0')} is not TDX (0x00000081)`, { teeType });
  }
  return {
    version,
    attestationKeyType,
    teeType,
    qeSvn: reader.u16('header.qe_svn'),
    pceSvn: reader.u16('header.pce_svn'),
    qeVendorId: reader.bytesOf('header.qe_vendor_id', QE_VENDOR_ID_BYTES),
    userData: reader.bytesOf('header.user_data', USER_DATA_BYTES),
  };
}

/** v4 has no descriptor (always TD report 1.0); v5 declares the body type and size. */
function parseBodyDescriptor(reader: BinaryReader, version: number): { bodyType: number; tdReportVersion: '1.0' | '1.5' } {
  if (version === QUOTE_VERSION_4) return { bodyType: BODY_TYPE_TD_REPORT_10, tdReportVersion: '1.0' };
  const bodyType = reader.u16('body.type');
  const bodySizeOffset = reader.position;
  const bodySize = reader.u32('body.size');
  const expected = bodyType === BODY_TYPE_TD_REPORT_10 ? TD_REPORT_10_BYTES : bodyType === BODY_TYPE_TD_REPORT_15 ? TD_REPORT_15_BYTES : 0;
  if (expected === 0) {
    throw unsupported(`v5 body type ${bodyType} is not a TD report (2 = TD report 1.0, 3 = TD report 1.5)`, { bodyType });
  }
  if (bodySize !== expected) {
    throw malformed(`body.size at offset ${bodySizeOffset} is ${bodySize}, body type ${bodyType} needs ${expected}`, {
      bodyType,
      bodySize,
    });
  }
  return { bodyType, tdReportVersion: bodyType === BODY_TYPE_TD_REPORT_15 ? '1.5' : '1.0' };
}

function parseTdReport(reader: BinaryReader, isTdReport15: boolean): TdReport {
  const report: TdReport = {
    teeTcbSvn: reader.bytesOf('td_report.tee_tcb_svn', TEE_TCB_SVN_BYTES),
    mrSeam: reader.bytesOf('td_report.mrseam', MEASUREMENT_BYTES),
    mrSignerSeam: reader.bytesOf('td_report.mrsignerseam', MEASUREMENT_BYTES),
    seamAttributes: reader.bytesOf('td_report.seam_attributes', ATTRIBUTES_8_BYTES),
    tdAttributes: reader.bytesOf('td_report.td_attributes', ATTRIBUTES_8_BYTES),
    xfam: reader.bytesOf('td_report.xfam', ATTRIBUTES_8_BYTES),
    mrTd: reader.bytesOf('td_report.mrtd', MEASUREMENT_BYTES),
    mrConfigId: reader.bytesOf('td_report.mrconfigid', MEASUREMENT_BYTES),
    mrOwner: reader.bytesOf('td_report.mrowner', MEASUREMENT_BYTES),
    mrOwnerConfig: reader.bytesOf('td_report.mrownerconfig', MEASUREMENT_BYTES),
    rtmr0: reader.bytesOf('td_report.rtmr0', MEASUREMENT_BYTES),
    rtmr1: reader.bytesOf('td_report.rtmr1', MEASUREMENT_BYTES),
    rtmr2: reader.bytesOf('td_report.rtmr2', MEASUREMENT_BYTES),
    rtmr3: reader.bytesOf('td_report.rtmr3', MEASUREMENT_BYTES),
    reportData: reader.bytesOf('td_report.report_data', REPORT_DATA_BYTES),
  };
  if (isTdReport15) {
    report.teeTcbSvn2 = reader.bytesOf('td_report.tee_tcb_svn2', TEE_TCB_SVN_BYTES);
    report.mrServiceTd = reader.bytesOf('td_report.mrservicetd', MEASUREMENT_BYTES);
  }
  return report;
}

/**
 * Signature data: u32 length, ECDSA signature, attestation key, then certification data which for
 * TDX is type 6 (QE report certification data) wrapping the type 5 PCK chain.
 */
function parseSignatureData(reader: BinaryReader): QuoteSignatureData {
  const declared = reader.u32('signature_data_len');
  const { reader: sig, presentLength } = reader.nested(declared);
  const ecdsaSignature = sig.bytesOf('signature_data.ecdsa_signature', ECDSA_P256_SIGNATURE_BYTES);
  const attestationKey = sig.bytesOf('signature_data.attestation_key', ECDSA_P256_PUBLIC_KEY_BYTES);
  const certificationDataType = sig.u16('signature_data.cert_data_type');
  if (certificationDataType !== CERT_DATA_TYPE_QE_REPORT) {
    throw unsupported(`certification data type ${certificationDataType} is not supported (TDX quotes carry type 6, QE report)`, { certificationDataType });
  }
  const qeCertification = parseLengthPrefixed(sig, 'signature_data.cert_data', (body) => parseQeReportCertificationData(body));
  requireAllPresent('signature_data', declared, presentLength);
  requireFullyConsumed(sig, 'signature_data');
  return { ecdsaSignature, attestationKey, certificationDataType, qeCertification };
}

function parseQeReportCertificationData(reader: BinaryReader): QeReportCertificationData {
  const qeReportBytes = reader.bytesOf('qe_cert_data.qe_report', ENCLAVE_REPORT_BYTES);
  const qeReportSignature = reader.bytesOf('qe_cert_data.qe_report_signature', ECDSA_P256_SIGNATURE_BYTES);
  const authDataLength = reader.u16('qe_cert_data.qe_auth_data_len');
  const qeAuthData = reader.bytesOf('qe_cert_data.qe_auth_data', authDataLength);
  const innerType = reader.u16('qe_cert_data.cert_data_type');
  if (innerType !== CERT_DATA_TYPE_PCK_CHAIN) {
    throw unsupported(`QE certification data type ${innerType} is not supported (only 5, the PEM PCK certificate chain)`, { certificationDataType: innerType });
  }
  // An opaque blob: read whole, so a truncation names it before any PEM is looked at.
  const chainSize = reader.u32('qe_cert_data.cert_data_size');
  const pckCertChain = parsePckCertChain(reader.bytesOf('qe_cert_data.pck_cert_chain', chainSize));
  return { qeReport: parseEnclaveReport(qeReportBytes), qeReportBytes, qeReportSignature, qeAuthData, pckCertChain };
}

/** The 384-byte SGX report layout; the reserved ranges are skipped but still signed. */
export function parseEnclaveReport(bytes: Uint8Array): EnclaveReport {
  const reader = new BinaryReader(bytes);
  const cpuSvn = reader.bytesOf('qe_report.cpu_svn', CPU_SVN_BYTES);
  const miscSelect = reader.u32('qe_report.misc_select');
  reader.bytesOf('qe_report.reserved1', 28);
  const attributes = reader.bytesOf('qe_report.attributes', SGX_ATTRIBUTES_BYTES);
  const mrEnclave = reader.bytesOf('qe_report.mrenclave', SGX_MEASUREMENT_BYTES);
  reader.bytesOf('qe_report.reserved2', 32);
  const mrSigner = reader.bytesOf('qe_report.mrsigner', SGX_MEASUREMENT_BYTES);
  reader.bytesOf('qe_report.reserved3', 96);
  const isvProdId = reader.u16('qe_report.isv_prod_id');
  const isvSvn = reader.u16('qe_report.isv_svn');
  reader.bytesOf('qe_report.reserved4', 60);
  const reportData = reader.bytesOf('qe_report.report_data', REPORT_DATA_BYTES);
  return { cpuSvn, miscSelect, attributes, mrEnclave, mrSigner, isvProdId, isvSvn, reportData };
}

function parsePckCertChain(raw: Uint8Array): PckCertChain {
  try {
    return { raw, certificatesDer: splitPemCertificates(bytesToLatin1(raw)) };
  } catch (error) {
    if (error instanceof PemError) throw malformed(`pck cert chain: ${error.message}`);
    throw error;
  }
}

/** u32 size then a body that must be exactly consumed by `parse`. */
function parseLengthPrefixed<T>(reader: BinaryReader, field: string, parse: (body: BinaryReader) => T): T {
  const declared = reader.u32(`${field}_size`);
  const { reader: body, presentLength } = reader.nested(declared);
  const value = parse(body);
  requireAllPresent(field, declared, presentLength);
  requireFullyConsumed(body, field);
  return value;
}

function requireFullyConsumed(reader: BinaryReader, field: string): void {
  if (reader.remaining !== 0) {
    throw malformed(`${field} has ${reader.remaining} unparsed bytes at offset ${reader.position}`, {
      field,
      unparsed: reader.remaining,
    });
  }
}

/** Reached only when the nested parse stopped early inside a truncated structure. */
function requireAllPresent(field: string, declared: number, present: number): void {
  if (present < declared) {
    throw malformed(`quote too short: ${field} declares ${declared} bytes, ${present} present`, { field, declared, present });
  }
}

function malformed(message: string, detail?: Record<string, unknown>): DomainError {
  return new DomainError(ErrorCode.QUOTE_MALFORMED, message, detail);
}

function unsupported(message: string, detail?: Record<string, unknown>): DomainError {
  return new DomainError(ErrorCode.QUOTE_UNSUPPORTED, message, detail);
}
