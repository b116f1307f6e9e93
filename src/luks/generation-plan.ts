/**
 * What a volume sync does to a VM's key generations (DESIGN.md "Volume key generations"), as a
 * pure function of the stored generations and the request — no I/O, so every rule is tested
 * on its own:
 * - a listed volume with a current generation keeps it, unless rekeyed;
 * - a listed volume that was retired gets that generation back as current (not a new one);
 * - a rekeyed volume gets a new generation; the one in use (current, or retired) is superseded
 *   and reported as replaced;
 * - a listed volume with nothing in use gets a new generation (numbers are never reused:
 *   shredded generations count);
 * - a stored volume not listed has its current generation retired — except the gen-C keys the
 *   boot and /provision own (`root`, `k3s`), which a sync never names. Nothing is ever deleted.
 */
import type { GenerationRef, GenerationState } from './volume-keys.repository';

export interface GenerationView extends GenerationRef {
  state: GenerationState;
}

export type VolumeStep =
  /** Return the current generation. */
  | { volume: string; action: 'keep'; generation: number }
  /** The retired generation becomes current again and is returned. */
  | { volume: string; action: 'reactivate'; generation: number }
  /** A new generation, current; nothing was in use. */
  | { volume: string; action: 'create'; generation: number }
  /** A new generation, current; the one in use becomes superseded. */
  | { volume: string; action: 'rekey'; generation: number; replaces: { generation: number; state: 'current' | 'retired' } };

export interface SyncPlan {
  /** One step per requested volume, in request order. */
  steps: VolumeStep[];
  /** Current generations of volumes left out of the request: they become retired. */
  retire: GenerationRef[];
}

/** Key "volumes" of gen-C VMs that no boot-token sync manages (the root key, the k3s secretbox key). */
export const GEN_C_KEYS: ReadonlySet<string> = new Set(['root', 'k3s']);

export function planSync(stored: readonly GenerationView[], volumes: readonly string[], rekey: readonly string[]): SyncPlan {
  const rekeyed = new Set(rekey);
  const listed = new Set(volumes);
  const steps = volumes.map((volume): VolumeStep => {
    const generations = stored.filter((key) => key.volume === volume);
    const current = generations.find((key) => key.state === 'current');
    const retired = generations.find((key) => key.state === 'retired');
    const next = Math.max(0, ...generations.map((key) => key.generation)) + 1;
    const inUse = current ?? retired;
    if (rekeyed.has(volume)) {
      return inUse
        ? { volume, action: 'rekey', generation: next, replaces: { generation: inUse.generation, state: inUse === current ? 'current' : 'retired' } }
        : { volume, action: 'create', generation: next };
    }
    if (current) return { volume, action: 'keep', generation: current.generation };
    if (retired) return { volume, action: 'reactivate', generation: retired.generation };
    return { volume, action: 'create', generation: next };
  });
  const retire = stored
    .filter((key) => key.state === 'current' && !listed.has(key.volume) && !GEN_C_KEYS.has(key.volume))
    .map(({ volume, generation }) => ({ volume, generation }));
  return { steps, retire };
}

/** The kept (not shredded) generations of `volume` other than `returned`, newest first. */
export function retainedGenerations(stored: readonly GenerationView[], volume: string, returned: number): number[] {
  return stored
    .filter((key) => key.volume === volume && key.state !== 'shredded' && key.generation !== returned)
    .map((key) => key.generation)
    .sort((a, b) => b - a);
}
