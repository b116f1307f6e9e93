/** verifyTcbInfo: the TDX TCB info is signed by Intel's TCB signing key and parses as TDX v3+. */
import { TrustAnchor, VerifiedChain } from './cert-chain';
import { parseTcbInfoJson } from './collateral-json';
import { TcbInfo } from './collateral.types';
import { verifySignedDocument } from './signed-document';
import { checkWindow } from './validity';

export interface VerifiedTcbInfo {
  tcbInfo: TcbInfo;
  signingChain: VerifiedChain;
}

export function verifyTcbInfo(
  input: { text: string; signatureHex: string; issuerChainPem: string },
  anchor: TrustAnchor,
): VerifiedTcbInfo {
  const signingChain = verifySignedDocument(input, anchor, 'tcb_info');
  return { tcbInfo: parseTcbInfoJson(input.text), signingChain };
}

export function checkTcbInfoValidity(tcbInfo: TcbInfo, nowMs: number, graceMs: number): void {
  checkWindow('tcb_info', tcbInfo.issueDate, tcbInfo.nextUpdate, nowMs, graceMs);
}
