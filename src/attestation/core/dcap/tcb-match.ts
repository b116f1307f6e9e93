/**
 * TCB level matching for TDX, following Intel's QVL:
 *  - platform level: the first tcbLevel whose SGX components and PCESVN (from the PCK certificate)
 *    and TDX components (from the quote's TEE_TCB_SVN) are all >= the level's;
 *  - when TEE_TCB_SVN[1] (the TDX module major version) is non-zero, bytes 0..1 are the module's
 *    own SVN and version: they are left out of the component comparison and judged instead by the
 *    tcbInfo.tdxModuleIdentities entry "TDX_<version as 2 hex digits>" (ISVSVN = TEE_TCB_SVN[0]);
 *  - the module's MRSIGNERSEAM and masked SEAM attributes must match that identity (or tcbInfo.tdxModule
 *    for version 0);
 *  - statuses converge platform → TDX module → QE as Intel's convergence rules say.
 * TD report 1.5 is matched on TEE_TCB_SVN too; TEE_TCB_SVN2 (the SVNs after a TD-preserving
 * TDX module update) only turns an OutOfDate module into TDRelaunchAdvised — see tdRelaunchStatus.
 */
import { DomainError, ErrorCode } from '../../../common/errors';
import { byteAt, bytesEqual, toHex } from '../quote/encoding';
import type { TdReport } from '../quote/quote.types';
import { TcbInfo, TcbLevel, TcbStatus, TdxModuleSigner } from './collateral.types';
import type { PckExtension } from './pck-extension';

export interface TcbMatch {
  status: TcbStatus;
  advisoryIds: string[];
}

export interface TdxTcbEvaluation {
  platform: TcbMatch & { tcbDate: string };
  tdxModule: TcbMatch | null;
  /** Status of the first level the SGX components and PCESVN alone reach (Intel's "SGX TCB level"). */
  sgxStatus: TcbStatus;
}

export function matchTdxTcbLevel(tcbInfo: TcbInfo, pck: PckExtension, report: TdReport): TdxTcbEvaluation {
  const teeTcbSvn = report.teeTcbSvn;
  const moduleVersion = byteAt(teeTcbSvn, 1);
  const firstTdxComponent = moduleVersion > 0 ? 2 : 0;
  const level = tcbInfo.tcbLevels.find(
    (candidate) =>
      pck.pceSvn >= candidate.pceSvn &&
      componentsReach(pck.sgxTcbComponents, candidate.sgxTcbComponents, 0) &&
      componentsReach(teeTcbSvn, candidate.tdxTcbComponents, firstTdxComponent),
  );
  if (!level) {
    throw new DomainError(ErrorCode.TCB_LEVEL_NOT_FOUND, 'no TCB level of the TCB info matches this platform', {
      step: 'tcb_level',
      pceSvn: pck.pceSvn,
      sgxTcbComponents: pck.sgxTcbComponents,
      teeTcbSvn: toHex(teeTcbSvn),
    });
  }
  // Exists: the level found above reaches these too.
  const sgxLevel = tcbInfo.tcbLevels.find(
    (candidate) => pck.pceSvn >= candidate.pceSvn && componentsReach(pck.sgxTcbComponents, candidate.sgxTcbComponents, 0),
  )!;
  return { platform: platformMatch(level), tdxModule: evaluateTdxModule(tcbInfo, report), sgxStatus: sgxLevel.tcbStatus };
}

function platformMatch(level: TcbLevel): TcbMatch & { tcbDate: string } {
  return { status: level.tcbStatus, advisoryIds: level.advisoryIds, tcbDate: level.tcbDate };
}

function componentsReach(actual: ArrayLike<number>, required: number[], from: number): boolean {
  for (const [i, minimum] of required.entries()) {
    // A component the platform does not report cannot reach the level.
    if (i >= from && !((actual[i] ?? -1) >= minimum)) return false;
  }
  return true;
}

