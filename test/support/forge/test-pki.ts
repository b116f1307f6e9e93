/**
 * A test PKI shaped like Intel's SGX/TDX PKI: a self-signed root CA, a PCK platform (or processor)
 * CA, a PCK leaf certificate carrying the SGX extension (PPID, TCB, PCE-ID, FMSPC, SGX type, ...)
 * with the same ASN.1 structure as a real PCK certificate, a TCB signing certificate for TCB info
 * and QE identity, and CRLs. Keys are P-256; certificates and CRLs are made by @peculiar/x509.
 *
 * Generation takes milliseconds and is cached per process per option set. With a `seed`, keys,
 * serial numbers and platform identifiers are derived from it (signatures stay randomised, as
 * ECDSA in node is not deterministic).
 */
// @peculiar/x509 (through tsyringe) needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { createHash, createPrivateKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { derBoolean, derEnumerated, derInteger, derOctetString, derOid, derSequence } from './der';
import { generateP256Key, p256KeyFromSeed, toWebCryptoKeyPair } from './ecdsa';
import { DEFAULT_FMSPC, DEFAULT_PCE_ID, DEFAULT_PCESVN, DEFAULT_SGX_TCB_COMPONENTS } from './forge-defaults';

// @peculiar/x509 defaults to the global WebCrypto; pin node's so jest environments agree.
x509.cryptoProvider.set(webcrypto);

/** Intel SGX extension OIDs (Intel SGX PCK Certificate and CRL Profile). */
export const SGX_OID = {
  EXTENSION: '1.2.840.113741.1.13.1',
  PPID: '1.2.840.113741.1.13.1.1',
  TCB: '1.2.840.113741.1.13.1.2',
  /** TCB sub-items: sgxtcbcomp01svn .. sgxtcbcomp16svn are .2.1 .. .2.16. */
  TCB_COMPONENT_PREFIX: '1.2.840.113741.1.13.1.2.',
  PCESVN: '1.2.840.113741.1.13.1.2.17',
  CPUSVN: '1.2.840.113741.1.13.1.2.18',
  PCE_ID: '1.2.840.113741.1.13.1.3',
  FMSPC: '1.2.840.113741.1.13.1.4',
  SGX_TYPE: '1.2.840.113741.1.13.1.5',
  PLATFORM_INSTANCE_ID: '1.2.840.113741.1.13.1.6',
  CONFIGURATION: '1.2.840.113741.1.13.1.7',
  DYNAMIC_PLATFORM: '1.2.840.113741.1.13.1.7.1',
  CACHED_KEYS: '1.2.840.113741.1.13.1.7.2',
  SMT_ENABLED: '1.2.840.113741.1.13.1.7.3',
} as const;

const OID_CRL_NUMBER = '2.5.29.20';
const SGX_TYPE_STANDARD = 0;
const SGX_TYPE_SCALABLE = 1;
const SGX_TCB_COMPONENT_COUNT = 16;
const SERIAL_NUMBER_SIZE = 20;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const NAME_SUFFIX = 'O=bootkey test PKI, L=Santa Clara, ST=CA, C=US';
const TEST_PCS_BASE = 'https://pcs.bootkey.test.invalid/sgx/certification/v4';

