/**
 * DCAP verification of a TDX quote: verifyQuote (one call) and QuoteVerifier (the same, with a
 * bounded cache of everything that does not depend on the individual quote or on the time).
 *
 * Order: structure → quote-intrinsic cryptography (QE report data, PCK chain to the pinned root,
 * QE report signature, quote signature) → collateral (signatures, freshness, revocation) → QE
 * identity → TCB levels. A forged quote is therefore refused as forged whatever the state of the
 * collateral. Everything time-dependent (certificate validity, issueDate/nextUpdate windows) is
 * evaluated against `now` on every call, cache hit or not.
 *
 * verifyQuote reports; policy (accepted TCB statuses, DEBUG, measurements) is decided elsewhere.
 * The one exception, as in Intel's QVL and @phala/dcap-qvl: a Revoked TCB is refused here
 * (TCB_STATUS_REJECTED), because no policy may accept it.
 */
import { KeyObject, createHash } from 'node:crypto';
import { DomainError, ErrorCode } from '../../../common/errors';
import { parseTdxQuote } from '../quote/tdx-quote.parser';
import type { TdxQuote } from '../quote/quote.types';
import { byteAt, toHex } from '../quote/encoding';
import { TD_ATTRIBUTES_DEBUG_BIT } from '../quote/quote-constants';
import { PckCaKind, TrustAnchor, VerifiedPckChain, checkChainValidity, loadTrustAnchor, requirePckCaChain, verifyPckCertChain } from './cert-chain';
import { COLLATERAL_FIELDS, QuoteCollateral, TcbStatus } from './collateral.types';
import { VerifiedCrls, checkCrlValidity, checkRevocation, verifyCrls } from './crl';
import { LruCache } from './lru-cache';
import { PckExtension, parsePckExtension } from './pck-extension';
import { VerifiedQeIdentity, checkQeIdentityValidity, matchQeIdentity, verifyQeIdentity } from './qe-identity';
import { verifyQeReportData, verifyQeReportSignature } from './qe-report';
import { attestationKeyObject, verifyQuoteSignature } from './quote-signature';
import { convergeTcbStatus, matchTdxTcbLevel, tdRelaunchStatus } from './tcb-match';
import { VerifiedTcbInfo, checkTcbInfoValidity, verifyTcbInfo } from './tcb-info';
import { X509Error, isSignedBy, p256KeyFromSpki } from './x509';

export interface VerifiedQuote {
  quote: TdxQuote;
  /** Converged status: platform TCB level, TDX module and QE (Intel's rules). */
  tcbStatus: TcbStatus;
  advisoryIds: string[];
  fmspc: string; // lowercase hex
  pceId: string; // lowercase hex
  platformTcbStatus: TcbStatus;
  tdxModuleTcbStatus: TcbStatus | null;
  qeTcbStatus: TcbStatus;
  tcbDate: string;
  tcbEvaluationDataNumber: number;
  /** Earliest nextUpdate of TCB info, QE identity and the CRLs: when this collateral goes stale. */
  collateralNextUpdate: Date;
}

export interface VerifyQuoteOptions {
  now: Date;
  rootCaDer: Uint8Array;
  /** Accept collateral up to this long past its nextUpdate (COLLATERAL_STALE_GRACE_S); default 0. */
  staleGraceSeconds?: number;
}

export interface QuoteVerifierOptions {
  staleGraceSeconds?: number;
  /** Entries per cache (collateral sets, PCK chains, QE reports); default 64. */
  cacheSize?: number;
}

/** TD attributes bit 0 (TUD.DEBUG). Reported for the policy layer; verifyQuote does not refuse it. */
export function isDebugTd(quote: TdxQuote): boolean {
  return (byteAt(quote.body.tdAttributes, 0) & TD_ATTRIBUTES_DEBUG_BIT) !== 0;
}

/** One-shot verification; verifiers (and their caches) are shared per root CA. */
export function verifyQuote(rawQuote: Uint8Array, collateral: QuoteCollateral, options: VerifyQuoteOptions): VerifiedQuote {
  return sharedVerifier(options.rootCaDer).verify(rawQuote, collateral, options.now, {
    staleGraceSeconds: options.staleGraceSeconds,
  });
}

interface PckChainEntry {
  key: string;
  chain: VerifiedPckChain;
  extension: PckExtension;
}

