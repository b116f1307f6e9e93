/**
 * Stable machine words carried in every error body's `code`. Clients (the initramfs helper, the
 * CLI) branch on these. Which HTTP status each becomes is the HTTP edge's business
 * (common/http/http-status-by-code.ts), so the pure core never depends on HTTP.
 */
export enum ErrorCode {
  // request shape
  VALIDATION_FAILED = 'VALIDATION_FAILED',
  BODY_TOO_LARGE = 'BODY_TOO_LARGE',
  NOT_FOUND = 'NOT_FOUND',
  RATE_LIMITED = 'RATE_LIMITED',
  // nonces, tokens, client binding
  NONCE_INVALID = 'NONCE_INVALID',
  BOOT_TOKEN_INVALID = 'BOOT_TOKEN_INVALID',
  // gen C: the boot answer's luks_quote_nonce (X-Quote-Nonce) and the confirm nonces (X-Confirm-Nonce)
  QUOTE_NONCE_INVALID = 'QUOTE_NONCE_INVALID',
  CONFIRM_NONCE_INVALID = 'CONFIRM_NONCE_INVALID',
  CLIENT_CERT_REQUIRED = 'CLIENT_CERT_REQUIRED',
  REPORT_DATA_MISMATCH = 'REPORT_DATA_MISMATCH',
  // hotkey-signed requests (src/auth)
  SIGNATURE_MISSING = 'SIGNATURE_MISSING',
  SIGNATURE_INVALID = 'SIGNATURE_INVALID',
  SIGNATURE_EXPIRED = 'SIGNATURE_EXPIRED',
  SIGNATURE_REPLAYED = 'SIGNATURE_REPLAYED',
  // a valid signature used where its format or first use does not allow (v1 on admin, v1 with another method)
  SIGNATURE_SCOPE = 'SIGNATURE_SCOPE',
  NOT_ADMIN = 'NOT_ADMIN',
  // quote structure
  QUOTE_MALFORMED = 'QUOTE_MALFORMED',
  QUOTE_UNSUPPORTED = 'QUOTE_UNSUPPORTED',
  // DCAP verification
  QUOTE_SIGNATURE_INVALID = 'QUOTE_SIGNATURE_INVALID',
  QE_REPORT_INVALID = 'QE_REPORT_INVALID',
  PCK_CHAIN_INVALID = 'PCK_CHAIN_INVALID',
  CERT_REVOKED = 'CERT_REVOKED',
  COLLATERAL_INVALID = 'COLLATERAL_INVALID',
  COLLATERAL_EXPIRED = 'COLLATERAL_EXPIRED',
  QE_IDENTITY_MISMATCH = 'QE_IDENTITY_MISMATCH',
  TCB_LEVEL_NOT_FOUND = 'TCB_LEVEL_NOT_FOUND',
  // policy
  TCB_STATUS_REJECTED = 'TCB_STATUS_REJECTED',
  DEBUG_TD = 'DEBUG_TD',
  TD_ATTRIBUTES_REFUSED = 'TD_ATTRIBUTES_REFUSED',
  MEASUREMENT_MISMATCH = 'MEASUREMENT_MISMATCH',
  NO_ROOT_KEY = 'NO_ROOT_KEY',
  // the matched set's version is below TEE_MINIMUM_BOOT_VERSION
  VERSION_TOO_OLD = 'VERSION_TOO_OLD',
  MINER_BLOCKED = 'MINER_BLOCKED',
  MINER_NOT_ALLOWED = 'MINER_NOT_ALLOWED',
  // boot identity: a registered VM name boots only from its server's host address
  IDENTITY_HOST_MISMATCH = 'IDENTITY_HOST_MISMATCH',
  // server registry
  SERVER_NOT_FOUND = 'SERVER_NOT_FOUND',
  SERVER_EXISTS = 'SERVER_EXISTS',
  SERVER_NAME_TAKEN = 'SERVER_NAME_TAKEN',
  GPU_ALREADY_REGISTERED = 'GPU_ALREADY_REGISTERED',
  GPU_MISMATCH = 'GPU_MISMATCH',
  GPU_EVIDENCE_INVALID = 'GPU_EVIDENCE_INVALID',
  GPU_VERIFIER_UNAVAILABLE = 'GPU_VERIFIER_UNAVAILABLE',
  PRIVATE_HOST = 'PRIVATE_HOST',
  HOST_UNRESOLVABLE = 'HOST_UNRESOLVABLE',
  CALLER_NOT_SERVER = 'CALLER_NOT_SERVER',
  ATTESTATION_SERVICE_UNREACHABLE = 'ATTESTATION_SERVICE_UNREACHABLE',
  ATTESTATION_SERVICE_INVALID = 'ATTESTATION_SERVICE_INVALID',
  SERVER_NAME_AMBIGUOUS = 'SERVER_NAME_AMBIGUOUS',
  // volume key generations
  KEY_GENERATION_NOT_FOUND = 'KEY_GENERATION_NOT_FOUND',
  // the VM's attestation proxy refused the broker's validator signature (or its absence)
  ATTESTATION_SERVICE_REFUSED = 'ATTESTATION_SERVICE_REFUSED',
  // the attestation proxy's TLS leaf is not issued by the root CA the VM recorded at /provision
  VM_ROOT_CA_MISMATCH = 'VM_ROOT_CA_MISMATCH',
  // admin: measurement sets are immutable per version
  MEASUREMENT_SET_EXISTS = 'MEASUREMENT_SET_EXISTS',
  // a version names several sets (one per GPU flavour): `?name=` picks one
  MEASUREMENT_SET_AMBIGUOUS = 'MEASUREMENT_SET_AMBIGUOUS',
  // availability
  COLLATERAL_UNAVAILABLE = 'COLLATERAL_UNAVAILABLE',
  DATABASE_UNAVAILABLE = 'DATABASE_UNAVAILABLE',
  // more requests in flight than MAX_INFLIGHT: refused before any work, with Retry-After
  OVERLOADED = 'OVERLOADED',
  // answered by the reference front (deploy/nginx) when no replica answers (502, 504); never by the broker
  UPSTREAM_UNAVAILABLE = 'UPSTREAM_UNAVAILABLE',
  // a stored secret cannot be opened: its KEK is not configured, or the bytes or their row changed
  KEY_UNAVAILABLE = 'KEY_UNAVAILABLE',
  INTERNAL = 'INTERNAL',
}