export type PkiRole = 'root' | 'pckCa' | 'pckLeaf' | 'tcbSigning';
/** Intel issues PCK certificates from a "Platform" CA (multi-package) or a "Processor" CA. */
export type PckCaKind = 'platform' | 'processor';

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** What a PCK certificate certifies about the platform (the SGX extension's contents). */
export interface PckPlatform {
  ppid: Buffer;
  sgxTcbComponents: number[];
  pcesvn: number;
  pceId: Buffer;
  fmspc: Buffer;
  sgxType: number;
  /** Present for platform-CA (multi-package) certificates only, as in Intel's. */
  platformInstanceId?: Buffer;
  configuration?: { dynamicPlatform: boolean; cachedKeys: boolean; smtEnabled: boolean };
}

export interface PkiEntity {
  role: PkiRole;
  key: KeyObject;
  cert: x509.X509Certificate;
  der: Buffer;
  pem: string;
  /** Lowercase hex, as in CRL entries. */
  serial: string;
}

export interface TestPki {
  root: PkiEntity;
  pckCa: PkiEntity;
  pckLeaf: PkiEntity;
  tcbSigning: PkiEntity;
  pckCaKind: PckCaKind;
  platform: PckPlatform;
  /** PCK leaf, PCK CA, root: what the quote's certification data type 5 carries. */
  pckCertChainPem: string;
  /** PCK CA, root: the collateral's pck_crl_issuer_chain. */
  pckCrlIssuerChainPem: string;
  /** TCB signing, root: the collateral's tcb_info_issuer_chain and qe_identity_issuer_chain. */
  tcbIssuerChainPem: string;
}

export interface TestPkiOptions {
  /** Derive keys, serials, PPID and platform instance id from this string (reproducible PKI). */
  seed?: string;
  /** Fixed keys per role; they take precedence over `seed`. Disables the per-process cache. */
  keys?: Partial<Record<PkiRole, KeyObject>>;
  /** Validity of every certificate (default 2020-01-01 .. 2049-12-31). */
  validity?: Validity;
  /** Validity of the PCK leaf only, e.g. to forge an expired PCK certificate. */
  pckLeafValidity?: Validity;
  pckCaKind?: PckCaKind;
  /** FMSPC, 6 bytes hex (default DEFAULT_FMSPC). */
  fmspc?: string;
  /** PCE id, 2 bytes hex (default 0000). */
  pceId?: string;
  sgxTcbComponents?: number[];
  pcesvn?: number;
  /** PPID, 16 bytes hex. */
  ppid?: string;
  /** PCK leaf serial number, hex (at most 20 bytes). */
  pckLeafSerial?: string;
  /** Reuse this process's PKI for equal options (default true); false always generates anew. */
  cache?: boolean;
}

const DEFAULT_VALIDITY: Validity = {
  notBefore: new Date('2020-01-01T00:00:00Z'),
  notAfter: new Date('2049-12-31T23:59:59Z'),
};

const pkiCache = new Map<string, Promise<TestPki>>();

/** Creates (or returns this process's cached) test PKI for these options. */
export function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  if (options.keys || options.cache === false) return generateTestPki(options);
  const cacheKey = JSON.stringify(options);
  let pki = pkiCache.get(cacheKey);
  if (!pki) {
    pki = generateTestPki(options);
    pkiCache.set(cacheKey, pki);
    // A failed generation must not poison the cache for later callers.
    pki.catch(() => pkiCache.delete(cacheKey));
  }
  return pki;
}

async function generateTestPki(options: TestPkiOptions): Promise<TestPki> {
  const derive = makeDeriver(options.seed);
  const keyFor = (role: PkiRole): KeyObject =>
    options.keys?.[role] ?? (options.seed !== undefined ? p256KeyFromSeed(`${options.seed}|${role}`) : generateP256Key());
  const validity = options.validity ?? DEFAULT_VALIDITY;
  const pckCaKind = options.pckCaKind ?? 'platform';
  const platform = buildPlatform(options, pckCaKind, derive);
  const names = entityNames(pckCaKind);

  const rootKey = keyFor('root');
  const root = await issueCertificate({
    role: 'root',
    key: rootKey,
    subject: names.root,
    issuer: null,
    validity,
    serial: derive('root-serial', SERIAL_NUMBER_SIZE),
    ca: { pathLength: 1 },
    crlUrl: `${TEST_PCS_BASE}/rootcacrl`,
  });
  const pckCa = await issueCertificate({
    role: 'pckCa',
    key: keyFor('pckCa'),
    subject: names.pckCa,
    issuer: root,
    validity,
    serial: derive('pck-ca-serial', SERIAL_NUMBER_SIZE),
    ca: { pathLength: 0 },
    crlUrl: `${TEST_PCS_BASE}/rootcacrl`,
  });
  const pckLeaf = await issueCertificate({
    role: 'pckLeaf',
    key: keyFor('pckLeaf'),
    subject: names.pckLeaf,
    issuer: pckCa,
    validity: options.pckLeafValidity ?? validity,
    serial: options.pckLeafSerial ?? derive('pck-leaf-serial', SERIAL_NUMBER_SIZE),
    crlUrl: `${TEST_PCS_BASE}/pckcrl?ca=${pckCaKind}&encoding=der`,
    extraExtensions: [new x509.Extension(SGX_OID.EXTENSION, false, encodeSgxExtension(platform))],
  });
  const tcbSigning = await issueCertificate({
    role: 'tcbSigning',
    key: keyFor('tcbSigning'),
    subject: names.tcbSigning,
    issuer: root,
    validity,
    serial: derive('tcb-signing-serial', SERIAL_NUMBER_SIZE),
    crlUrl: `${TEST_PCS_BASE}/rootcacrl`,
  });
  return assemblePki({ root, pckCa, pckLeaf, tcbSigning }, pckCaKind, platform);
}

