import { planRotation, RotationGeneration } from './rotation-plan';

const g = (generation: number, state: RotationGeneration['state'], parentGeneration: number | null = null, confirmed = false): RotationGeneration => ({
  generation,
  state,
  parentGeneration,
  confirmedAt: confirmed ? new Date(0) : null,
});
const root = (generations: RotationGeneration[], firstBoot = false, hasDefault = true) => planRotation({ generations, isRoot: true, firstBoot, hasDefault });
const volume = (generations: RotationGeneration[]) => planRotation({ generations, isRoot: false, firstBoot: false, hasDefault: false });

describe('planRotation', () => {
  it('a first boot with nothing stored: the set passphrase, next generation 1 with parent 0', () => {
    expect(root([], true)).toEqual({
      handOut: { source: 'default' },
      reason: 'first_boot',
      supersede: null,
      abandon: null,
      promote: null,
      next: { generation: 1, parent: 0 },
    });
  });

  it('a first boot over stored generations supersedes the current one and abandons a stale pending one', () => {
    const plan = root([g(2, 'current', 1, false), g(3, 'pending', 2), g(1, 'superseded', 0, true)], true);
    expect(plan).toMatchObject({ handOut: { source: 'default' }, supersede: 2, abandon: 3, next: { generation: 4, parent: 0 } });
  });

  it('an ordinary reboot: the current generation, next = a new pending one whose parent it is', () => {
    const plan = root([g(1, 'current', 0, true), g(2, 'current', 1, false)].slice(0, 1));
    expect(plan).toMatchObject({ handOut: { source: 'generation', generation: 1 }, reason: 'current', abandon: null, next: { generation: 2, parent: 1 } });
  });

  it('an unconfirmed pending generation whose parent is a proven current one: abandoned, current handed out (the VM died before its confirm)', () => {
    // generation 1 is proven (a confirmed issue names it as parent); the last issue (3) was never confirmed
    const plan = root([g(1, 'current', 0, false), g(2, 'discarded', 1, true), g(3, 'pending', 1)]);
    expect(plan).toMatchObject({ handOut: { source: 'generation', generation: 1 }, reason: 'current', abandon: 3, next: { generation: 4, parent: 1 } });
  });

  it('the lost confirm answer: a promoted generation that never opened and failed its last issue → its parent (the set passphrase)', () => {
    // boot 1: default handed out, 1 issued and promoted, answer lost; boot 2: 1 handed out, 2 issued, never confirmed
    const plan = root([g(1, 'current', 0, true), g(2, 'pending', 1)]);
    expect(plan).toMatchObject({ handOut: { source: 'default' }, reason: 'fallback', abandon: 2, next: { generation: 3, parent: 0 } });
  });

  it('the lost confirm answer on a later rotation: the parent generation', () => {
    const plan = root([g(1, 'superseded', 0, true), g(2, 'superseded', 1, true), g(3, 'current', 2, true), g(4, 'pending', 3)]);
    expect(plan).toMatchObject({ handOut: { source: 'generation', generation: 2 }, reason: 'fallback', abandon: 4, next: { generation: 5, parent: 2 } });
  });

  it('probation alternates: when the fallback failed too, the current generation again', () => {
    // boot 3 handed out the parent (0) with pending 3; it never confirmed either
    const plan = root([g(1, 'current', 0, true), g(2, 'abandoned', 1), g(3, 'pending', 0)]);
    expect(plan).toMatchObject({ handOut: { source: 'generation', generation: 1 }, reason: 'current', abandon: 3 });
  });

  it('a promoted generation once proven to open is never on probation', () => {
    const plan = root([g(1, 'superseded', 0, true), g(2, 'current', 1, true), g(3, 'discarded', 2, true), g(4, 'pending', 2)]);
    expect(plan).toMatchObject({ handOut: { source: 'generation', generation: 2 }, reason: 'current' });
  });

  it('a shredded parent cannot be handed out: the current generation stays', () => {
    const plan = root([g(1, 'shredded', 0, true), g(2, 'current', 1, true), g(3, 'pending', 2)]);
    expect(plan).toMatchObject({ handOut: { source: 'generation', generation: 2 }, reason: 'current' });
  });

  it('a root without a set passphrase and nothing stored: nothing to hand out', () => {
    expect(root([], true, false)).toMatchObject({ handOut: { source: 'none' } });
    expect(root([], false, false)).toMatchObject({ handOut: { source: 'none' }, reason: 'no_current' });
  });

  it('a volume with nothing stored: current null, next generation 1 without parent', () => {
    expect(volume([])).toMatchObject({ handOut: { source: 'none' }, reason: 'no_current', next: { generation: 1, parent: null } });
  });

  it('a volume whose first key was issued but never confirmed: that key becomes current (it may have formatted the disk)', () => {
    const plan = volume([g(1, 'pending', null)]);
    expect(plan).toMatchObject({ handOut: { source: 'generation', generation: 1 }, reason: 'unconfirmed_first_key', promote: 1, abandon: null });
    expect(plan.next).toEqual({ generation: 2, parent: 1 });
  });

  it('a volume: current handed out and fallback to its parent generation after a lost storage confirm', () => {
    expect(volume([g(1, 'current', null, true), g(2, 'pending', 1)])).toMatchObject({ handOut: { source: 'generation', generation: 1 }, abandon: 2 });
    expect(volume([g(1, 'superseded', null, true), g(2, 'current', 1, true), g(3, 'pending', 2)])).toMatchObject({
      handOut: { source: 'generation', generation: 1 },
      reason: 'fallback',
    });
  });
});
