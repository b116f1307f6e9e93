/**
 * The environment variables bootkey reads (DESIGN.md "Configuration"), each validated once at
 * start. Values arrive as strings; `app-config.ts` turns the validated strings into typed config.
 */
import { IsIn, IsOptional, Matches, MaxLength, MinLength } from 'class-validator';

const UINT = /^\d+$/;
const BOOL = /^(true|false|1|0|yes|no)$/i;

export class EnvSchema {
  @IsOptional()
  @Matches(/^\d{1,5}$/, { message: 'must be a port number 1..65535' })
  PORT?: string;

  @IsOptional()
  @MinLength(1)
  HOST?: string;

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  @IsOptional()
  @MinLength(1)
  DATA_DIR?: string;

  @IsOptional()
  @MinLength(1)
  TLS_CERT_FILE?: string;

  @IsOptional()
  @MinLength(1)
  TLS_KEY_FILE?: string;

  @IsOptional()
  TRUST_PROXY?: string;

  @IsOptional()
  @MinLength(1)
  MEASUREMENTS_FILE?: string;

  @IsOptional()
  @MinLength(1)
  LUKS_ROOT_PASSPHRASE_FILE?: string;

  @IsOptional()
  @MinLength(1)
  DCAP_ROOT_CA_FILE?: string;

  @IsOptional()
  @Matches(/^https?:\/\/[^\s,]+(,\s*https?:\/\/[^\s,]+)*$/, { message: 'must be one or more http(s) URLs separated by commas' })
  PCCS_URL?: string;

  @IsOptional()
  @MinLength(1)
  COLLATERAL_DIR?: string;

  @IsOptional()
  @Matches(/^[A-Za-z]+(\s*,\s*[A-Za-z]+)*$/, { message: 'must be a comma-separated list of TCB statuses' })
  ACCEPTED_TCB_STATUSES?: string;

  @IsOptional()
  @Matches(UINT, { message: 'must be a whole number of seconds' })
  NONCE_TTL_S?: string;

  @IsOptional()
  @Matches(UINT, { message: 'must be a whole number of seconds' })
  BOOT_TOKEN_TTL_S?: string;

  @IsOptional()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}(\s*,\s*[A-Za-z0-9][A-Za-z0-9_-]{0,62})*$/, { message: 'must be a comma-separated list of volume names' })
  LUKS_VOLUMES?: string;

  @IsOptional()
  ADMIN_HOTKEYS?: string;

  @IsOptional()
  @IsIn(['open', 'allowlist'], { message: 'must be open or allowlist' })
  MINER_POLICY?: string;

  @IsOptional()
  @Matches(UINT, { message: 'must be a whole number of seconds' })
  SIGNATURE_WINDOW_S?: string;

  @IsOptional()
  @Matches(/^\d{1,5}$/, { message: 'must be a port number 1..65535' })
  ATTESTATION_PORT?: string;

  @IsOptional()
  @Matches(BOOL, { message: 'must be true or false' })
  ALLOW_PRIVATE_HOSTS?: string;

  @IsOptional()
  @MinLength(1)
  GPU_EVIDENCE_VERIFIER?: string;

  @IsOptional()
  @IsIn(['verify', 'skip'], { message: 'must be verify or skip' })
  GPU_EVIDENCE?: string;

  @IsOptional()
  @Matches(UINT, { message: 'must be a whole number of seconds' })
  COLLATERAL_STALE_GRACE_S?: string;

  @IsOptional()
  @Matches(UINT, { message: 'must be a whole number (0 turns the limit off)' })
  RATE_LIMIT_ANON_PER_MIN?: string;

  @IsOptional()
  @Matches(UINT, { message: 'must be a whole number (0 turns the limit off)' })
  RATE_LIMIT_SIGNED_PER_MIN?: string;

  @IsOptional()
  @Matches(/^https?:\/\/[^\s/?#]+\/?$/i, { message: "must be the broker's public origin, e.g. https://keys.example.com (no path)" })
  SIGNATURE_AUDIENCE?: string;

  @IsOptional()
  @Matches(UINT, { message: 'must be a whole number of seconds' })
  COLLATERAL_NEGATIVE_TTL_S?: string;

  @IsOptional()
  @Matches(/^(0x)?[0-9a-fA-F]{1,16}$/, { message: 'must be a 64-bit hex mask such as 0x200000ff' })
  TD_ATTRIBUTES_REFUSED?: string;

  @IsOptional()
  @Matches(/^[0-9a-fA-F]{96}(\s*,\s*[0-9a-fA-F]{96})*$/, { message: 'must be a comma-separated list of 96-hex-digit MRSERVICETD values' })
  MRSERVICETD_ALLOWED?: string;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'must be one of fatal, error, warn, info, debug, trace, silent' })
  LOG_LEVEL?: string;

  @IsOptional()
  BROKER_KEKS?: string;

  @IsOptional()
  @MinLength(1)
  BROKER_KEK_FILE?: string;

  @IsOptional()
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'must be a KEK id (letters, digits, _ . -)' })
  BROKER_ACTIVE_KEK?: string;

  @IsOptional()
  @Matches(/^\d{1,4}$/, { message: 'must be a whole number of seconds 1..3600' })
  REQUEST_TIMEOUT_S?: string;

  @IsOptional()
  @Matches(/^\d{1,5}$/, { message: 'must be a whole number 0..65535 (0 turns the cap off)' })
  MAX_CONNECTIONS_PER_IP?: string;

  @IsOptional()
  @MinLength(1)
  VALIDATOR_KEY_FILE?: string;

  @IsOptional()
  @Matches(/^\d{1,4}$/, { message: 'must be a whole number of seconds 1..3600' })
  ATTESTATION_TIMEOUT_S?: string;

  @IsOptional()
  @Matches(/^\d{1,5}$/, { message: 'must be a whole number 0..65535 (0 turns load shedding off)' })
  MAX_INFLIGHT?: string;

  @IsOptional()
  @Matches(/^\d{1,5}$/, { message: 'must be a whole number of days 0..36500 (0 keeps audit rows forever)' })
  AUDIT_RETENTION_DAYS?: string;

  @IsOptional()
  @MaxLength(64)
  GEN_C_MIN_VERSION?: string;

  @IsOptional()
  @MaxLength(64)
  TEE_MINIMUM_BOOT_VERSION?: string;

  /** Read only to refuse test-only settings (DCAP_ROOT_CA_FILE) in production. */
  @IsOptional()
  NODE_ENV?: string;

  @IsOptional()
  @Matches(/^\d{1,4}$/, { message: 'must be a whole number of days, 1..3650' })
  KEY_RETENTION_DAYS?: string;

  @IsOptional()
  @IsIn(['registered-host', 'off'], { message: 'must be registered-host or off' })
  BOOT_IDENTITY_PINNING?: string;
}

/** Variables whose values may hold credentials or keys: never echoed in a config error. */
export const SECRET_ENV_KEYS: ReadonlySet<string> = new Set(['DATABASE_URL', 'BROKER_KEKS']);