function assemblePki(entities: Record<PkiRole, PkiEntity>, pckCaKind: PckCaKind, platform: PckPlatform): TestPki {
  const { root, pckCa, pckLeaf, tcbSigning } = entities;
  return {
    root,
    pckCa,
    pckLeaf,
    tcbSigning,
    pckCaKind,
    platform,
    pckCertChainPem: pemChain([pckLeaf, pckCa, root]),
    pckCrlIssuerChainPem: pemChain([pckCa, root]),
    tcbIssuerChainPem: pemChain([tcbSigning, root]),
  };
}

/**
 * Common names exactly as Intel's (verifiers decide a certificate's role by them, as Intel's QVL
 * does); the organisation says "bootkey test PKI", so no forged certificate passes for Intel's.
 */
function entityNames(pckCaKind: PckCaKind): Record<PkiRole, string> {
  const caWord = pckCaKind === 'platform' ? 'Platform' : 'Processor';
  return {
    root: `CN=Intel SGX Root CA, ${NAME_SUFFIX}`,
    pckCa: `CN=Intel SGX PCK ${caWord} CA, ${NAME_SUFFIX}`,
    pckLeaf: `CN=Intel SGX PCK Certificate, ${NAME_SUFFIX}`,
    tcbSigning: `CN=Intel SGX TCB Signing, ${NAME_SUFFIX}`,
  };
}

export interface ExtraCertificateOptions {
  /** Who signs it: the PKI's root, its PCK CA, or another (extra) CA. */
  issuer: 'root' | 'pckCa' | PkiEntity;
  /** Subject common name (the rest of the name is the test PKI's). */
  commonName: string;
  /** A CA certificate (keyCertSign, cRLSign) instead of an end-entity one. */
  ca?: boolean;
  /** Add the PKI's SGX (PCK) extension, as a PCK certificate carries it. */
  sgxExtension?: boolean;
  /** Platform values of that extension other than the PKI's, e.g. another FMSPC (hex). */
  platform?: { fmspc?: string };
  /** End-entity key usages; default digitalSignature | nonRepudiation, as Intel's. */
  keyUsage?: 'digitalSignature' | 'keyAgreementOnly';
  key?: KeyObject;
}

/**
 * A certificate beyond the PKI's four, for negative tests of role rules: e.g. a "TCB signing"
 * certificate issued by the PCK CA, or one under the root that carries the SGX extension.
 */
export async function issueExtraCertificate(pki: TestPki, options: ExtraCertificateOptions): Promise<PkiEntity> {
  const issuer = options.issuer === 'root' ? pki.root : options.issuer === 'pckCa' ? pki.pckCa : options.issuer;
  const usages = options.keyUsage === 'keyAgreementOnly' ? x509.KeyUsageFlags.keyAgreement : undefined;
  return issueCertificate({
    role: 'tcbSigning',
    key: options.key ?? generateP256Key(),
    subject: `CN=${options.commonName}, ${NAME_SUFFIX}`,
    issuer,
    validity: { notBefore: issuer.cert.notBefore, notAfter: issuer.cert.notAfter },
    serial: randomBytes(SERIAL_NUMBER_SIZE).toString('hex').replace(/^./, '1'),
    ca: options.ca ? { pathLength: 0 } : undefined,
    crlUrl: `${TEST_PCS_BASE}/rootcacrl`,
    usages,
    extraExtensions: options.sgxExtension
      ? [
          new x509.Extension(
            SGX_OID.EXTENSION,
            false,
            encodeSgxExtension({ ...pki.platform, ...(options.platform?.fmspc ? { fmspc: hexBytes('fmspc', options.platform.fmspc, 6) } : {}) }),
          ),
        ]
      : [],
  });
}

/** Returns a function giving `size` bytes of hex: seed-derived if a seed is set, else random. */
function makeDeriver(seed: string | undefined): (label: string, size: number) => string {
  return (label, size) => {
    const bytes = seed === undefined ? randomBytes(size) : createHash('sha256').update(`bootkey-forge|${seed}|${label}`).digest().subarray(0, size);
    // Serial numbers must be positive and of fixed length: clear the top bit, avoid a zero byte.
    bytes[0] = bytes[0] & 0x7f || 0x01;
    return bytes.toString('hex');
  };
}

