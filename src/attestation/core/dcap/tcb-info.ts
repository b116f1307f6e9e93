/** verifyTcbInfo: the TDX TCB info is signed by Intel's TCB signing key and parses as TDX v3+. */
import { TrustAnchor, VerifiedChain } from './cert-chain';
import { parseTcbInfoJson } from './collateral-json';
import { DomainError, ErrorCode } from '../../../common/errors';
import { TCB_LEVEL_STATUSES, TcbInfo, TcbStatus } from './collateral.types';
import { verifySignedDocument } from './signed-document';
import { checkWindow } from './validity';

export interface VerifiedTcbInfo {
  tcbInfo: TcbInfo;
  signingChain: VerifiedChain;
}

export function verifyTcbInfo(input: { text: string; signatureHex: string; issuerChainPem: string }, anchor: TrustAnchor): VerifiedTcbInfo {
  const signingChain = verifySignedDocument(input, anchor, 'tcb_info');
  const tcbInfo = parseTcbInfoJson(input.text);
  const statuses = [...tcbInfo.tcbLevels, ...tcbInfo.tdxModuleIdentities.flatMap((identity) => identity.tcbLevels)].map((level) => level.tcbStatus);
  requireLevelStatuses(statuses, 'tcb_info');
  return { tcbInfo, signingChain };
}

/** The TD relaunch statuses are verdicts Intel's QVL computes, never a level in a signed document. */
export function requireLevelStatuses(statuses: TcbStatus[], document: 'tcb_info' | 'qe_identity'): void {
  const unknown = statuses.find((status) => !TCB_LEVEL_STATUSES.includes(status));
  if (unknown) {
    throw new DomainError(ErrorCode.COLLATERAL_INVALID, `collateral ${document} has a level with status "${unknown}"`, { document, step: document });
  }
}

export function checkTcbInfoValidity(tcbInfo: TcbInfo, nowMs: number, graceMs: number): void {
  checkWindow('tcb_info', tcbInfo.issueDate, tcbInfo.nextUpdate, nowMs, graceMs);
}
