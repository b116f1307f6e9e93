import { ErrorCode } from './error-code';

/**
 * The one error type the service raises on purpose. `message` goes on the wire, so it must
 * never contain a secret, a key, a token or a whole quote; `detail` is for logs and audit
 * rows only (still no secrets) and is never sent to the client.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
