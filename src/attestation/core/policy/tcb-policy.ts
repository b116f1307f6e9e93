/** TCB and TD-attribute policy: safe by default (UpToDate only, no debug TDs). */

export interface TcbPolicyVerdict {
  accepted: boolean;
  status: string;
}

export function evaluateTcbPolicy(status: string, acceptedStatuses: readonly string[]): TcbPolicyVerdict {
  return { accepted: acceptedStatuses.includes(status), status };
}

/** TD attributes bit 0 (DEBUG): a debuggable TD's memory is readable by the host, so it never passes. */
export function evaluateDebugPolicy(debug: boolean): { accepted: boolean } {
  return { accepted: !debug };
}