/** The platform a verified PCK chain certifies: what collateral to look up. */
export interface PckPlatformId {
  fmspc: string; // lowercase hex
  ca: PckCaKind;
}

/**
 * A quote whose own cryptography held at `now` (QuoteVerifier.authenticate): hand it to
 * verifyAuthenticated so those checks run once per quote. Only the verifier that made one
 * accepts it.
 */
export interface AuthenticatedQuote {
  readonly quote: TdxQuote;
  readonly now: Date;
  readonly platform: PckPlatformId;
}

interface Authenticated extends AuthenticatedQuote {
  readonly pck: PckChainEntry;
}

/** What a verified collateral bundle says about itself (ordering, freshness, platform). */
export interface CollateralFacts {
  fmspc: string; // lowercase hex
  pceId: string;
  /** The PCK CA whose CRL the bundle carries. */
  pckCrlCa: PckCaKind;
  tcbInfo: { tcbEvaluationDataNumber: number; issueDate: Date };
  qeIdentity: { tcbEvaluationDataNumber: number; issueDate: Date };
  /** Earliest nextUpdate of TCB info, QE identity and both CRLs. */
  nextUpdate: Date;
}

interface CollateralEntry {
  tcb: VerifiedTcbInfo;
  qe: VerifiedQeIdentity;
  crls: VerifiedCrls;
  pckCrlCa: PckCaKind;
  nextUpdate: number;
  /** PCK chain keys already checked against these CRLs (only "not revoked" is remembered). */
  notRevoked: LruCache<string, true>;
}

export class QuoteVerifier {
  private readonly anchor: TrustAnchor;
  private readonly defaultGraceMs: number;
  private readonly collaterals: LruCache<string, CollateralEntry>;
  private readonly pckChains: LruCache<string, PckChainEntry>;
  /** Attestation keys certified by a verified QE report, keyed by everything that certified them. */
  private readonly certifiedAttestationKeys: LruCache<string, KeyObject>;
  /**
   * Parsed attestation keys by their bytes. Parsing is a pure function of the bytes (OpenSSL
   * checks the point), so a hit skips only the import, never a check: the QE report signature
   * that certifies the key is verified on every miss of certifiedAttestationKeys.
   */
  private readonly attestationKeyObjects: LruCache<string, KeyObject>;
  /** Results of authenticate, so verifyAuthenticated takes no object it did not make. */
  private readonly authenticated = new WeakSet<AuthenticatedQuote>();
  /** Same collateral object as last time → skip re-hashing it (fields are compared by identity). */
  private readonly collateralKeys = new WeakMap<object, { fields: string[]; key: string }>();
  private readonly cacheSize: number;

  constructor(rootCaDer: Uint8Array, options: QuoteVerifierOptions = {}) {
    this.anchor = loadTrustAnchor(rootCaDer);
    this.defaultGraceMs = graceMs(options.staleGraceSeconds);
    this.cacheSize = options.cacheSize ?? 64;
    this.collaterals = new LruCache(this.cacheSize);
    this.pckChains = new LruCache(this.cacheSize);
    this.certifiedAttestationKeys = new LruCache(this.cacheSize * 4);
    this.attestationKeyObjects = new LruCache(this.cacheSize * 16);
  }

  verify(rawQuote: Uint8Array, collateral: QuoteCollateral, now: Date, options: { staleGraceSeconds?: number } = {}): VerifiedQuote {
    const nowMs = now.getTime();
    if (!Number.isFinite(nowMs)) throw new RangeError('verify: now is not a valid Date');
    return this.verifyAuthenticated(this.authenticate(parseTdxQuote(rawQuote), now), collateral, options);
  }

