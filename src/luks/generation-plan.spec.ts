import { GenerationView, planSync, retainedGenerations } from './generation-plan';

const g = (volume: string, generation: number, state: GenerationView['state']): GenerationView => ({ volume, generation, state });

describe('planSync', () => {
  const cases: [string, GenerationView[], string[], string[], ReturnType<typeof planSync>][] = [
    [
      'a gen-C root key, k3s key and pending generations are never retired or touched by a sync',
      [g('root', 2, 'current'), g('root', 3, 'pending'), g('k3s', 1, 'current'), g('storage', 1, 'current'), g('storage', 2, 'pending')],
      ['storage'],
      [],
      {
        steps: [{ volume: 'storage', action: 'keep', generation: 1 }],
        retire: [],
      },
    ],
    [
      'first sync: every volume gets generation 1',
      [],
      ['storage', 'tdx-cache'],
      ['storage', 'tdx-cache'],
      {
        steps: [
          { volume: 'storage', action: 'create', generation: 1 },
          { volume: 'tdx-cache', action: 'create', generation: 1 },
        ],
        retire: [],
      },
    ],
    [
      'an ordinary boot keeps the current generations',
      [g('storage', 2, 'current'), g('storage', 1, 'superseded')],
      ['storage'],
      [],
      {
        steps: [{ volume: 'storage', action: 'keep', generation: 2 }],
        retire: [],
      },
    ],
    [
      'a rekey adds a generation and supersedes the current one',
      [g('storage', 2, 'current'), g('storage', 1, 'superseded')],
      ['storage'],
      ['storage'],
      {
        steps: [{ volume: 'storage', action: 'rekey', generation: 3, replaces: { generation: 2, state: 'current' } }],
        retire: [],
      },
    ],
    [
      'a restored older generation is the one replaced by a rekey',
      [g('storage', 2, 'superseded'), g('storage', 1, 'current')],
      ['storage'],
      ['storage'],
      {
        steps: [{ volume: 'storage', action: 'rekey', generation: 3, replaces: { generation: 1, state: 'current' } }],
        retire: [],
      },
    ],
    [
      'a volume left out is retired, not deleted',
      [g('storage', 1, 'current'), g('tdx-cache', 1, 'current')],
      ['storage'],
      [],
      {
        steps: [{ volume: 'storage', action: 'keep', generation: 1 }],
        retire: [{ volume: 'tdx-cache', generation: 1 }],
      },
    ],
    [
      'listing a retired volume again makes its generation current again',
      [g('tdx-cache', 3, 'retired'), g('tdx-cache', 2, 'superseded')],
      ['tdx-cache'],
      [],
      {
        steps: [{ volume: 'tdx-cache', action: 'reactivate', generation: 3 }],
        retire: [],
      },
    ],
    [
      'rekeying a retired volume replaces the retired generation',
      [g('tdx-cache', 1, 'retired')],
      ['tdx-cache'],
      ['tdx-cache'],
      {
        steps: [{ volume: 'tdx-cache', action: 'rekey', generation: 2, replaces: { generation: 1, state: 'retired' } }],
        retire: [],
      },
    ],
    [
      'shredded generations still count: numbers are never reused',
      [g('storage', 4, 'shredded'), g('storage', 3, 'shredded')],
      ['storage'],
      [],
      {
        steps: [{ volume: 'storage', action: 'create', generation: 5 }],
        retire: [],
      },
    ],
    [
      'only superseded generations left: nothing in use, a new one is created',
      [g('storage', 2, 'superseded')],
      ['storage'],
      [],
      {
        steps: [{ volume: 'storage', action: 'create', generation: 3 }],
        retire: [],
      },
    ],
    [
      'volumes of the request are independent',
      [g('storage', 1, 'current'), g('tdx-cache', 7, 'current')],
      ['tdx-cache', 'storage'],
      ['tdx-cache'],
      {
        steps: [
          { volume: 'tdx-cache', action: 'rekey', generation: 8, replaces: { generation: 7, state: 'current' } },
          { volume: 'storage', action: 'keep', generation: 1 },
        ],
        retire: [],
      },
    ],
  ];

  it.each(cases)('%s', (_case, stored, volumes, rekey, expected) => {
    expect(planSync(stored, volumes, rekey)).toEqual(expected);
  });
});

describe('retainedGenerations', () => {
  const stored = [
    g('storage', 4, 'shredded'),
    g('storage', 3, 'current'),
    g('storage', 1, 'superseded'),
    g('storage', 2, 'superseded'),
    g('tdx-cache', 9, 'superseded'),
  ];

  it.each([
    ['the current one returned: the others, newest first, shredded ones left out', 3, [2, 1]],
    ['a new generation returned: every kept one', 5, [3, 2, 1]],
  ] as const)('%s', (_case, returned, expected) => {
    expect(retainedGenerations(stored, 'storage', returned)).toEqual(expected);
  });
});
