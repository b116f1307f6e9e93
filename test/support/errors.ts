import { DomainError, ErrorCode } from '../../src/common/errors';

/** The DomainError code `run` throws, or 'ok'; anything else is rethrown (a bug, not a verdict). */
export function errorCodeOf(run: () => unknown): ErrorCode | 'ok' {
  try {
    run();
    return 'ok';
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
}
