/**
 * Typed configuration, built once from the environment. Nothing else in the service reads
 * process.env: modules receive `AppConfig` through injection.
 */
import { BlockList, isIP } from 'node:net';
import * as path from 'node:path';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';
import { isSs58Address } from '../common/validation/ss58';
import { isOrderedVersion } from '../common/validation/version-order';
import { childProcessEnv } from './child-env';
import { EnvSchema, SECRET_ENV_KEYS } from './env.schema';
import { KNOWN_TCB_STATUSES } from './tcb-statuses';

export interface AppConfig {
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  tls?: { certFile: string; keyFile: string };
  /** Peers whose X-Forwarded-For and X-Client-Cert are believed; empty = none. */
  trustProxy: string[];
  measurementsFile?: string;
  luksRootPassphraseFile?: string;
  dcapRootCaFile?: string;
  pccsUrls: string[];
  collateralDir?: string;
  acceptedTcbStatuses: string[];
  nonceTtlSeconds: number;
  bootTokenTtlSeconds: number;
  luksVolumes: string[];
  adminHotkeys: string[];
  minerPolicy: 'open' | 'allowlist';
  signatureWindowSeconds: number;
  attestationPort: number;
  allowPrivateHosts: boolean;
  gpuEvidenceVerifier?: string;
  gpuEvidence: 'verify' | 'skip';
  collateralStaleGraceSeconds: number;
  /** How long a failed collateral lookup per (FMSPC, CA) is remembered (COLLATERAL_NEGATIVE_TTL_S). */
  collateralNegativeTtlSeconds: number;
  /** TDATTRIBUTES bits (64-bit little-endian value) that refuse a TD (TD_ATTRIBUTES_REFUSED). */
  tdAttributesRefused: bigint;
  /** Non-zero MRSERVICETD values accepted (lowercase hex, MRSERVICETD_ALLOWED). */
  mrServiceTdAllowed: string[];
  rateLimitAnonPerMin: number;
  /** Per-hotkey limit of signed requests per minute; 0 = off. */
  rateLimitSignedPerMin: number;
  /** The origin v2 signatures must name (`https://keys.example.com`); unset = not configured. */
  signatureAudience?: string;
  logLevel: string;
  brokerKeks?: string;
  brokerKekFile?: string;
  brokerActiveKek?: string;
  /** Whole request (headers and body) must arrive within this; headers within min(10 s, this). */
  requestTimeoutSeconds: number;
  /** Concurrent connections per client IP (TRUST_PROXY peers exempt); 0 = no cap. */
  maxConnectionsPerIp: number;
  /** How long superseded and retired volume key generations are kept before the purge shreds them. */
  keyRetentionDays: number;
  /** `registered-host`: a boot claiming a registered server's vm_name must come from that server's host. */
  bootIdentityPinning: 'registered-host' | 'off';
  /** The broker's validator key (hex sr25519 seed or Bittensor hotkey JSON), signing registration evidence fetches. */
  validatorKeyFile?: string;
  /** Bound of a whole registration evidence fetch (the VM makes its quote and GPU evidence per request). */
  attestationTimeoutSeconds: number;
  /** The environment GPU_EVIDENCE_VERIFIER runs with: an allowlist of this process's (child-env.ts). */
  verifierEnv: Record<string, string>;
  /** Requests in flight at once before 503 OVERLOADED (health, readiness, metrics exempt); 0 = no limit. */
  maxInflight: number;
  /** Audit rows (attestation attempts, key-release events) older than this are purged; 0 = kept forever. */
  auditRetentionDays: number;
  /** Measurement sets whose version is at least this speak gen C: signed boots, rotated root keys, vm_auth. */
  genCMinVersion: string;
  /** Boots matching a set below this version are refused (VERSION_TOO_OLD); undefined = no floor. */
  teeMinimumBootVersion?: string;
}

/**
 * MAX_INFLIGHT's default, sized for a 2-core broker: a boot request holds its slot for a few
 * database round trips, and past ~64 concurrent requests throughput no longer rises while
 * latency and memory do (measured with `npm run bench:storm`, README "Boot storms").
 */
export const DEFAULT_MAX_INFLIGHT = 64;

/** A configuration problem; its message is the one line printed before the process exits. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function bool(value: string | undefined): boolean {
  return /^(true|1|yes)$/i.test(value ?? '');
}

function fail(variable: string, problem: string, value?: string): never {
  const shown = value !== undefined && !SECRET_ENV_KEYS.has(variable) ? ` (got "${value}")` : '';
  throw new ConfigError(`invalid configuration: ${variable} ${problem}${shown}`);
}

function port(variable: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(variable, 'must be a port number 1..65535', value);
  return n;
}

function uint(value: string | undefined, fallback: number): number {
  return value === undefined || value === '' ? fallback : Number(value);
}

/** Checks TRUST_PROXY entries: IP addresses or CIDR blocks (IPv4 or IPv6). */
function parseTrustProxy(value: string | undefined): string[] {
  const entries = list(value);
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !bitsOk || extra !== undefined) {
      fail('TRUST_PROXY', 'must be a comma-separated list of IP addresses or CIDR blocks', entry);
    }
  }
  return entries;
}

