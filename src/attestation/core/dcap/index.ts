/** Public surface of DCAP verification: verifyQuote / QuoteVerifier, the pinned root, and the steps. */
export { verifyQuote, QuoteVerifier, isDebugTd } from './quote-verifier';
export type { VerifiedQuote, VerifyQuoteOptions, QuoteVerifierOptions } from './quote-verifier';
export { INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_DER, INTEL_SGX_ROOT_CA_SHA256, loadRootCa } from './root-ca';
export { COLLATERAL_FIELDS, TCB_STATUSES } from './collateral.types';
export type { QuoteCollateral, TcbStatus, TcbInfo, QeIdentity, TcbLevel } from './collateral.types';
export { parseTcbInfoJson, parseQeIdentityJson } from './collateral-json';
export { verifyCertChain, loadTrustAnchor, checkChainValidity } from './cert-chain';
export { verifyCrls, checkCrlValidity, checkRevocation } from './crl';
export { verifyTcbInfo } from './tcb-info';
export { verifyQeIdentity, matchQeIdentity } from './qe-identity';
export { verifyQeReportSignature, verifyQeReportData } from './qe-report';
export { verifyQuoteSignature } from './quote-signature';
export { matchTdxTcbLevel, convergeTcbStatus } from './tcb-match';
export { parsePckExtension } from './pck-extension';
export type { PckExtension } from './pck-extension';
