/**
 * Named constants of the Intel TDX DCAP quote format (Intel TDX DCAP Quoting Library API,
 * "Quote Format" appendix, quote versions 4 and 5). Every magic number the parser uses lives here.
 */

/** Quotes larger than this are refused before parsing (DESIGN.md: "Quotes: at most 16 KiB"). */
export const QUOTE_MAX_BYTES = 16 * 1024;

export const QUOTE_VERSION_4 = 4;
export const QUOTE_VERSION_5 = 5;

export const TEE_TYPE_SGX = 0x00000000;
export const TEE_TYPE_TDX = 0x00000081;

/** ECDSA-256-with-P-256 attestation key; the only type Intel ships for TDX. */
export const ATT_KEY_TYPE_ECDSA_P256 = 2;

/** Certification data types (QE Certification Data, "Certification Data Type"). */
export const CERT_DATA_TYPE_PCK_CHAIN = 5;
export const CERT_DATA_TYPE_QE_REPORT = 6;

/** v5 body descriptor types. Type 1 (SGX enclave report) is not a TDX body. */
export const BODY_TYPE_SGX_ENCLAVE_REPORT = 1;
export const BODY_TYPE_TD_REPORT_10 = 2;
export const BODY_TYPE_TD_REPORT_15 = 3;

export const HEADER_BYTES = 48;
/** v5 only: u16 body type + u32 body size, between header and body. */
export const BODY_DESCRIPTOR_BYTES = 6;
export const TD_REPORT_10_BYTES = 584;
export const TD_REPORT_15_BYTES = 648;
export const ENCLAVE_REPORT_BYTES = 384;

export const ECDSA_P256_SIGNATURE_BYTES = 64;
export const ECDSA_P256_PUBLIC_KEY_BYTES = 64;

/** Header field sizes. */
export const QE_VENDOR_ID_BYTES = 16;
export const USER_DATA_BYTES = 20;

/** TD report field sizes. */
export const TEE_TCB_SVN_BYTES = 16;
export const MEASUREMENT_BYTES = 48; // SHA-384: MRTD, RTMRs, MRSEAM, MRCONFIGID, ...
export const ATTRIBUTES_8_BYTES = 8; // SEAM attributes, TD attributes, XFAM
export const REPORT_DATA_BYTES = 64;

/** SGX enclave (QE) report field sizes. */
export const CPU_SVN_BYTES = 16;
export const SGX_ATTRIBUTES_BYTES = 16;
export const SGX_MEASUREMENT_BYTES = 32; // SHA-256: MRENCLAVE, MRSIGNER

/** Intel's QE vendor id (939A7233-F79C-4CA9-940A-0DB3957F0607), reported, not enforced. */
export const INTEL_QE_VENDOR_ID_HEX = '939a7233f79c4ca9940a0db3957f0607';

/** TD attributes bit 0: TUD.DEBUG — the TD runs in debug mode and its memory is host-readable. */
export const TD_ATTRIBUTES_DEBUG_BIT = 0x01;
