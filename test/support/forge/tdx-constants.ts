/**
 * Spec constants of the Intel TDX DCAP quote format (Intel TDX DCAP Quoting Library API, quote
 * v4 and v5) as the forge writes them: every offset and size the forge uses is named here, so a
 * reader can check the layout against the spec in one place.
 */

/** A fixed-size field inside a fixed-size structure. */
export interface Field {
  readonly offset: number;
  readonly size: number;
}

export const QUOTE_VERSION_4 = 4;
export const QUOTE_VERSION_5 = 5;
export const TEE_TYPE_TDX = 0x81;
export const ATTESTATION_KEY_TYPE_ECDSA_P256 = 2;
/** Intel's QE vendor id 939A7233-F79C-4CA9-940A-0DB3957F0607, as it appears in real quotes. */
export const INTEL_QE_VENDOR_ID = Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex');

/** Quote header (48 bytes), common to v4 and v5. All integers little-endian. */
export const HEADER = {
  SIZE: 48,
  VERSION: { offset: 0, size: 2 },
  ATTESTATION_KEY_TYPE: { offset: 2, size: 2 },
  TEE_TYPE: { offset: 4, size: 4 },
  /** QE SVN and PCE SVN in SGX quotes; reserved (zero) in TDX quotes. */
  RESERVED: { offset: 8, size: 4 },
  QE_VENDOR_ID: { offset: 12, size: 16 },
  /** The first 16 bytes are the platform's QE id in real quotes. */
  USER_DATA: { offset: 28, size: 20 },
} as const;

/** v5 only: a descriptor between header and body: u16 body type, u32 body size. */
export const BODY_DESCRIPTOR = {
  SIZE: 6,
  TYPE: { offset: 0, size: 2 },
  BODY_SIZE: { offset: 2, size: 4 },
} as const;
export const BODY_TYPE_TD_REPORT_10 = 2;
export const BODY_TYPE_TD_REPORT_15 = 3;

/** TD report 1.0 (TDX module 1.0 quote body, 584 bytes). */
export const TD_REPORT_10 = {
  SIZE: 584,
  TEE_TCB_SVN: { offset: 0, size: 16 },
  MRSEAM: { offset: 16, size: 48 },
  MRSIGNERSEAM: { offset: 64, size: 48 },
  SEAM_ATTRIBUTES: { offset: 112, size: 8 },
  TD_ATTRIBUTES: { offset: 120, size: 8 },
  XFAM: { offset: 128, size: 8 },
  MRTD: { offset: 136, size: 48 },
  MRCONFIGID: { offset: 184, size: 48 },
  MROWNER: { offset: 232, size: 48 },
  MROWNERCONFIG: { offset: 280, size: 48 },
  RTMR0: { offset: 328, size: 48 },
  RTMR1: { offset: 376, size: 48 },
  RTMR2: { offset: 424, size: 48 },
  RTMR3: { offset: 472, size: 48 },
  REPORT_DATA: { offset: 520, size: 64 },
} as const;

/** TD report 1.5 = TD report 1.0 followed by two fields (648 bytes). */
export const TD_REPORT_15 = {
  SIZE: 648,
  TEE_TCB_SVN_2: { offset: 584, size: 16 },
  MRSERVICETD: { offset: 600, size: 48 },
} as const;

/** TD attributes bits (in the 64-bit little-endian TD_ATTRIBUTES field). */
export const TD_ATTRIBUTES_DEBUG_BIT = 0;
/** SEPT_VE_DISABLE: production TDs set it; dcap-qvl refuses TDs without it. */
export const TD_ATTRIBUTES_SEPT_VE_DISABLE_BIT = 28;

/** SGX enclave report (the QE report inside the certification data), 384 bytes. */
export const SGX_REPORT = {
  SIZE: 384,
  CPUSVN: { offset: 0, size: 16 },
  MISCSELECT: { offset: 16, size: 4 },
  ATTRIBUTES: { offset: 48, size: 16 },
  MRENCLAVE: { offset: 64, size: 32 },
  MRSIGNER: { offset: 128, size: 32 },
  ISVPRODID: { offset: 256, size: 2 },
  ISVSVN: { offset: 258, size: 2 },
  REPORT_DATA: { offset: 320, size: 64 },
} as const;

export const ECDSA_P256_SIGNATURE_SIZE = 64;
export const ECDSA_P256_PUBLIC_KEY_SIZE = 64;
export const SHA256_SIZE = 32;

/**
 * Auth data (after the u32 auth-data size that follows the body):
 *   quote signature (64) | attestation public key x||y (64) | certification data
 * Certification data: u16 type | u32 size | data. The outer one is type 6, whose data is
 *   QE report (384) | QE report signature (64) | u16 QE auth data size | QE auth data |
 *   inner certification data (type 5: PEM chain PCK leaf, PCK CA, root).
 */
export const AUTH_DATA_SIZE_FIELD = 4;
export const CERT_DATA_HEADER_SIZE = 6;
export const QE_AUTH_DATA_SIZE_FIELD = 2;
export const CERT_DATA_TYPE_PCK_CERT_CHAIN = 5;
export const CERT_DATA_TYPE_QE_REPORT = 6;
