export type MinerStatus = 'allowed' | 'blocked';

export const MINER_STATUSES: readonly MinerStatus[] = ['allowed', 'blocked'];
export const MINER_REASON_MAX_LENGTH = 500;

/** An entry of the allow/block list; `hotkey` is canonical ss58 (prefix 42). */
export interface MinerRecord {
  hotkey: string;
  status: MinerStatus;
  reason: string | null;
  updatedAt: Date;
}