  /** verify, for a quote authenticate has already checked at its `now`. */
  verifyAuthenticated(authenticated: AuthenticatedQuote, collateral: QuoteCollateral, options: { staleGraceSeconds?: number } = {}): VerifiedQuote {
    if (!this.authenticated.has(authenticated)) throw new TypeError("verifyAuthenticated: not a result of this verifier's authenticate");
    const { quote, pck } = authenticated as Authenticated;
    const nowMs = authenticated.now.getTime();
    const grace = options.staleGraceSeconds === undefined ? this.defaultGraceMs : graceMs(options.staleGraceSeconds);
    const qeCertification = quote.signature.qeCertification;

    const entry = this.collateral(collateral);
    checkCollateralFreshness(entry, nowMs, grace);
    requirePlatformMatch(entry, pck);
    this.checkPckRevocation(entry, pck);

    const qeTcb = matchQeIdentity(qeCertification.qeReport, entry.qe.qeIdentity);
    const tdx = matchTdxTcbLevel(entry.tcb.tcbInfo, pck.extension, quote.body);
    const converged = convergeTcbStatus(tdx.platform, tdx.tdxModule, qeTcb);
    const relaunch = tdRelaunchStatus(entry.tcb.tcbInfo, quote.body, tdx, qeTcb.status);
    if (relaunch) converged.status = relaunch;
    if (converged.status === 'Revoked') {
      throw new DomainError(ErrorCode.TCB_STATUS_REJECTED, 'TCB status is Revoked', {
        step: 'tcb_status',
        tcbStatus: converged.status,
        advisoryIds: converged.advisoryIds,
      });
    }
    return {
      quote,
      tcbStatus: converged.status,
      advisoryIds: converged.advisoryIds,
      fmspc: entry.tcb.tcbInfo.fmspc,
      pceId: entry.tcb.tcbInfo.pceId,
      platformTcbStatus: tdx.platform.status,
      tdxModuleTcbStatus: tdx.tdxModule?.status ?? null,
      qeTcbStatus: qeTcb.status,
      tcbDate: tdx.platform.tcbDate,
      tcbEvaluationDataNumber: entry.tcb.tcbInfo.tcbEvaluationDataNumber,
      collateralNextUpdate: new Date(entry.nextUpdate),
    };
  }

  /**
   * The platform of a quote whose own cryptography holds at `now` (PCK chain to the root, QE
   * report, quote signature) — checked before anything is fetched for it, so an unauthenticated
   * quote never makes the broker look up collateral.
   */
  authenticatedPlatform(quote: TdxQuote, now: Date): PckPlatformId {
    return this.authenticate(quote, now).platform;
  }

  /** Everything that needs no collateral: QE report data, PCK chain at `now`, both signatures. */
  authenticate(quote: TdxQuote, now: Date): AuthenticatedQuote {
    const nowMs = now.getTime();
    if (!Number.isFinite(nowMs)) throw new RangeError('authenticate: now is not a valid Date');
    verifyQeReportData(quote.signature.qeCertification, quote.signature.attestationKey);
    const pck = this.pckChain(quote);
    checkChainValidity(pck.chain, nowMs, 'pck chain', ErrorCode.PCK_CHAIN_INVALID);
    verifyQuoteSignature(quote, this.certifiedAttestationKey(quote, pck));
    const authenticated: Authenticated = { quote, now: new Date(nowMs), platform: { fmspc: toHex(pck.extension.fmspc), ca: pck.chain.caKind }, pck };
    this.authenticated.add(authenticated);
    return authenticated;
  }

  /**
   * A collateral bundle on its own: signatures, chains and their Intel roles, CRLs, format, and
   * validity at `now` (within the grace). Throws the DomainError of the first defect; on success
   * says what the bundle is, so a cache can tell newer from older.
   */
  checkCollateral(collateral: QuoteCollateral, now: Date, options: { staleGraceSeconds?: number } = {}): CollateralFacts {
    const nowMs = now.getTime();
    if (!Number.isFinite(nowMs)) throw new RangeError('checkCollateral: now is not a valid Date');
    const entry = this.collateral(collateral);
    checkCollateralFreshness(entry, nowMs, options.staleGraceSeconds === undefined ? this.defaultGraceMs : graceMs(options.staleGraceSeconds));
    const { tcbInfo } = entry.tcb;
    const { qeIdentity } = entry.qe;
    return {
      fmspc: tcbInfo.fmspc,
      pceId: tcbInfo.pceId,
      pckCrlCa: entry.pckCrlCa,
      tcbInfo: { tcbEvaluationDataNumber: tcbInfo.tcbEvaluationDataNumber, issueDate: new Date(tcbInfo.issueDate) },
      qeIdentity: { tcbEvaluationDataNumber: qeIdentity.tcbEvaluationDataNumber, issueDate: new Date(qeIdentity.issueDate) },
      nextUpdate: new Date(entry.nextUpdate),
    };
  }

