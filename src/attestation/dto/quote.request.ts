import { IsString, MaxLength, MinLength } from 'class-validator';
import { DomainError, ErrorCode } from '../../common/errors';

/** base64 of at most 16 KiB, with some room for line breaks some encoders add. */
export const QUOTE_BASE64_MAX_CHARS = 22_000;

export class QuoteRequest {
  /** The TDX quote, base64. Not base64 → 400 QUOTE_MALFORMED (not 422: the body shape is fine). */
  @IsString()
  @MinLength(1)
  @MaxLength(QUOTE_BASE64_MAX_CHARS)
  quote: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 → bytes (whitespace tolerated); anything else is QUOTE_MALFORMED. */
export function decodeQuoteBase64(text: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || !BASE64.test(compact)) throw new DomainError(ErrorCode.QUOTE_MALFORMED, 'quote is not valid base64');
  return Buffer.from(compact, 'base64');
}
