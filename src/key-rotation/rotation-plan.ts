/**
 * Which key a gen-C VM is handed for one volume (its root disk at boot, storage and cache at
 * /provision) and what happens to the stored generations, as a pure function (DESIGN.md "Chutes
 * VM ≥ 1.3 protocol"; CHUTES-PROTOCOL §1.3, §1.6, §7.2 items 1 and 7).
 *
 * Each issue hands out a key (the current generation; for the root, the set's root passphrase on
 * a first boot or when the VM has none) and a new `pending` generation as `next`, recording the
 * handed-out generation as its parent. A confirm marks that pending generation confirmed — proof
 * that its parent opened the disk — and promotes or discards it.
 *
 * The lost answer: the real VM treats any non-200 confirm (a timeout, a dropped answer) as failure
 * and removes `next` from its disk, while the broker may already have promoted it. Nothing on the
 * wire tells the broker which happened, and the VM tries exactly one key. So a current generation
 * that was promoted but never yet proven to open the disk is on probation: when the last issue
 * handed it out and no confirm followed (the VM could not open its disk and powered off), the
 * next issue hands out its parent instead — the key that opened the disk when it was issued. The
 * disk opens again within one failed boot instead of never.
 */

/** One stored generation of the volume, as the plan needs it. */
export interface RotationGeneration {
  generation: number;
  state: 'current' | 'pending' | 'superseded' | 'retired' | 'discarded' | 'abandoned' | 'shredded';
  /** The generation handed out beside it when it was issued as `next` (0 = the set's root passphrase). */
  parentGeneration: number | null;
  confirmedAt: Date | null;
}

/** What the VM is handed as its key: a stored generation, the set's root passphrase, or nothing (a blank volume). */
export type HandOut = { source: 'generation'; generation: number } | { source: 'default' } | { source: 'none' };

export type HandOutReason =
  /** the current generation */
  | 'current'
  /** the current generation is on probation and failed to open at the last boot: its parent */
  | 'fallback'
  /** the VM reports a fresh image (LUKS2 token 15): the set's root passphrase */
  | 'first_boot'
  /** no current generation: the set's root passphrase (root), or nothing (a volume to format) */
  | 'no_current'
  /** a volume's first key, issued and perhaps used to format, whose confirm never came: it is the key */
  | 'unconfirmed_first_key';

export interface RotationPlan {
  handOut: HandOut;
  reason: HandOutReason;
  /** The current generation to supersede now (a first boot starts over from the set's passphrase). */
  supersede: number | null;
  /** The pending generation of an earlier issue that never got its confirm: abandoned. */
  abandon: number | null;
  /** That pending generation made current instead (it may be the only key of a freshly formatted volume). */
  promote: number | null;
  /** The new pending generation: its number and its parent (0: the set's root passphrase; null: nothing). */
  next: { generation: number; parent: number | null };
}

export interface RotationInput {
  /** Every generation of this volume of this VM. */
  generations: readonly RotationGeneration[];
  /** The root volume: a set's root passphrase stands for "no key yet". */
  isRoot: boolean;
  /** Root only: the VM reported a fresh image copy. */
  firstBoot: boolean;
  /** Root only: the matched set has a root passphrase. */
  hasDefault: boolean;
}

function parentOf(handOut: HandOut): number | null {
  if (handOut.source === 'generation') return handOut.generation;
  return handOut.source === 'default' ? 0 : null;
}

export function planRotation(input: RotationInput): RotationPlan {
  const { generations, isRoot, firstBoot, hasDefault } = input;
  const current = generations.find((g) => g.state === 'current');
  const pending = generations.find((g) => g.state === 'pending');
  const nextNumber = Math.max(0, ...generations.map((g) => g.generation)) + 1;
  const plan = (handOut: HandOut, reason: HandOutReason, changes: Partial<Pick<RotationPlan, 'supersede' | 'promote'>> = {}): RotationPlan => ({
    handOut,
    reason,
    supersede: changes.supersede ?? null,
    promote: changes.promote ?? null,
    abandon: pending && pending.generation !== changes.promote ? pending.generation : null,
    next: { generation: nextNumber, parent: parentOf(handOut) },
  });
  const rootDefault: HandOut = isRoot && hasDefault ? { source: 'default' } : { source: 'none' };

  if (isRoot && firstBoot) return plan(rootDefault, 'first_boot', { supersede: current?.generation ?? null });
  if (current) {
    const provenToOpen = generations.some((g) => g.parentGeneration === current.generation && g.confirmedAt !== null);
    const lastIssueFailed = pending !== undefined && pending.parentGeneration === current.generation;
    const parent = current.parentGeneration;
    if (!provenToOpen && lastIssueFailed && parent !== null) {
      if (parent === 0 && isRoot && hasDefault) return plan({ source: 'default' }, 'fallback');
      const stored = generations.find((g) => g.generation === parent && g.state !== 'shredded');
      if (parent > 0 && stored) return plan({ source: 'generation', generation: parent }, 'fallback');
    }
    return plan({ source: 'generation', generation: current.generation }, 'current');
  }
  if (!isRoot && pending && pending.parentGeneration === null) {
    return plan({ source: 'generation', generation: pending.generation }, 'unconfirmed_first_key', { promote: pending.generation });
  }
  return plan(rootDefault, 'no_current');
}