function buildPlatform(options: TestPkiOptions, pckCaKind: PckCaKind, derive: (label: string, size: number) => string): PckPlatform {
  const sgxTcbComponents = [...(options.sgxTcbComponents ?? DEFAULT_SGX_TCB_COMPONENTS)];
  if (sgxTcbComponents.length !== SGX_TCB_COMPONENT_COUNT) {
    throw new Error(`test PKI: sgxTcbComponents must have ${SGX_TCB_COMPONENT_COUNT} entries`);
  }
  const isPlatformCa = pckCaKind === 'platform';
  return {
    ppid: hexBytes('ppid', options.ppid ?? derive('ppid', 16), 16),
    sgxTcbComponents,
    pcesvn: options.pcesvn ?? DEFAULT_PCESVN,
    pceId: hexBytes('pceId', options.pceId ?? DEFAULT_PCE_ID, 2),
    fmspc: hexBytes('fmspc', options.fmspc ?? DEFAULT_FMSPC, 6),
    sgxType: isPlatformCa ? SGX_TYPE_SCALABLE : SGX_TYPE_STANDARD,
    platformInstanceId: isPlatformCa ? Buffer.from(derive('platform-instance-id', 16), 'hex') : undefined,
    configuration: isPlatformCa ? { dynamicPlatform: true, cachedKeys: true, smtEnabled: true } : undefined,
  };
}

/**
 * The SGX extension value: SEQUENCE of SEQUENCE { OID, value }, in the order and with the
 * types of a real PCK certificate (TCB components as INTEGER, CPUSVN as 16-byte OCTET STRING,
 * SGX type as ENUMERATED, configuration flags as BOOLEAN).
 */
export function encodeSgxExtension(platform: PckPlatform): Buffer {
  const pair = (oid: string, value: Buffer): Buffer => derSequence([derOid(oid), value]);
  const tcbItems = [
    ...platform.sgxTcbComponents.map((svn, i) => pair(`${SGX_OID.TCB_COMPONENT_PREFIX}${i + 1}`, derInteger(svn))),
    pair(SGX_OID.PCESVN, derInteger(platform.pcesvn)),
    pair(SGX_OID.CPUSVN, derOctetString(Buffer.from(platform.sgxTcbComponents))),
  ];
  const items = [
    pair(SGX_OID.PPID, derOctetString(platform.ppid)),
    pair(SGX_OID.TCB, derSequence(tcbItems)),
    pair(SGX_OID.PCE_ID, derOctetString(platform.pceId)),
    pair(SGX_OID.FMSPC, derOctetString(platform.fmspc)),
    pair(SGX_OID.SGX_TYPE, derEnumerated(platform.sgxType)),
  ];
  if (platform.platformInstanceId) {
    items.push(pair(SGX_OID.PLATFORM_INSTANCE_ID, derOctetString(platform.platformInstanceId)));
  }
  if (platform.configuration) {
    const { dynamicPlatform, cachedKeys, smtEnabled } = platform.configuration;
    items.push(
      pair(
        SGX_OID.CONFIGURATION,
        derSequence([
          pair(SGX_OID.DYNAMIC_PLATFORM, derBoolean(dynamicPlatform)),
          pair(SGX_OID.CACHED_KEYS, derBoolean(cachedKeys)),
          pair(SGX_OID.SMT_ENABLED, derBoolean(smtEnabled)),
        ]),
      ),
    );
  }
  return derSequence(items);
}

interface IssueParams {
  role: PkiRole;
  key: KeyObject;
  subject: string;
  /** null: self-signed. */
  issuer: PkiEntity | null;
  validity: Validity;
  serial: string;
  /** Present for CA certificates. */
  ca?: { pathLength: number };
  crlUrl: string;
  /** End-entity key usage override. */
  usages?: number;
  extraExtensions?: x509.Extension[];
}

async function issueCertificate(params: IssueParams): Promise<PkiEntity> {
  const keys = await toWebCryptoKeyPair(params.key);
  const issuerKeys = params.issuer ? await toWebCryptoKeyPair(params.issuer.key) : keys;
  const usages = params.ca
    ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
    : (params.usages ?? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation);
  // Same extensions, order and criticality as Intel's certificates.
  const extensions = [
    await x509.AuthorityKeyIdentifierExtension.create(issuerKeys.publicKey),
    new x509.CRLDistributionPointsExtension([params.crlUrl]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    new x509.KeyUsagesExtension(usages, true),
    new x509.BasicConstraintsExtension(params.ca !== undefined, params.ca?.pathLength, true),
    ...(params.extraExtensions ?? []),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: params.serial,
    subject: params.subject,
    issuer: params.issuer ? params.issuer.cert.subject : params.subject,
    notBefore: params.validity.notBefore,
    notAfter: params.validity.notAfter,
    publicKey: keys.publicKey,
    signingKey: issuerKeys.privateKey,
    signingAlgorithm: ECDSA_SHA256,
    extensions,
  });
  return entityFromCertificate(params.role, params.key, cert);
}

