/**
 * The parsed shape of a TDX quote (v4 or v5). Byte fields are zero-copy views into the caller's
 * quote buffer; callers must not mutate that buffer while holding a TdxQuote.
 */

export interface QuoteHeader {
  version: number;
  attestationKeyType: number;
  teeType: number;
  qeSvn: number;
  pceSvn: number;
  qeVendorId: Uint8Array; // 16
  userData: Uint8Array; // 20
}

/** TD report 1.0 (584 bytes); 1.5 adds the two optional fields (648 bytes). */
export interface TdReport {
  teeTcbSvn: Uint8Array; // 16
  mrSeam: Uint8Array; // 48
  mrSignerSeam: Uint8Array; // 48
  seamAttributes: Uint8Array; // 8
  tdAttributes: Uint8Array; // 8
  xfam: Uint8Array; // 8
  mrTd: Uint8Array; // 48
  mrConfigId: Uint8Array; // 48
  mrOwner: Uint8Array; // 48
  mrOwnerConfig: Uint8Array; // 48
  rtmr0: Uint8Array; // 48
  rtmr1: Uint8Array; // 48
  rtmr2: Uint8Array; // 48
  rtmr3: Uint8Array; // 48
  reportData: Uint8Array; // 64
  /** TD report 1.5 only. */
  teeTcbSvn2?: Uint8Array; // 16
  /** TD report 1.5 only. */
  mrServiceTd?: Uint8Array; // 48
}

/** The QE's SGX enclave report (384 bytes), signed by the PCK key. */
export interface EnclaveReport {
  cpuSvn: Uint8Array; // 16
  miscSelect: number; // u32
  attributes: Uint8Array; // 16
  mrEnclave: Uint8Array; // 32
  mrSigner: Uint8Array; // 32
  isvProdId: number;
  isvSvn: number;
  reportData: Uint8Array; // 64
}

export interface PckCertChain {
  /** Raw certification data body (PEM text, possibly NUL-terminated): the cache key for the chain. */
  raw: Uint8Array;
  /** DER certificates, leaf (PCK certificate) first. */
  certificatesDer: Uint8Array[];
}

export interface QeReportCertificationData {
  qeReport: EnclaveReport;
  /** The exact 384 bytes the QE report signature covers. */
  qeReportBytes: Uint8Array;
  qeReportSignature: Uint8Array; // 64, r||s
  qeAuthData: Uint8Array;
  pckCertChain: PckCertChain;
}

export interface QuoteSignatureData {
  ecdsaSignature: Uint8Array; // 64, r||s over signedBytes
  attestationKey: Uint8Array; // 64, x||y of the P-256 attestation key
  certificationDataType: number; // always CERT_DATA_TYPE_QE_REPORT
  qeCertification: QeReportCertificationData;
}

export type TdReportVersion = '1.0' | '1.5';

export interface TdxQuote {
  header: QuoteHeader;
  /** v5 body descriptor type (2 or 3); v4 quotes report 2 (TD report 1.0). */
  bodyType: number;
  tdReportVersion: TdReportVersion;
  body: TdReport;
  /** header (+ v5 body descriptor) + body: exactly the bytes the attestation key signed. */
  signedBytes: Uint8Array;
  signature: QuoteSignatureData;
  /** Bytes after the declared signature data (generators pad; ignored but reported). */
  trailingBytes: number;
  /** Total quote length in bytes. */
  size: number;
}
