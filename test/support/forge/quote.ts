/**
 * Forges Intel TDX DCAP quotes (v4, and v5 with a TD report 1.0 or 1.5 body) signed through a test
 * PKI: a fresh (or given) P-256 attestation key signs header||body; a QE report binding that key
 * (REPORTDATA = SHA-256(attestation key || QE auth data) || zeros) is signed by the PCK leaf key;
 * the PCK chain travels as certification data type 5 inside type 6, as real quotes carry it.
 * Options can break each link on purpose for negative tests.
 */
import { createHash, KeyObject } from 'node:crypto';
import { generateP256Key, rawP256PublicKey, signP256Raw } from './ecdsa';
import {
  DEFAULT_MRSIGNERSEAM,
  DEFAULT_QE,
  DEFAULT_QE_AUTH_DATA,
  DEFAULT_SEAM_ATTRIBUTES,
  DEFAULT_TD_ATTRIBUTES,
  DEFAULT_TEE_TCB_SVN,
  DEFAULT_XFAM,
} from './forge-defaults';
import {
  ATTESTATION_KEY_TYPE_ECDSA_P256,
  AUTH_DATA_SIZE_FIELD,
  BODY_DESCRIPTOR,
  BODY_TYPE_TD_REPORT_10,
  BODY_TYPE_TD_REPORT_15,
  CERT_DATA_HEADER_SIZE,
  CERT_DATA_TYPE_PCK_CERT_CHAIN,
  CERT_DATA_TYPE_QE_REPORT,
  Field,
  HEADER,
  INTEL_QE_VENDOR_ID,
  QE_AUTH_DATA_SIZE_FIELD,
  QUOTE_VERSION_4,
  QUOTE_VERSION_5,
  SGX_REPORT,
  SHA256_SIZE,
  TD_ATTRIBUTES_DEBUG_BIT,
  TD_REPORT_10,
  TD_REPORT_15,
  TEE_TYPE_TDX,
} from './tdx-constants';
import { TestPki } from './test-pki';

/** Binary input: a Buffer/Uint8Array, or hex (case-insensitive, optional 0x prefix). */
export type Bytes = Buffer | Uint8Array | string;

export type RtmrName = 'rtmr0' | 'rtmr1' | 'rtmr2' | 'rtmr3';

export interface ForgeQuoteOptions {
  /** Quote version (default 4). */
  version?: 4 | 5;
  /** Body of a v5 quote: TD report 1.0 (type 2, default) or 1.5 (type 3). v4 is always 1.0. */
  tdReport?: '1.0' | '1.5';
  /** REPORTDATA, exactly 64 bytes (default zeros). */
  reportData?: Bytes;
  mrtd?: Bytes;
  /** RTMRs by name (the measurement-set shape) or as an array rtmr0..rtmr3. */
  rtmrs?: Partial<Record<RtmrName, Bytes>> | Bytes[];
  mrseam?: Bytes;
  mrsignerseam?: Bytes;
  seamAttributes?: Bytes;
  /** TD_ATTRIBUTES, 8 bytes (default: only SEPT_VE_DISABLE set). */
  tdAttributes?: Bytes;
  /** Set (true) or clear (false) the DEBUG bit on top of tdAttributes. */
  debug?: boolean;
  xfam?: Bytes;
  mrconfigid?: Bytes;
  mrowner?: Bytes;
  mrownerconfig?: Bytes;
  teeTcbSvn?: Bytes;
  /** TD report 1.5 only. */
  teeTcbSvn2?: Bytes;
  mrservicetd?: Bytes;
  /** Attestation key (private); default a fresh P-256 key per quote. */
  attestationKey?: KeyObject;
  /** QE authentication data (default 00..1f, 32 bytes, as Intel's QE sends). */
  qeAuthData?: Bytes;
  /** QE report field overrides, e.g. another MRSIGNER to forge a QE identity mismatch. */
  qeReport?: Partial<QeReportFields>;
  /** Header overrides, e.g. a non-TDX TEE type or another attestation key type. */
  header?: { teeType?: number; attestationKeyType?: number; qeVendorId?: Bytes; userData?: Bytes };
  /** PEM chain for certification data type 5 (default: the PKI's PCK leaf, PCK CA, root). */
  pckCertChainPem?: string;
  /** Zero bytes appended after the auth data, as real quote generators pad. */
  trailingBytes?: number;
  tamper?: QuoteTamper;
}

