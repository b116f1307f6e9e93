import { IsISO8601, Matches } from 'class-validator';

/** `{nonce, expires_at}`: 64 lowercase hex and its ISO-8601 expiry. */
export class NonceResponse {
  @Matches(/^[0-9a-f]{64}$/)
  nonce: string;

  @IsISO8601()
  expires_at: string;
}