/** The TDX module's identity and, for module versions > 0, its own TCB level. */
function evaluateTdxModule(tcbInfo: TcbInfo, report: TdReport): TcbMatch | null {
  const moduleIsvSvn = byteAt(report.teeTcbSvn, 0);
  const moduleVersion = byteAt(report.teeTcbSvn, 1);
  if (moduleVersion === 0) {
    if (tcbInfo.tdxModule) requireModuleSigner(tcbInfo.tdxModule, report, 'tdxModule');
    return null;
  }
  const id = `TDX_${moduleVersion.toString(16).toUpperCase().padStart(2, '0')}`;
  const identity = tcbInfo.tdxModuleIdentities.find((candidate) => candidate.id.toUpperCase() === id);
  if (!identity) {
    throw new DomainError(ErrorCode.TCB_LEVEL_NOT_FOUND, `TCB info has no TDX module identity ${id}`, {
      step: 'tdx_module',
      moduleVersion,
    });
  }
  requireModuleSigner(identity, report, id);
  const level = identity.tcbLevels.find((candidate) => moduleIsvSvn >= candidate.isvSvn);
  if (!level) {
    throw new DomainError(ErrorCode.TCB_LEVEL_NOT_FOUND, `TDX module ${id} SVN ${moduleIsvSvn} is below every TCB level`, {
      step: 'tdx_module',
      moduleIsvSvn,
    });
  }
  return { status: level.tcbStatus, advisoryIds: level.advisoryIds };
}

function requireModuleSigner(expected: TdxModuleSigner, report: TdReport, name: string): void {
  let attributesMatch = true;
  for (let i = 0; i < expected.attributes.length; i++) {
    const mask = byteAt(expected.attributesMask, i);
    if ((byteAt(report.seamAttributes, i) & mask) !== (byteAt(expected.attributes, i) & mask)) {
      attributesMatch = false;
    }
  }
  if (!bytesEqual(report.mrSignerSeam, expected.mrSigner) || !attributesMatch) {
    // No dedicated code: an unrecognised TDX module leaves no TCB level that applies to this platform.
    throw new DomainError(ErrorCode.TCB_LEVEL_NOT_FOUND, `TDX module signer or SEAM attributes do not match ${name}`, {
      step: 'tdx_module',
      mrSignerSeam: toHex(report.mrSignerSeam),
      seamAttributes: toHex(report.seamAttributes),
    });
  }
}

/**
 * Intel's convergence (QVL TdxModuleCheck / QuoteVerifier): an out-of-date TDX module or QE makes
 * an up-to-date (or SW-hardening) platform OutOfDate, and a configuration-needed one
 * OutOfDateConfigurationNeeded; a revoked module or QE makes the whole TCB Revoked. Advisories of
 * every level that contributed are reported, each once.
 */
export function convergeTcbStatus(platform: TcbMatch, tdxModule: TcbMatch | null, qe: TcbMatch): TcbMatch {
  let status = platform.status;
  for (const component of [tdxModule, qe]) {
    if (component) status = convergeWith(status, component.status);
  }
  const advisoryIds = [...new Set([...platform.advisoryIds, ...(tdxModule?.advisoryIds ?? []), ...qe.advisoryIds])];
  return { status, advisoryIds };
}

/**
 * Intel's TD relaunch rule, literally as Intel's QVL implements it (SGX-TDX-DCAP-QuoteVerification-
 * Library, Src/AttestationLibrary/src/Verifiers/Checks/TDRelaunchCheck.cpp, checkForRelaunch(),
 * called by TcbLevelCheck.cpp checkTcbLevel() for TD report 1.5 bodies, step 4.1.2.4.17.4.3):
 * a TD launched on an out-of-date TDX module whose platform has since received a TD-preserving
 * update to the latest module (TEE_TCB_SVN2) is "TDRelaunchAdvised" (with "ConfigurationNeeded"
 * when the SGX or TDX level says so) instead of OutOfDate — provided the QE is neither OutOfDate
 * nor Revoked, the SGX level is UpToDate / SWHardeningNeeded / ConfigurationNeeded /
 * ConfigurationAndSWHardeningNeeded, the TDX level converged with the module is OutOfDate(-
 * ConfigurationNeeded), and the module's own level is OutOfDate. "Latest" is Intel's: the
 * greatest TCB level (SGX components, then PCESVN, then TDX components) and, for module versions
 * > 0, the first level of the TDX_<TEE_TCB_SVN2[1]> identity. Returns null when the rule does not
 * apply; an unknown module version in TEE_TCB_SVN2 fails, as in Intel's QVL (TDX_MODULE_MISMATCH).
 */
