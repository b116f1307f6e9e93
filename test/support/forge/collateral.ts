/**
 * Forged DCAP collateral for a test PKI, in the dcap-qvl `QuoteCollateralV3` JSON shape used by
 * COLLATERAL_DIR (see ../shared/fixtures/dcap/tdx_quote_collateral.json): TDX TCB info v3,
 * TD_QE identity v2, their raw r||s signatures by the TCB signing key, the root CA and PCK CRLs.
 *
 * `tcb_info` / `qe_identity` hold the *inner* JSON object (the value of Intel's "tcbInfo" /
 * "enclaveIdentity" member), compact, in Intel's key order; the signature is over exactly those
 * UTF-8 bytes — which is what Intel signs inside its PCS response and what dcap-qvl verifies.
 * `toPcsResponseBodies` rebuilds the PCS response bodies around the same bytes for a fake PCCS.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { signP256Raw } from './ecdsa';
import { COLLATERAL_LIFETIME_DAYS, DEFAULT_MRSIGNERSEAM, DEFAULT_QE, DEFAULT_SEAM_ATTRIBUTES, DEFAULT_TEE_TCB_SVN } from './forge-defaults';
import { createPckCrl, createRootCaCrl, TestPki } from './test-pki';

export type TcbStatus =
  'UpToDate' | 'SWHardeningNeeded' | 'ConfigurationNeeded' | 'ConfigurationAndSWHardeningNeeded' | 'OutOfDate' | 'OutOfDateConfigurationNeeded' | 'Revoked';

/** Exactly the dcap-qvl QuoteCollateralV3 JSON shape (hex strings for binary members). */
export interface QuoteCollateralV3 {
  pck_crl_issuer_chain: string;
  root_ca_crl: string;
  pck_crl: string;
  tcb_info_issuer_chain: string;
  tcb_info: string;
  tcb_info_signature: string;
  qe_identity_issuer_chain: string;
  qe_identity: string;
  qe_identity_signature: string;
}

export interface TcbComponent {
  svn: number;
  category?: string;
  type?: string;
}

export interface TdxTcbLevel {
  tcb: { sgxtcbcomponents: TcbComponent[]; pcesvn: number; tdxtcbcomponents: TcbComponent[] };
  tcbDate: string;
  tcbStatus: TcbStatus;
  advisoryIDs?: string[];
}

export interface CollateralOptions {
  /** Reference time: the collateral is issued one day before it (default: now). */
  now?: Date;
  /** Overrides of the validity window of TCB info, QE identity and PCK CRL. */
  issueDate?: Date;
  nextUpdate?: Date;
  /** Status of the TCB level the forged platform matches (default UpToDate). */
  tcbStatus?: TcbStatus;
  /** Advisory ids on that level (default none). */
  advisoryIds?: string[];
  /** TCB info FMSPC (default: the PKI's); set another to forge a mismatch. */
  fmspc?: string;
  pceId?: string;
  tcbEvaluationDataNumber?: number;
  /** The quote's TEE_TCB_SVN the levels are built around (default DEFAULT_TEE_TCB_SVN). */
  teeTcbSvn?: number[];
  /** Replace the generated TCB levels entirely. */
  tcbLevels?: TdxTcbLevel[];
  /** Status and advisories of the QE identity level the forged QE matches (default UpToDate). */
  qeTcbStatus?: TcbStatus;
  qeAdvisoryIds?: string[];
  /** QE identity policy overrides, e.g. another MRSIGNER to forge a QE identity mismatch. */
  qeIdentity?: Partial<Pick<QeIdentityBody, 'mrsigner' | 'isvprodid' | 'attributes' | 'attributesMask' | 'miscselect' | 'miscselectMask'>>;
  /** Serials (hex) listed in the PCK CRL. */
  revokedPckSerials?: string[];
  /** Shorthand: list the PKI's own PCK leaf in the PCK CRL. */
  revokePckLeaf?: boolean;
  /** Serials (hex) listed in the root CA CRL (e.g. the PCK CA's or TCB signing cert's). */
  revokedCaSerials?: string[];
  /** Corrupt a signature after signing, for negative tests. */
  tamper?: { tcbInfoSignature?: boolean; qeIdentitySignature?: boolean };
}

