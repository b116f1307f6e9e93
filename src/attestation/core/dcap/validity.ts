/**
 * The one rule for collateral freshness: issueDate (thisUpdate) <= now <= nextUpdate + grace.
 * Outside it the collateral is COLLATERAL_EXPIRED — a 503 the caller can cure with fresher collateral.
 */
import { DomainError, ErrorCode } from '../../../common/errors';

export function checkWindow(what: string, notBefore: number, nextUpdate: number, nowMs: number, graceMs: number): void {
  if (nowMs < notBefore) {
    throw new DomainError(ErrorCode.COLLATERAL_EXPIRED, `collateral ${what} is not yet valid`, {
      step: what,
      validFrom: new Date(notBefore).toISOString(),
      now: new Date(nowMs).toISOString(),
    });
  }
  if (nowMs > nextUpdate + graceMs) {
    throw new DomainError(ErrorCode.COLLATERAL_EXPIRED, `collateral ${what} is past its nextUpdate`, {
      step: what,
      nextUpdate: new Date(nextUpdate).toISOString(),
      graceSeconds: graceMs / 1000,
      now: new Date(nowMs).toISOString(),
    });
  }
}
