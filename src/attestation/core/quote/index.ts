/** Public surface of the TDX quote parser (structure only, no verification). */
export { BinaryReader } from './binary-reader';
export * from './quote-constants';
export type * from './quote.types';
export { parseTdxQuote, parseEnclaveReport } from './tdx-quote.parser';
export { buildQuoteParseView } from './quote-parse-view';
export type { QuoteParseView } from './quote-parse-view';
export { toHex } from './encoding';