/** Deliberate breakage; each produces an otherwise well-formed quote. */
export interface QuoteTamper {
  /** Flip a bit of the quote signature (attestation key over header||body). */
  quoteSignature?: boolean;
  /** Flip a bit of the QE report signature (PCK key over the QE report). */
  qeReportSignature?: boolean;
  /** QE REPORTDATA that does not hash the attestation key (still correctly PCK-signed). */
  qeReportData?: boolean;
  /** Change REPORTDATA after signing (the quote signature no longer covers the body). */
  bodyAfterSigning?: boolean;
}

export interface QeReportFields {
  cpuSvn: Bytes;
  miscSelect: number;
  attributes: Bytes;
  mrEnclave: Bytes;
  mrSigner: Bytes;
  isvProdId: number;
  isvSvn: number;
}

const RTMR_NAMES: readonly RtmrName[] = ['rtmr0', 'rtmr1', 'rtmr2', 'rtmr3'];
const RTMR_FIELDS: readonly Field[] = [TD_REPORT_10.RTMR0, TD_REPORT_10.RTMR1, TD_REPORT_10.RTMR2, TD_REPORT_10.RTMR3];
const PEM_CHAIN_TERMINATOR = '\0';
/** Default measurements: stable, non-zero, obviously synthetic. */
const DEFAULT_MRSEAM = '5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1';

/** Offset of REPORTDATA inside a quote of this shape (the broker's nonce binding lives there). */
export function reportDataOffset(version: 4 | 5 = QUOTE_VERSION_4): number {
  const descriptor = version === QUOTE_VERSION_5 ? BODY_DESCRIPTOR.SIZE : 0;
  return HEADER.SIZE + descriptor + TD_REPORT_10.REPORT_DATA.offset;
}

/** A stable synthetic 48-byte measurement for a label. */
export function syntheticMeasurement(label: string): Buffer {
  return createHash('sha384').update(`bootkey-forge|${label}`).digest();
}

export function forgeQuote(pki: TestPki, options: ForgeQuoteOptions = {}): Buffer {
  const version = options.version ?? QUOTE_VERSION_4;
  const tdReport = options.tdReport ?? '1.0';
  if (version !== QUOTE_VERSION_4 && version !== QUOTE_VERSION_5) throw new Error(`forgeQuote: version ${String(version)} unsupported`);
  if (version === QUOTE_VERSION_4 && tdReport !== '1.0') throw new Error('forgeQuote: a v4 quote carries a TD report 1.0');

  const header = buildHeader(pki, version, options);
  const body = buildTdReport(tdReport, options);
  const descriptor = version === QUOTE_VERSION_5 ? buildBodyDescriptor(tdReport, body.length) : Buffer.alloc(0);
  const signed = Buffer.concat([header, descriptor, body]);

  const attestationKey = options.attestationKey ?? generateP256Key();
  const quoteSignature = maybeFlipBit(signP256Raw(attestationKey, signed), options.tamper?.quoteSignature);
  const attestationPublicKey = rawP256PublicKey(attestationKey);
  const certificationData = buildQeCertificationData(pki, attestationPublicKey, options);
  const authData = Buffer.concat([quoteSignature, attestationPublicKey, certificationData]);

  if (options.tamper?.bodyAfterSigning) signed[signed.length - 1] ^= 0x01;
  return Buffer.concat([signed, u32le(authData.length), authData, Buffer.alloc(options.trailingBytes ?? 0)]);
}

function buildHeader(pki: TestPki, version: number, options: ForgeQuoteOptions): Buffer {
  const header = Buffer.alloc(HEADER.SIZE);
  header.writeUInt16LE(version, HEADER.VERSION.offset);
  header.writeUInt16LE(options.header?.attestationKeyType ?? ATTESTATION_KEY_TYPE_ECDSA_P256, HEADER.ATTESTATION_KEY_TYPE.offset);
  header.writeUInt32LE(options.header?.teeType ?? TEE_TYPE_TDX, HEADER.TEE_TYPE.offset);
  put(header, HEADER.QE_VENDOR_ID, 'header.qeVendorId', options.header?.qeVendorId ?? INTEL_QE_VENDOR_ID);
  put(header, HEADER.USER_DATA, 'header.userData', options.header?.userData ?? defaultUserData(pki));
  return header;
}

/** Real quotes carry the platform's 16-byte QE id then 4 zero bytes; derive one from the PPID. */
function defaultUserData(pki: TestPki): Buffer {
  const qeId = createHash('sha256').update('bootkey-forge|qe-id').update(pki.platform.ppid).digest();
  return Buffer.concat([qeId.subarray(0, 16), Buffer.alloc(4)]);
}

