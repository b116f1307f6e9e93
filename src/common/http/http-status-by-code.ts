/**
 * The single code → HTTP status map (DESIGN.md "Failures map to"). It lives at the HTTP edge: the
 * verification core and the services raise codes, and only the transport decides what status a
 * code becomes. A Record over ErrorCode, so a new code does not compile until it has a status.
 */
import { ErrorCode } from '../errors';

export const HTTP_STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  [ErrorCode.VALIDATION_FAILED]: 422,
  [ErrorCode.BODY_TOO_LARGE]: 413,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.NONCE_INVALID]: 401,
  [ErrorCode.BOOT_TOKEN_INVALID]: 401,
  [ErrorCode.CLIENT_CERT_REQUIRED]: 401,
  [ErrorCode.REPORT_DATA_MISMATCH]: 401,
  [ErrorCode.SIGNATURE_MISSING]: 401,
  [ErrorCode.SIGNATURE_INVALID]: 401,
  [ErrorCode.SIGNATURE_EXPIRED]: 401,
  [ErrorCode.SIGNATURE_REPLAYED]: 401,
  [ErrorCode.SIGNATURE_SCOPE]: 401,
  [ErrorCode.NOT_ADMIN]: 403,
  [ErrorCode.QUOTE_MALFORMED]: 400,
  [ErrorCode.QUOTE_UNSUPPORTED]: 400,
  [ErrorCode.QUOTE_SIGNATURE_INVALID]: 403,
  [ErrorCode.QE_REPORT_INVALID]: 403,
  [ErrorCode.PCK_CHAIN_INVALID]: 403,
  [ErrorCode.CERT_REVOKED]: 403,
  [ErrorCode.COLLATERAL_INVALID]: 403,
  [ErrorCode.COLLATERAL_EXPIRED]: 503,
  [ErrorCode.QE_IDENTITY_MISMATCH]: 403,
  [ErrorCode.TCB_LEVEL_NOT_FOUND]: 403,
  [ErrorCode.TCB_STATUS_REJECTED]: 403,
  [ErrorCode.DEBUG_TD]: 403,
  [ErrorCode.IDENTITY_HOST_MISMATCH]: 403,
  [ErrorCode.TD_ATTRIBUTES_REFUSED]: 403,
  [ErrorCode.MEASUREMENT_MISMATCH]: 403,
  [ErrorCode.NO_ROOT_KEY]: 403,
  [ErrorCode.MINER_BLOCKED]: 403,
  [ErrorCode.MINER_NOT_ALLOWED]: 403,
  [ErrorCode.MEASUREMENT_SET_EXISTS]: 409,
  [ErrorCode.MEASUREMENT_SET_AMBIGUOUS]: 409,
  [ErrorCode.SERVER_NOT_FOUND]: 404,
  [ErrorCode.SERVER_EXISTS]: 409,
  [ErrorCode.SERVER_NAME_TAKEN]: 409,
  [ErrorCode.SERVER_NAME_AMBIGUOUS]: 409,
  [ErrorCode.KEY_GENERATION_NOT_FOUND]: 404,
  [ErrorCode.GPU_ALREADY_REGISTERED]: 409,
  [ErrorCode.GPU_MISMATCH]: 403,
  [ErrorCode.GPU_EVIDENCE_INVALID]: 403,
  [ErrorCode.GPU_VERIFIER_UNAVAILABLE]: 503,
  [ErrorCode.PRIVATE_HOST]: 400,
  [ErrorCode.HOST_UNRESOLVABLE]: 400,
  [ErrorCode.CALLER_NOT_SERVER]: 403,
  [ErrorCode.ATTESTATION_SERVICE_UNREACHABLE]: 502,
  [ErrorCode.ATTESTATION_SERVICE_INVALID]: 502,
  [ErrorCode.ATTESTATION_SERVICE_REFUSED]: 502,
  [ErrorCode.COLLATERAL_UNAVAILABLE]: 503,
  [ErrorCode.DATABASE_UNAVAILABLE]: 503,
  [ErrorCode.OVERLOADED]: 503,
  [ErrorCode.UPSTREAM_UNAVAILABLE]: 502,
  [ErrorCode.KEY_UNAVAILABLE]: 500,
  [ErrorCode.INTERNAL]: 500,
};

export function httpStatusOf(code: ErrorCode): number {
  return HTTP_STATUS_BY_CODE[code];
}
