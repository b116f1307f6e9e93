/** `quote`: the boot answer's luks_quote_nonce (gen C), for the runtime quote of /provision or /luks/attest. */
export type NoncePurpose = 'boot' | 'runtime' | 'quote';

/** A nonce as stored: its binding and expiry (the nonce itself is never stored, only its SHA-256). */
export interface NonceBinding {
  purpose: NoncePurpose;
  clientIp: string;
  serverId: string | null;
  expiresAt: Date;
  /** A boot nonce issued with `?miner_hotkey=`, or a quote nonce: the hotkey it is bound to. */
  minerHotkey?: string | null;
  /** A quote nonce: the VM it was issued to, and the boot attestation that issued it. */
  vmName?: string | null;
  attestationId?: string | null;
}
