export type NoncePurpose = 'boot' | 'runtime';

/** A nonce as stored: its binding and expiry (the nonce itself is never stored, only its SHA-256). */
export interface NonceBinding {
  purpose: NoncePurpose;
  clientIp: string;
  serverId: string | null;
  expiresAt: Date;
}
