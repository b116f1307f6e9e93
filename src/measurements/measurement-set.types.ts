import type { SealedSecret } from '../keys/envelope';

export interface RtmrSet {
  rtmr0?: string;
  rtmr1?: string;
  rtmr2?: string;
  rtmr3?: string;
}

/**
 * A registered measurement set (immutable per (name, version); `retiredAt` stops it matching). The
 * root passphrase stays sealed (AAD `root|<version>`) here and never leaves through a DTO.
 */
export interface MeasurementSet {
  id: string;
  name: string;
  version: string;
  mrtd: string;
  bootRtmrs: RtmrSet;
  runtimeRtmrs: RtmrSet;
  expectedGpus: string[];
  gpuCount: number | null;
  /** A release candidate: never matched unless the caller proves a hotkey in `authorizedHotkeys`. */
  rc: boolean;
  authorizedHotkeys: string[];
  /** Null when the set has no root passphrase (it can match but never release a root key). */
  sealedRootPassphrase: SealedSecret | null;
  createdAt: Date;
  retiredAt: Date | null;
}

/** A set's sealed root passphrase, located for re-wrapping. */
export interface SealedRootPassphrase {
  setId: string;
  version: string;
  sealed: SealedSecret;
}