export function tdRelaunchStatus(tcbInfo: TcbInfo, report: TdReport, evaluation: TdxTcbEvaluation, qeStatus: TcbStatus): TcbStatus | null {
  const svn2 = report.teeTcbSvn2;
  if (!svn2 || !evaluation.tdxModule) return null;
  if (qeStatus === 'OutOfDate' || qeStatus === 'Revoked') return null;
  const sgxStatus = evaluation.sgxStatus;
  if (!['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded'].includes(sgxStatus)) return null;
  const tdxStatus = convergeWith(evaluation.platform.status, evaluation.tdxModule.status);
  if (tdxStatus !== 'OutOfDate' && tdxStatus !== 'OutOfDateConfigurationNeeded') return null;
  if (evaluation.tdxModule.status !== 'OutOfDate') return null;

  const [first, ...others] = tcbInfo.tcbLevels;
  if (!first) return null;
  const latest = others.reduce((best, level) => (compareLevels(level, best) > 0 ? level : best), first);
  // TEE_TCB_SVN2 bytes: [0] TDX module ISV SVN, [1] module major version, [2] late microcode SVN.
  const [moduleSvn, moduleVersion, lateSvn] = [byteAt(svn2, 0), byteAt(svn2, 1), byteAt(svn2, 2)];
  let moduleIsvSvn: number | undefined;
  if (moduleVersion === 0) {
    moduleIsvSvn = latest.tdxTcbComponents[0];
  } else {
    const id = `TDX_${moduleVersion.toString(16).toUpperCase().padStart(2, '0')}`;
    const identity = tcbInfo.tdxModuleIdentities.find((candidate) => candidate.id.toUpperCase() === id);
    if (!identity) {
      throw new DomainError(ErrorCode.TCB_LEVEL_NOT_FOUND, `TCB info has no TDX module identity ${id} (TEE_TCB_SVN2)`, { step: 'tdx_module', moduleVersion });
    }
    moduleIsvSvn = identity.tcbLevels[0]?.isvSvn;
  }
  const latestLateSvn = latest.tdxTcbComponents[2];
  // A level that does not say what it requires cannot advise a relaunch.
  if (moduleIsvSvn === undefined || latestLateSvn === undefined) return null;
  if (moduleSvn < moduleIsvSvn || lateSvn < latestLateSvn) return null;
  return configurationNeeded(sgxStatus) || configurationNeeded(tdxStatus) ? 'TDRelaunchAdvisedConfigurationNeeded' : 'TDRelaunchAdvised';
}

function configurationNeeded(status: TcbStatus): boolean {
  return ['ConfigurationNeeded', 'OutOfDateConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'TDRelaunchAdvisedConfigurationNeeded'].includes(status);
}

/** Intel's TcbLevel ordering: SGX components (lexicographic), then PCESVN, then TDX components. */
function compareLevels(a: TcbLevel, b: TcbLevel): number {
  return compareSvns(a.sgxTcbComponents, b.sgxTcbComponents) || a.pceSvn - b.pceSvn || compareSvns(a.tdxTcbComponents, b.tdxTcbComponents);
}

function compareSvns(a: number[], b: number[]): number {
  for (const [i, left] of a.entries()) {
    const right = b[i];
    if (right === undefined) break;
    if (left !== right) return left - right;
  }
  return a.length - b.length;
}

function convergeWith(status: TcbStatus, componentStatus: TcbStatus): TcbStatus {
  if (componentStatus === 'Revoked') return 'Revoked';
  if (componentStatus !== 'OutOfDate') return status;
  switch (status) {
    case 'UpToDate':
    case 'SWHardeningNeeded':
      return 'OutOfDate';
    case 'ConfigurationNeeded':
    case 'ConfigurationAndSWHardeningNeeded':
      return 'OutOfDateConfigurationNeeded';
    case 'OutOfDate':
    case 'OutOfDateConfigurationNeeded':
    case 'Revoked':
    case 'TDRelaunchAdvised':
    case 'TDRelaunchAdvisedConfigurationNeeded':
      return status;
  }
}