function buildBodyDescriptor(tdReport: '1.0' | '1.5', bodySize: number): Buffer {
  const descriptor = Buffer.alloc(BODY_DESCRIPTOR.SIZE);
  descriptor.writeUInt16LE(tdReport === '1.5' ? BODY_TYPE_TD_REPORT_15 : BODY_TYPE_TD_REPORT_10, BODY_DESCRIPTOR.TYPE.offset);
  descriptor.writeUInt32LE(bodySize, BODY_DESCRIPTOR.BODY_SIZE.offset);
  return descriptor;
}

function buildTdReport(tdReport: '1.0' | '1.5', options: ForgeQuoteOptions): Buffer {
  const body = Buffer.alloc(tdReport === '1.5' ? TD_REPORT_15.SIZE : TD_REPORT_10.SIZE);
  const R = TD_REPORT_10;
  const teeTcbSvn = options.teeTcbSvn ?? Buffer.from(DEFAULT_TEE_TCB_SVN);
  put(body, R.TEE_TCB_SVN, 'teeTcbSvn', teeTcbSvn);
  put(body, R.MRSEAM, 'mrseam', options.mrseam ?? DEFAULT_MRSEAM);
  put(body, R.MRSIGNERSEAM, 'mrsignerseam', options.mrsignerseam ?? DEFAULT_MRSIGNERSEAM);
  put(body, R.SEAM_ATTRIBUTES, 'seamAttributes', options.seamAttributes ?? DEFAULT_SEAM_ATTRIBUTES);
  put(body, R.TD_ATTRIBUTES, 'tdAttributes', tdAttributes(options));
  put(body, R.XFAM, 'xfam', options.xfam ?? DEFAULT_XFAM);
  put(body, R.MRTD, 'mrtd', options.mrtd ?? syntheticMeasurement('mrtd'));
  put(body, R.MRCONFIGID, 'mrconfigid', options.mrconfigid ?? Buffer.alloc(R.MRCONFIGID.size));
  put(body, R.MROWNER, 'mrowner', options.mrowner ?? Buffer.alloc(R.MROWNER.size));
  put(body, R.MROWNERCONFIG, 'mrownerconfig', options.mrownerconfig ?? Buffer.alloc(R.MROWNERCONFIG.size));
  const rtmrs = rtmrValues(options.rtmrs);
  RTMR_NAMES.forEach((name, i) => put(body, RTMR_FIELDS[i], name, rtmrs[i]));
  put(body, R.REPORT_DATA, 'reportData', options.reportData ?? Buffer.alloc(R.REPORT_DATA.size));
  if (tdReport === '1.5') {
    put(body, TD_REPORT_15.TEE_TCB_SVN_2, 'teeTcbSvn2', options.teeTcbSvn2 ?? teeTcbSvn);
    put(body, TD_REPORT_15.MRSERVICETD, 'mrservicetd', options.mrservicetd ?? Buffer.alloc(TD_REPORT_15.MRSERVICETD.size));
  }
  return body;
}

/** RTMR0..2 default to synthetic values; RTMR3 defaults to zeros, as on a fresh TD. */
function rtmrValues(rtmrs: ForgeQuoteOptions['rtmrs']): Bytes[] {
  const given = Array.isArray(rtmrs) ? rtmrs : RTMR_NAMES.map((name) => rtmrs?.[name]);
  if (given.length > RTMR_NAMES.length) throw new Error(`rtmrs: at most ${RTMR_NAMES.length} registers`);
  return RTMR_NAMES.map((name, i) => given[i] ?? (i === 3 ? Buffer.alloc(48) : syntheticMeasurement(name)));
}

function tdAttributes(options: ForgeQuoteOptions): Buffer {
  const attributes = Buffer.from(toBytes('tdAttributes', options.tdAttributes ?? DEFAULT_TD_ATTRIBUTES, TD_REPORT_10.TD_ATTRIBUTES.size));
  const debugMask = 1 << (TD_ATTRIBUTES_DEBUG_BIT % 8);
  const debugByte = Math.floor(TD_ATTRIBUTES_DEBUG_BIT / 8);
  if (options.debug === true) attributes[debugByte] |= debugMask;
  if (options.debug === false) attributes[debugByte] &= ~debugMask;
  return attributes;
}