/** SIGNATURE_AUDIENCE as an origin, spelled as `new URL(...).origin` spells it (the CLI's side). */
function signatureAudience(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail('SIGNATURE_AUDIENCE', "must be the broker's public origin, e.g. https://keys.example.com (no path)", value);
  }
  if (url.username || url.password) fail('SIGNATURE_AUDIENCE', 'must not carry credentials');
  return url.origin;
}

/**
 * Validates `env` and returns the typed config, or throws ConfigError naming the first bad
 * variable and what is wrong with it.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const raw: Record<string, string> = {};
  const known = new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(EnvSchema, '', true, false)
      .map((meta) => meta.propertyName),
  );
  for (const key of known) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const schema = plainToInstance(EnvSchema, raw);
  const errors = validateSync(schema, { forbidUnknownValues: false });
  if (errors.length > 0) {
    const first = errors[0];
    const problem = Object.values(first.constraints ?? {})[0] ?? 'is invalid';
    fail(first.property, problem.replace(new RegExp(`^${first.property}\\s+`), ''), raw[first.property]);
  }

  if (Boolean(raw.TLS_CERT_FILE) !== Boolean(raw.TLS_KEY_FILE)) {
    fail(raw.TLS_CERT_FILE ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE', 'must be set together with the other TLS file variable');
  }
  const acceptedTcbStatuses = list(raw.ACCEPTED_TCB_STATUSES ?? 'UpToDate');
  for (const status of acceptedTcbStatuses) {
    if (!KNOWN_TCB_STATUSES.includes(status)) fail('ACCEPTED_TCB_STATUSES', `has an unknown status; known: ${KNOWN_TCB_STATUSES.join(', ')}`, status);
  }
  const adminHotkeys = list(raw.ADMIN_HOTKEYS);
  for (const hotkey of adminHotkeys) if (!isSs58Address(hotkey)) fail('ADMIN_HOTKEYS', 'must be a comma-separated list of ss58 addresses', hotkey);
  const tdAttributesRefused = BigInt(`0x${(raw.TD_ATTRIBUTES_REFUSED ?? '0x200000ff').replace(/^0x/i, '')}`);
  // A debug TD's memory is readable by the host: no configuration lets one have keys.
  if ((tdAttributesRefused & 1n) === 0n) fail('TD_ATTRIBUTES_REFUSED', 'must include the DEBUG bit (0x1)', raw.TD_ATTRIBUTES_REFUSED);
  const luksVolumes = list(raw.LUKS_VOLUMES ?? 'storage,tdx-cache');
  if (luksVolumes.length === 0) fail('LUKS_VOLUMES', 'must name at least one volume');
  const requestTimeoutSeconds = uint(raw.REQUEST_TIMEOUT_S, 30);
  if (requestTimeoutSeconds < 1 || requestTimeoutSeconds > 3600) fail('REQUEST_TIMEOUT_S', 'must be a whole number of seconds 1..3600', raw.REQUEST_TIMEOUT_S);
  const maxConnectionsPerIp = uint(raw.MAX_CONNECTIONS_PER_IP, 64);
  if (maxConnectionsPerIp > 65535) fail('MAX_CONNECTIONS_PER_IP', 'must be a whole number 0..65535 (0 turns the cap off)', raw.MAX_CONNECTIONS_PER_IP);
  const attestationTimeoutSeconds = uint(raw.ATTESTATION_TIMEOUT_S, 120);
  if (attestationTimeoutSeconds < 1 || attestationTimeoutSeconds > 3600)
    fail('ATTESTATION_TIMEOUT_S', 'must be a whole number of seconds 1..3600', raw.ATTESTATION_TIMEOUT_S);
  const maxInflight = uint(raw.MAX_INFLIGHT, DEFAULT_MAX_INFLIGHT);
  if (maxInflight > 65535) fail('MAX_INFLIGHT', 'must be a whole number 0..65535 (0 turns load shedding off)', raw.MAX_INFLIGHT);
  const auditRetentionDays = uint(raw.AUDIT_RETENTION_DAYS, 400);
  if (auditRetentionDays > 36500)
    fail('AUDIT_RETENTION_DAYS', 'must be a whole number of days 0..36500 (0 keeps audit rows forever)', raw.AUDIT_RETENTION_DAYS);
  if (raw.DCAP_ROOT_CA_FILE && raw.NODE_ENV === 'production') {
    fail('DCAP_ROOT_CA_FILE', 'replaces the pinned Intel SGX Root CA (tests only) and is refused when NODE_ENV=production', raw.DCAP_ROOT_CA_FILE);
  }
  const genCMinVersion = (raw.GEN_C_MIN_VERSION ?? '1.4.0').trim();
  if (!isOrderedVersion(genCMinVersion)) fail('GEN_C_MIN_VERSION', 'must be a version starting with a number, e.g. 1.4.0', raw.GEN_C_MIN_VERSION);
  const teeMinimumBootVersion = raw.TEE_MINIMUM_BOOT_VERSION?.trim() || undefined;
  if (teeMinimumBootVersion !== undefined && !isOrderedVersion(teeMinimumBootVersion))
    fail('TEE_MINIMUM_BOOT_VERSION', 'must be a version starting with a number, e.g. 1.3.0 (unset: no floor)', raw.TEE_MINIMUM_BOOT_VERSION);
  const keyRetentionDays = uint(raw.KEY_RETENTION_DAYS, 30);
  if (keyRetentionDays < 1 || keyRetentionDays > 3650) fail('KEY_RETENTION_DAYS', 'must be a whole number of days, 1..3650', raw.KEY_RETENTION_DAYS);

  return {
    port: port('PORT', raw.PORT, 8080),
    host: raw.HOST ?? '0.0.0.0',
    databaseUrl: raw.DATABASE_URL,
    dataDir: path.resolve(raw.DATA_DIR ?? './data'),
    tls: raw.TLS_CERT_FILE && raw.TLS_KEY_FILE ? { certFile: raw.TLS_CERT_FILE, keyFile: raw.TLS_KEY_FILE } : undefined,
    trustProxy: parseTrustProxy(raw.TRUST_PROXY),
    measurementsFile: raw.MEASUREMENTS_FILE,
    luksRootPassphraseFile: raw.LUKS_ROOT_PASSPHRASE_FILE,
    dcapRootCaFile: raw.DCAP_ROOT_CA_FILE,
    pccsUrls: list(raw.PCCS_URL),
    collateralDir: raw.COLLATERAL_DIR,
    acceptedTcbStatuses,
    nonceTtlSeconds: uint(raw.NONCE_TTL_S, 600),
    bootTokenTtlSeconds: uint(raw.BOOT_TOKEN_TTL_S, 600),
    luksVolumes,
    adminHotkeys,
    minerPolicy: (raw.MINER_POLICY ?? 'open') as AppConfig['minerPolicy'],
    signatureWindowSeconds: uint(raw.SIGNATURE_WINDOW_S, 600),
    attestationPort: port('ATTESTATION_PORT', raw.ATTESTATION_PORT, 30443),
    allowPrivateHosts: bool(raw.ALLOW_PRIVATE_HOSTS),
    gpuEvidenceVerifier: raw.GPU_EVIDENCE_VERIFIER,
    gpuEvidence: (raw.GPU_EVIDENCE ?? 'verify') as AppConfig['gpuEvidence'],
    collateralStaleGraceSeconds: uint(raw.COLLATERAL_STALE_GRACE_S, 86400),
    collateralNegativeTtlSeconds: uint(raw.COLLATERAL_NEGATIVE_TTL_S, 300),
    tdAttributesRefused,
    mrServiceTdAllowed: list(raw.MRSERVICETD_ALLOWED).map((value) => value.toLowerCase()),
    rateLimitAnonPerMin: uint(raw.RATE_LIMIT_ANON_PER_MIN, 60),
    rateLimitSignedPerMin: uint(raw.RATE_LIMIT_SIGNED_PER_MIN, 120),
    signatureAudience: signatureAudience(raw.SIGNATURE_AUDIENCE),
    logLevel: raw.LOG_LEVEL ?? 'info',
    brokerKeks: raw.BROKER_KEKS,
    brokerKekFile: raw.BROKER_KEK_FILE,
    brokerActiveKek: raw.BROKER_ACTIVE_KEK,
    requestTimeoutSeconds,
    maxConnectionsPerIp,
    keyRetentionDays,
    bootIdentityPinning: (raw.BOOT_IDENTITY_PINNING ?? 'registered-host') as AppConfig['bootIdentityPinning'],
    validatorKeyFile: raw.VALIDATOR_KEY_FILE,
    attestationTimeoutSeconds,
    verifierEnv: childProcessEnv(env),
    maxInflight,
    auditRetentionDays,
    genCMinVersion,
    teeMinimumBootVersion,
  };
}

/** A BlockList of the trusted proxy peers, for fast membership checks per request. */
export function trustedProxyList(entries: string[]): BlockList {
  const blockList = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) blockList.addAddress(address, type);
    else blockList.addSubnet(address, Number(bits), type);
  }
  return blockList;
}