function entityFromCertificate(role: PkiRole, key: KeyObject, cert: x509.X509Certificate): PkiEntity {
  return {
    role,
    key,
    cert,
    der: Buffer.from(cert.rawData),
    pem: cert.toString('pem'),
    serial: cert.serialNumber.toLowerCase(),
  };
}

export function pemChain(entities: PkiEntity[]): string {
  return entities.map((entity) => `${entity.pem.trim()}\n`).join('');
}

export interface CrlOptions {
  thisUpdate: Date;
  nextUpdate: Date;
  /** Hex serial numbers to list as revoked (key compromise). */
  revokedSerials?: string[];
  crlNumber?: number;
}

/** The root CA CRL (DER), as Intel's: v2, CRL number and authority key id extensions. */
export function createRootCaCrl(pki: TestPki, options: CrlOptions): Promise<Buffer> {
  return issueCrl(pki.root, options);
}

/** The PCK CRL (DER), issued by the PCK CA. */
export function createPckCrl(pki: TestPki, options: CrlOptions): Promise<Buffer> {
  return issueCrl(pki.pckCa, options);
}

/** A CRL (DER) signed by any entity, e.g. an extra CA from issueExtraCertificate (negative tests). */
export function createCrlBy(issuer: PkiEntity, options: CrlOptions): Promise<Buffer> {
  return issueCrl(issuer, options);
}

async function issueCrl(issuer: PkiEntity, options: CrlOptions): Promise<Buffer> {
  const keys = await toWebCryptoKeyPair(issuer.key);
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.cert.subject,
    thisUpdate: options.thisUpdate,
    nextUpdate: options.nextUpdate,
    signingKey: keys.privateKey,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.Extension(OID_CRL_NUMBER, false, derInteger(options.crlNumber ?? 1)),
      await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
    ],
    entries: (options.revokedSerials ?? []).map((serialNumber) => ({
      serialNumber,
      revocationDate: options.thisUpdate,
      reason: x509.X509CrlReason.keyCompromise,
    })),
  });
  return Buffer.from(crl.rawData);
}

/** A JSON-safe form of a test PKI (private keys included: test material only). */
export interface SerializedTestPki {
  format: 'bootkey-forge-pki/1';
  pckCaKind: PckCaKind;
  entities: Record<PkiRole, { keyPem: string; certPem: string }>;
}

export function serializeTestPki(pki: TestPki): SerializedTestPki {
  const entity = (e: PkiEntity) => ({
    keyPem: e.key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    certPem: e.pem,
  });
  return {
    format: 'bootkey-forge-pki/1',
    pckCaKind: pki.pckCaKind,
    entities: {
      root: entity(pki.root),
      pckCa: entity(pki.pckCa),
      pckLeaf: entity(pki.pckLeaf),
      tcbSigning: entity(pki.tcbSigning),
    },
  };
}

/** Rebuilds a PKI from `serializeTestPki` output; the platform is read back from the PCK leaf. */
export function restoreTestPki(serialized: SerializedTestPki): TestPki {
  if (serialized.format !== 'bootkey-forge-pki/1') {
    throw new Error(`test PKI: unknown serialized format ${String(serialized.format)}`);
  }
  const restore = (role: PkiRole): PkiEntity => {
    const { keyPem, certPem } = serialized.entities[role];
    return entityFromCertificate(role, createPrivateKey(keyPem), new x509.X509Certificate(certPem));
  };
  const entities = {
    root: restore('root'),
    pckCa: restore('pckCa'),
    pckLeaf: restore('pckLeaf'),
    tcbSigning: restore('tcbSigning'),
  };
  return assemblePki(entities, serialized.pckCaKind, decodePlatformFromLeaf(entities.pckLeaf));
}

/**
 * Reads the platform values back from a forged PCK leaf. Only parses what `encodeSgxExtension`
 * writes (short-form lengths inside items, single-byte tags), which is all a restored PKI needs.
 */