  /** The PCK chain of the quote, verified to the root once per distinct chain bytes. */
  private pckChain(quote: TdxQuote): PckChainEntry {
    const raw = quote.signature.qeCertification.pckCertChain;
    const key = sha256Key([raw.raw]);
    const cached = this.pckChains.get(key);
    if (cached) return cached;
    const chain = verifyPckCertChain(raw.certificatesDer, this.anchor);
    let extension: PckExtension;
    try {
      extension = parsePckExtension(chain.leaf);
    } catch (error) {
      if (error instanceof X509Error) throw new DomainError(ErrorCode.PCK_CHAIN_INVALID, `pck chain: ${error.message}`);
      throw error;
    }
    const entry = { key, chain, extension };
    this.pckChains.set(key, entry);
    return entry;
  }

  /**
   * The attestation key, once its QE report signature has verified. The QE generates this key when
   * it starts and certifies it in its report, so every quote of one QE session carries the same
   * (PCK chain, QE report, signature, attestation key, auth data): after the first quote only the
   * quote's own signature is left to check. Importing a P-256 key costs as much as a verification
   * (OpenSSL validates the point), so the KeyObject is kept too. Only successes are remembered.
   */
  private certifiedAttestationKey(quote: TdxQuote, pck: PckChainEntry): KeyObject {
    const qe = quote.signature.qeCertification;
    const attestationKey = quote.signature.attestationKey;
    const key = sha256Key([pck.key, qe.qeReportBytes, qe.qeReportSignature, attestationKey, qe.qeAuthData]);
    const cached = this.certifiedAttestationKeys.get(key);
    if (cached) return cached;
    verifyQeReportSignature(qe, pck.chain.leafKey);
    const bytesKey = Buffer.from(attestationKey).toString('base64');
    const keyObject = this.attestationKeyObjects.get(bytesKey) ?? attestationKeyObject(attestationKey);
    this.attestationKeyObjects.set(bytesKey, keyObject);
    this.certifiedAttestationKeys.set(key, keyObject);
    return keyObject;
  }

  /** Parsed and signature-checked collateral, once per distinct collateral content. */
  private collateral(collateral: QuoteCollateral): CollateralEntry {
    const key = this.collateralKey(collateral);
    const cached = this.collaterals.get(key);
    if (cached) return cached;
    const tcb = verifyTcbInfo(
      { text: collateral.tcb_info, signatureHex: collateral.tcb_info_signature, issuerChainPem: collateral.tcb_info_issuer_chain },
      this.anchor,
    );
    const qe = verifyQeIdentity(
      {
        text: collateral.qe_identity,
        signatureHex: collateral.qe_identity_signature,
        issuerChainPem: collateral.qe_identity_issuer_chain,
      },
      this.anchor,
    );
    const crls = verifyCrls(
      { rootCaCrlHex: collateral.root_ca_crl, pckCrlHex: collateral.pck_crl, pckCrlIssuerChainPem: collateral.pck_crl_issuer_chain },
      this.anchor,
    );
    // CRL issuers by role, as Intel's QVL: the root CA CRL by the root (verifyCrls), the PCK CRL
    // by an Intel PCK CA issued directly by the root.
    const pckCrlCa = requirePckCaChain(crls.pckCrlIssuerChain, 'pck_crl_issuer_chain', ErrorCode.COLLATERAL_INVALID);
    // The collateral's own signing certificates must not be revoked either.
    checkRevocation(tcb.signingChain, this.anchor, crls, 'tcb_info_issuer_chain');
    checkRevocation(qe.signingChain, this.anchor, crls, 'qe_identity_issuer_chain');
    checkRevocation(crls.pckCrlIssuerChain, this.anchor, crls, 'pck_crl_issuer_chain');
    const entry: CollateralEntry = {
      tcb,
      qe,
      crls,
      pckCrlCa,
      nextUpdate: Math.min(tcb.tcbInfo.nextUpdate, qe.qeIdentity.nextUpdate, crls.rootCaCrl.nextUpdate, crls.pckCrl.nextUpdate),
      notRevoked: new LruCache(this.cacheSize),
    };
    this.collaterals.set(key, entry);
    return entry;
  }

