/**
 * The collateral input (dcap-qvl QuoteCollateralV3 JSON shape, as stored in COLLATERAL_DIR files)
 * and the parsed, typed forms of Intel's TCB info and QE identity JSON documents.
 */

/** Exactly the JSON shape of fixtures/dcap/tdx_quote_collateral.json. */
export interface QuoteCollateral {
  pck_crl_issuer_chain: string; // PEM
  root_ca_crl: string; // hex DER
  pck_crl: string; // hex DER
  tcb_info_issuer_chain: string; // PEM
  tcb_info: string; // JSON text, signed byte-for-byte
  tcb_info_signature: string; // hex r||s
  qe_identity_issuer_chain: string; // PEM
  qe_identity: string; // JSON text, signed byte-for-byte
  qe_identity_signature: string; // hex r||s
}

export const COLLATERAL_FIELDS = [
  'pck_crl_issuer_chain',
  'root_ca_crl',
  'pck_crl',
  'tcb_info_issuer_chain',
  'tcb_info',
  'tcb_info_signature',
  'qe_identity_issuer_chain',
  'qe_identity',
  'qe_identity_signature',
] as const satisfies readonly (keyof QuoteCollateral)[];

/**
 * Every TCB status a verification may report, with Intel's spelling, best → worst as Intel's
 * convergence rules read them: the statuses a TCB info / QE identity level may carry
 * (TCB_LEVEL_STATUSES) and the two TD relaunch statuses Intel's QVL computes from TEE_TCB_SVN2.
 */
export const TCB_STATUSES = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'TDRelaunchAdvised',
  'TDRelaunchAdvisedConfigurationNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
] as const;
export type TcbStatus = (typeof TCB_STATUSES)[number];

/** Statuses a TCB level in Intel's signed documents may carry (QVL VALID_TCB_INFO_STATUSES). */
export const TCB_LEVEL_STATUSES: readonly TcbStatus[] = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
];

export interface TcbLevel {
  sgxTcbComponents: number[]; // 16
  pceSvn: number;
  tdxTcbComponents: number[]; // 16
  tcbDate: string;
  tcbStatus: TcbStatus;
  advisoryIds: string[];
}

export interface TdxModuleSigner {
  mrSigner: Uint8Array; // 48
  attributes: Uint8Array; // 8
  attributesMask: Uint8Array; // 8
}

export interface TdxModuleIdentity extends TdxModuleSigner {
  id: string; // "TDX_01", ...
  tcbLevels: { isvSvn: number; tcbDate: string; tcbStatus: TcbStatus; advisoryIds: string[] }[];
}

export interface TcbInfo {
  id: string;
  version: number;
  issueDate: number; // epoch ms
  nextUpdate: number;
  fmspc: string; // lowercase hex
  pceId: string; // lowercase hex
  tcbType: number;
  tcbEvaluationDataNumber: number;
  tcbLevels: TcbLevel[];
  tdxModule?: TdxModuleSigner;
  tdxModuleIdentities: TdxModuleIdentity[];
}

export interface QeIdentity {
  id: string;
  version: number;
  issueDate: number;
  nextUpdate: number;
  tcbEvaluationDataNumber: number;
  miscSelect: number;
  miscSelectMask: number;
  attributes: Uint8Array; // 16
  attributesMask: Uint8Array; // 16
  mrSigner: Uint8Array; // 32
  isvProdId: number;
  tcbLevels: { isvSvn: number; tcbDate: string; tcbStatus: TcbStatus; advisoryIds: string[] }[];
}