function decodePlatformFromLeaf(leaf: PkiEntity): PckPlatform {
  const extension = leaf.cert.getExtension(SGX_OID.EXTENSION);
  if (!extension) throw new Error('test PKI: PCK leaf has no SGX extension');
  const items = readOidValuePairs(Buffer.from(extension.value));
  const tcb = readOidValuePairs(required(items, SGX_OID.TCB));
  const config = items.get(SGX_OID.CONFIGURATION);
  const configItems = config ? readOidValuePairs(config) : undefined;
  const bool = (oid: string): boolean => readTlv(required(configItems!, oid)).value[0] !== 0;
  return {
    ppid: readTlv(required(items, SGX_OID.PPID)).value,
    sgxTcbComponents: Array.from(readTlv(required(tcb, SGX_OID.CPUSVN)).value),
    pcesvn: readUnsigned(readTlv(required(tcb, SGX_OID.PCESVN)).value),
    pceId: readTlv(required(items, SGX_OID.PCE_ID)).value,
    fmspc: readTlv(required(items, SGX_OID.FMSPC)).value,
    sgxType: readUnsigned(readTlv(required(items, SGX_OID.SGX_TYPE)).value),
    platformInstanceId: items.has(SGX_OID.PLATFORM_INSTANCE_ID) ? readTlv(items.get(SGX_OID.PLATFORM_INSTANCE_ID)!).value : undefined,
    configuration: configItems
      ? { dynamicPlatform: bool(SGX_OID.DYNAMIC_PLATFORM), cachedKeys: bool(SGX_OID.CACHED_KEYS), smtEnabled: bool(SGX_OID.SMT_ENABLED) }
      : undefined,
  };
}

/**
 * The shape of an SGX extension: one "OID:tag" line per (OID, value) pair, nested pairs
 * indented, values left out. Lets a test compare a forged PCK certificate with a real one.
 */
export function sgxExtensionLayout(extensionDer: Buffer, depth = 0): string[] {
  const lines: string[] = [];
  for (const [oid, value] of readOidValuePairs(extensionDer)) {
    const tag = value[0];
    lines.push(`${'  '.repeat(depth)}${oid}:${tag.toString(16).padStart(2, '0')}`);
    if (tag === 0x30) lines.push(...sgxExtensionLayout(value, depth + 1));
  }
  return lines;
}

function required(items: Map<string, Buffer>, oid: string): Buffer {
  const value = items.get(oid);
  if (!value) throw new Error(`test PKI: SGX extension lacks ${oid}`);
  return value;
}

interface Tlv {
  tag: number;
  value: Buffer;
  /** Total encoded length (header + value). */
  length: number;
}

function readTlv(der: Buffer): Tlv {
  const first = der[1];
  const lengthBytes = first & 0x80 ? first & 0x7f : 0;
  const length = lengthBytes === 0 ? first : der.subarray(2, 2 + lengthBytes).reduce((acc, b) => acc * 256 + b, 0);
  const header = 2 + lengthBytes;
  return { tag: der[0], value: der.subarray(header, header + length), length: header + length };
}

/** SEQUENCE OF SEQUENCE { OID, value } → map of dotted OID to the value's full TLV. */
function readOidValuePairs(sequenceDer: Buffer): Map<string, Buffer> {
  const pairs = new Map<string, Buffer>();
  let rest = readTlv(sequenceDer).value;
  while (rest.length > 0) {
    const item = readTlv(rest);
    const oid = readTlv(item.value);
    pairs.set(decodeOid(oid.value), item.value.subarray(oid.length));
    rest = rest.subarray(item.length);
  }
  return pairs;
}

function decodeOid(body: Buffer): string {
  const arcs: number[] = [];
  let arc = 0;
  for (const byte of body) {
    arc = arc * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(arc);
      arc = 0;
    }
  }
  const first = Math.min(Math.floor(arcs[0] / 40), 2);
  return [first, arcs[0] - first * 40, ...arcs.slice(1)].join('.');
}

function readUnsigned(bytes: Buffer): number {
  return bytes.reduce((acc, b) => acc * 256 + b, 0);
}

export function hexBytes(field: string, hex: string, size: number): Buffer {
  if (!/^([0-9a-fA-F]{2})*$/.test(hex) || hex.length !== size * 2) {
    throw new Error(`${field}: expected ${size} bytes as hex, got "${hex}"`);
  }
  return Buffer.from(hex, 'hex');
}