interface QeTcbLevel {
  tcb: { isvsvn: number };
  tcbDate: string;
  tcbStatus: TcbStatus;
  advisoryIDs?: string[];
}

interface QeIdentityBody {
  id: 'TD_QE';
  version: 2;
  issueDate: string;
  nextUpdate: string;
  tcbEvaluationDataNumber: number;
  miscselect: string;
  miscselectMask: string;
  attributes: string;
  attributesMask: string;
  mrsigner: string;
  isvprodid: number;
  tcbLevels: QeTcbLevel[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_TCB_EVALUATION_DATA_NUMBER = 17;
const TCB_TYPE_0 = 0;
/** Root CA CRLs are long-lived (Intel's is re-issued yearly). */
const ROOT_CRL_LIFETIME_DAYS = 365;
/** TCB dates of the generated levels: newest first, as Intel orders them. */
const TCB_DATE_NEXT = '2025-03-12T00:00:00Z';
const TCB_DATE_CURRENT = '2024-03-13T00:00:00Z';
const TCB_DATE_OLD = '2018-01-04T00:00:00Z';
const OLD_LEVEL_PCESVN = 5;
const OLD_LEVEL_ADVISORIES = ['INTEL-SA-00106', 'INTEL-SA-00115', 'INTEL-SA-00837'];

/** Component descriptions as in Intel's TDX TCB info (components without one carry none). */
const SGX_COMPONENT_LABELS: Record<number, Omit<TcbComponent, 'svn'>> = {
  0: { category: 'BIOS', type: 'Early Microcode Update' },
  1: { category: 'OS/VMM', type: 'SGX Late Microcode Update' },
  2: { category: 'OS/VMM', type: 'TXT SINIT' },
  3: { category: 'BIOS' },
  4: { category: 'BIOS' },
  5: { category: 'BIOS' },
  7: { category: 'OS/VMM', type: 'SEAMLDR ACM' },
};
const TDX_COMPONENT_LABELS: Record<number, Omit<TcbComponent, 'svn'>> = {
  0: { category: 'OS/VMM', type: 'TDX Module' },
  1: { category: 'OS/VMM', type: 'TDX Module' },
  2: { category: 'OS/VMM', type: 'TDX Late Microcode Update' },
};

/** Builds a signed collateral bundle for the PKI's platform. */
export async function createCollateral(pki: TestPki, options: CollateralOptions = {}): Promise<QuoteCollateralV3> {
  const window = collateralWindow(options);
  const tcbInfo = JSON.stringify(buildTcbInfo(pki, options, window));
  const qeIdentity = JSON.stringify(buildQeIdentity(options, window));
  const revokedPck = [...(options.revokedPckSerials ?? []), ...(options.revokePckLeaf ? [pki.pckLeaf.serial] : [])];
  const [rootCaCrl, pckCrl] = await Promise.all([
    createRootCaCrl(pki, {
      thisUpdate: window.issueDate,
      nextUpdate: new Date(window.issueDate.getTime() + ROOT_CRL_LIFETIME_DAYS * DAY_MS),
      revokedSerials: options.revokedCaSerials,
    }),
    createPckCrl(pki, { thisUpdate: window.issueDate, nextUpdate: window.nextUpdate, revokedSerials: revokedPck }),
  ]);
  return {
    pck_crl_issuer_chain: pki.pckCrlIssuerChainPem,
    root_ca_crl: rootCaCrl.toString('hex'),
    pck_crl: pckCrl.toString('hex'),
    tcb_info_issuer_chain: pki.tcbIssuerChainPem,
    tcb_info: tcbInfo,
    tcb_info_signature: signCollateralBody(pki, tcbInfo, options.tamper?.tcbInfoSignature),
    qe_identity_issuer_chain: pki.tcbIssuerChainPem,
    qe_identity: qeIdentity,
    qe_identity_signature: signCollateralBody(pki, qeIdentity, options.tamper?.qeIdentitySignature),
  };
}

interface CollateralWindow {
  issueDate: Date;
  nextUpdate: Date;
}

function collateralWindow(options: CollateralOptions): CollateralWindow {
  const now = truncateToSeconds(options.now ?? new Date());
  const issueDate = options.issueDate ?? new Date(now.getTime() - DAY_MS);
  const nextUpdate = options.nextUpdate ?? new Date(issueDate.getTime() + COLLATERAL_LIFETIME_DAYS * DAY_MS);
  return { issueDate, nextUpdate };
}

function truncateToSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/** Intel's timestamp format: ISO-8601 UTC without milliseconds. */
export function intelDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function signCollateralBody(pki: TestPki, body: string, tamper = false): string {
  const signature = signP256Raw(pki.tcbSigning.key, Buffer.from(body, 'utf8'));
  if (tamper) signature[signature.length - 1] ^= 0x01;
  return signature.toString('hex');
}

function labelled(svns: readonly number[], labels: Record<number, Omit<TcbComponent, 'svn'>>): TcbComponent[] {
  return svns.map((svn, i) => ({ svn, ...labels[i] }));
}

/**
 * TCB info v3 for TDX, keys in Intel's order. The module identity mirrors Intel's: MRSIGNERSEAM
 * all zero, and a "TDX_01" identity because the forged TEE_TCB_SVN[1] (module major version) is 1.
 */
function buildTcbInfo(pki: TestPki, options: CollateralOptions, window: CollateralWindow) {
  const moduleIdentityDefaults = {
    mrsigner: DEFAULT_MRSIGNERSEAM.toString('hex').toUpperCase(),
    attributes: DEFAULT_SEAM_ATTRIBUTES.toString('hex').toUpperCase(),
    attributesMask: 'FFFFFFFFFFFFFFFF',
  };
  return {
    id: 'TDX',
    version: 3,
    issueDate: intelDate(window.issueDate),
    nextUpdate: intelDate(window.nextUpdate),
    fmspc: (options.fmspc ?? pki.platform.fmspc.toString('hex')).toUpperCase(),
    pceId: (options.pceId ?? pki.platform.pceId.toString('hex')).toUpperCase(),
    tcbType: TCB_TYPE_0,
    tcbEvaluationDataNumber: options.tcbEvaluationDataNumber ?? DEFAULT_TCB_EVALUATION_DATA_NUMBER,
    tdxModule: moduleIdentityDefaults,
    tdxModuleIdentities: [
      {
        id: 'TDX_01',
        ...moduleIdentityDefaults,
        tcbLevels: [
          { tcb: { isvsvn: 4 }, tcbDate: TCB_DATE_CURRENT, tcbStatus: 'UpToDate' },
          { tcb: { isvsvn: 2 }, tcbDate: '2023-08-09T00:00:00Z', tcbStatus: 'OutOfDate' },
        ],
      },
    ],
    tcbLevels: options.tcbLevels ?? buildTcbLevels(pki, options),
  };
}

/**
 * Levels, newest first (verifiers take the first level the platform meets):
 *  - only when the chosen status is not UpToDate, a newer UpToDate level the platform does
 *    not meet (so the match is not simply "the first level");
 *  - the level the forged platform meets exactly, with the chosen status and advisories;
 *  - an older OutOfDate level, as Intel always lists some.
 */
function buildTcbLevels(pki: TestPki, options: CollateralOptions): TdxTcbLevel[] {
  const sgx = pki.platform.sgxTcbComponents;
  const tdx = options.teeTcbSvn ?? [...DEFAULT_TEE_TCB_SVN];
  const status = options.tcbStatus ?? 'UpToDate';
  const level = (sgxSvns: number[], pcesvn: number, tdxSvns: number[], tcbDate: string, tcbStatus: TcbStatus, advisoryIds: string[]): TdxTcbLevel => ({
    tcb: {
      sgxtcbcomponents: labelled(sgxSvns, SGX_COMPONENT_LABELS),
      pcesvn,
      tdxtcbcomponents: labelled(tdxSvns, TDX_COMPONENT_LABELS),
    },
    tcbDate,
    tcbStatus,
    ...(advisoryIds.length > 0 ? { advisoryIDs: advisoryIds } : {}),
  });
  const levels: TdxTcbLevel[] = [];
  if (status !== 'UpToDate') {
    const newerTdx = tdx.map((svn, i) => (i === 2 ? svn + 1 : svn));
    levels.push(
      level(
        sgx.map((svn) => svn + 1),
        pki.platform.pcesvn + 1,
        newerTdx,
        TCB_DATE_NEXT,
        'UpToDate',
        [],
      ),
    );
  }
  levels.push(level([...sgx], pki.platform.pcesvn, [...tdx], TCB_DATE_CURRENT, status, options.advisoryIds ?? []));
  levels.push(
    level(
      sgx.map(() => 0),
      OLD_LEVEL_PCESVN,
      tdx.map(() => 0),
      TCB_DATE_OLD,
      'OutOfDate',
      OLD_LEVEL_ADVISORIES,
    ),
  );
  return levels;
}

/** TD_QE identity v2, keys in Intel's order, matching the forge's QE report defaults. */
function buildQeIdentity(options: CollateralOptions, window: CollateralWindow): QeIdentityBody {
  const qeStatus = options.qeTcbStatus ?? 'UpToDate';
  const qeAdvisories = options.qeAdvisoryIds ?? [];
  return {
    id: 'TD_QE',
    version: 2,
    issueDate: intelDate(window.issueDate),
    nextUpdate: intelDate(window.nextUpdate),
    tcbEvaluationDataNumber: options.tcbEvaluationDataNumber ?? DEFAULT_TCB_EVALUATION_DATA_NUMBER,
    miscselect: '00000000',
    miscselectMask: 'FFFFFFFF',
    attributes: '11000000000000000000000000000000',
    attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
    mrsigner: DEFAULT_QE.mrSigner,
    isvprodid: DEFAULT_QE.isvProdId,
    ...options.qeIdentity,
    tcbLevels: [
      {
        tcb: { isvsvn: DEFAULT_QE.minUpToDateIsvSvn },
        tcbDate: TCB_DATE_CURRENT,
        tcbStatus: qeStatus,
        ...(qeAdvisories.length > 0 ? { advisoryIDs: qeAdvisories } : {}),
      },
    ],
  };
}

/** FMSPC (uppercase hex) of a bundle, read from its TCB info as a COLLATERAL_DIR loader would. */
export function collateralFmspc(collateral: QuoteCollateralV3): string {
  return String((JSON.parse(collateral.tcb_info) as { fmspc: string }).fmspc).toUpperCase();
}

/**
 * Writes the bundle as `<name>.json` (default: the FMSPC in lowercase) into `dir` atomically, so
 * a service watching a COLLATERAL_DIR never reads half a file. Returns the file's path.
 */
export function writeCollateralFile(dir: string, collateral: QuoteCollateralV3, name?: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name ?? collateralFmspc(collateral).toLowerCase()}.json`);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(collateral, null, 2)}\n`);
  renameSync(temporary, path);
  return path;
}