/** Certification data type 6: QE report, its PCK signature, QE auth data, nested type 5 chain. */
function buildQeCertificationData(pki: TestPki, attestationPublicKey: Buffer, options: ForgeQuoteOptions): Buffer {
  const qeAuthData = options.qeAuthData === undefined ? DEFAULT_QE_AUTH_DATA : toBytes('qeAuthData', options.qeAuthData);
  const qeReport = buildQeReport(pki, attestationPublicKey, qeAuthData, options);
  const qeReportSignature = maybeFlipBit(signP256Raw(pki.pckLeaf.key, qeReport), options.tamper?.qeReportSignature);
  const chain = Buffer.from((options.pckCertChainPem ?? pki.pckCertChainPem) + PEM_CHAIN_TERMINATOR, 'utf8');
  const qeAuthSize = Buffer.alloc(QE_AUTH_DATA_SIZE_FIELD);
  qeAuthSize.writeUInt16LE(qeAuthData.length);
  const inner = certificationData(CERT_DATA_TYPE_PCK_CERT_CHAIN, chain);
  return certificationData(CERT_DATA_TYPE_QE_REPORT, Buffer.concat([qeReport, qeReportSignature, qeAuthSize, qeAuthData, inner]));
}

function buildQeReport(pki: TestPki, attestationPublicKey: Buffer, qeAuthData: Buffer, options: ForgeQuoteOptions): Buffer {
  const fields = { ...defaultQeReportFields(pki), ...options.qeReport };
  const report = Buffer.alloc(SGX_REPORT.SIZE);
  put(report, SGX_REPORT.CPUSVN, 'qeReport.cpuSvn', fields.cpuSvn);
  report.writeUInt32LE(fields.miscSelect, SGX_REPORT.MISCSELECT.offset);
  put(report, SGX_REPORT.ATTRIBUTES, 'qeReport.attributes', fields.attributes);
  put(report, SGX_REPORT.MRENCLAVE, 'qeReport.mrEnclave', fields.mrEnclave);
  put(report, SGX_REPORT.MRSIGNER, 'qeReport.mrSigner', fields.mrSigner);
  report.writeUInt16LE(fields.isvProdId, SGX_REPORT.ISVPRODID.offset);
  report.writeUInt16LE(fields.isvSvn, SGX_REPORT.ISVSVN.offset);
  // The QE vouches for the attestation key by hashing it (with its auth data) into REPORTDATA.
  const binding = createHash('sha256').update(attestationPublicKey).update(qeAuthData).digest();
  if (options.tamper?.qeReportData) binding[0] ^= 0x01;
  binding.copy(report, SGX_REPORT.REPORT_DATA.offset, 0, SHA256_SIZE);
  return report;
}

function defaultQeReportFields(pki: TestPki): QeReportFields {
  return {
    cpuSvn: Buffer.from(pki.platform.sgxTcbComponents),
    miscSelect: DEFAULT_QE.miscSelect,
    attributes: DEFAULT_QE.attributes,
    mrEnclave: createHash('sha256').update('bootkey-forge|td-qe').digest(),
    mrSigner: DEFAULT_QE.mrSigner,
    isvProdId: DEFAULT_QE.isvProdId,
    isvSvn: DEFAULT_QE.isvSvn,
  };
}

function certificationData(type: number, data: Buffer): Buffer {
  const header = Buffer.alloc(CERT_DATA_HEADER_SIZE);
  header.writeUInt16LE(type, 0);
  header.writeUInt32LE(data.length, 2);
  return Buffer.concat([header, data]);
}

function maybeFlipBit(signature: Buffer, flip = false): Buffer {
  if (flip) signature[signature.length - 1] ^= 0x01;
  return signature;
}

function u32le(value: number): Buffer {
  const out = Buffer.alloc(AUTH_DATA_SIZE_FIELD);
  out.writeUInt32LE(value);
  return out;
}

/** Writes `value` into `field` of `target`, requiring exactly the field's size. */
function put(target: Buffer, field: Field, name: string, value: Bytes): void {
  toBytes(name, value, field.size).copy(target, field.offset);
}

/** Bytes of a binary input, optionally of an exact size; errors name the field. */
export function toBytes(field: string, value: Bytes, size?: number): Buffer {
  const bytes = bytesOf(field, value);
  if (size !== undefined && bytes.length !== size) {
    throw new Error(`${field}: expected ${size} bytes, got ${bytes.length}`);
  }
  return bytes;
}

function bytesOf(field: string, value: Bytes): Buffer {
  if (typeof value !== 'string') return Buffer.from(value);
  const hex = value.startsWith('0x') || value.startsWith('0X') ? value.slice(2) : value;
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`${field}: not an even-length hex string`);
  return Buffer.from(hex, 'hex');
}