  private checkPckRevocation(entry: CollateralEntry, pck: PckChainEntry): void {
    if (entry.notRevoked.get(pck.key)) return;
    // The PCK CRL must come from the very CA that issued this leaf (Intel: intermediateCrl is
    // verified with the chain's intermediate key), not merely from a CA of the same name.
    const pckCa = pck.chain.certificates[1];
    if (!pckCa || !isSignedBy(entry.crls.pckCrl.signed, p256KeyFromSpki(pckCa.subjectPublicKeyInfo))) {
      throw new DomainError(ErrorCode.COLLATERAL_INVALID, 'collateral pck_crl is not signed by the CA that issued this PCK certificate', {
        step: 'crl',
        field: 'pck_crl',
      });
    }
    checkRevocation(pck.chain, this.anchor, entry.crls, 'pck chain');
    entry.notRevoked.set(pck.key, true);
  }

  private collateralKey(collateral: QuoteCollateral): string {
    const fields = collateralFields(collateral);
    const known = this.collateralKeys.get(collateral);
    if (known && known.fields.every((field, i) => field === fields[i])) return known.key;
    const key = sha256Key(fields);
    this.collateralKeys.set(collateral, { fields, key });
    return key;
  }
}

function checkCollateralFreshness(entry: CollateralEntry, nowMs: number, grace: number): void {
  checkTcbInfoValidity(entry.tcb.tcbInfo, nowMs, grace);
  checkQeIdentityValidity(entry.qe.qeIdentity, nowMs, grace);
  checkCrlValidity(entry.crls, nowMs, grace);
  checkChainValidity(entry.tcb.signingChain, nowMs, 'tcb_info_issuer_chain', ErrorCode.COLLATERAL_EXPIRED);
  checkChainValidity(entry.qe.signingChain, nowMs, 'qe_identity_issuer_chain', ErrorCode.COLLATERAL_EXPIRED);
}

/**
 * The collateral must describe this platform: TCB info of the PCK certificate's FMSPC and PCE-ID,
 * and the PCK CRL of the CA that issued it.
 */
function requirePlatformMatch(entry: CollateralEntry, pckEntry: PckChainEntry): void {
  const tcb = entry.tcb;
  const pck = pckEntry.extension;
  if (entry.pckCrlCa !== pckEntry.chain.caKind) {
    throw new DomainError(
      ErrorCode.COLLATERAL_INVALID,
      `collateral pck_crl is the ${entry.pckCrlCa} CA's; this PCK certificate is from the ${pckEntry.chain.caKind} CA`,
      {
        step: 'crl',
        field: 'pck_crl',
      },
    );
  }
  const fmspc = toHex(pck.fmspc);
  const pceId = toHex(pck.pceId);
  if (fmspc !== tcb.tcbInfo.fmspc || pceId !== tcb.tcbInfo.pceId) {
    throw new DomainError(ErrorCode.COLLATERAL_INVALID, 'collateral tcb_info is for another platform (FMSPC or PCE-ID differs)', {
      step: 'tcb_info',
      fmspc,
      pceId,
      tcbInfoFmspc: tcb.tcbInfo.fmspc,
      tcbInfoPceId: tcb.tcbInfo.pceId,
    });
  }
}

function collateralFields(collateral: QuoteCollateral): string[] {
  if (typeof collateral !== 'object' || collateral === null) {
    throw new DomainError(ErrorCode.COLLATERAL_INVALID, 'collateral is not an object');
  }
  return COLLATERAL_FIELDS.map((name) => {
    const value: unknown = collateral[name];
    if (typeof value !== 'string') {
      throw new DomainError(ErrorCode.COLLATERAL_INVALID, `collateral ${name} is not a string`, { field: name });
    }
    return value;
  });
}

/** Length-prefixed SHA-256 over the parts, so ("ab","c") and ("a","bc") differ. */
function sha256Key(parts: (string | Uint8Array)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE(bytes.length, 0);
    hash.update(length).update(bytes);
  }
  return hash.digest('base64');
}

function graceMs(seconds: number | undefined): number {
  if (seconds === undefined) return 0;
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError('staleGraceSeconds must be a non-negative number');
  return seconds * 1000;
}

const sharedVerifiers = new LruCache<string, QuoteVerifier>(4);

function sharedVerifier(rootCaDer: Uint8Array): QuoteVerifier {
  const key = sha256Key([rootCaDer]);
  let verifier = sharedVerifiers.get(key);
  if (!verifier) {
    verifier = new QuoteVerifier(rootCaDer);
    sharedVerifiers.set(key, verifier);
  }
  return verifier;
}