/**
 * The Intel PCS v4 response bodies carrying this collateral (`GET /tdx/certification/v4/tcb`
 * and `/qe/identity`), built around the very bytes that were signed, for a fake PCCS.
 */
export function toPcsResponseBodies(collateral: QuoteCollateralV3): { tcbInfo: string; qeIdentity: string } {
  return {
    tcbInfo: `{"tcbInfo":${collateral.tcb_info},"signature":"${collateral.tcb_info_signature}"}`,
    qeIdentity: `{"enclaveIdentity":${collateral.qe_identity},"signature":"${collateral.qe_identity_signature}"}`,
  };
}

/** Who signs a re-signed bundle: any key, with the issuer chain it presents (PEM, leaf first). */
export interface CollateralSigner {
  key: KeyObject;
  chainPem: string;
}

/**
 * The bundle with its TCB info and/or QE identity signed by `signer` and carrying its chain —
 * what an attacker holding some certificate's key under the root could produce.
 */
export function resignCollateral(
  collateral: QuoteCollateralV3,
  signer: CollateralSigner,
  documents: 'tcbInfo' | 'qeIdentity' | 'both' = 'both',
): QuoteCollateralV3 {
  const sign = (body: string) => signP256Raw(signer.key, Buffer.from(body, 'utf8')).toString('hex');
  const out = { ...collateral };
  if (documents !== 'qeIdentity') {
    out.tcb_info_signature = sign(collateral.tcb_info);
    out.tcb_info_issuer_chain = signer.chainPem;
  }
  if (documents !== 'tcbInfo') {
    out.qe_identity_signature = sign(collateral.qe_identity);
    out.qe_identity_issuer_chain = signer.chainPem;
  }
  return out;
}
