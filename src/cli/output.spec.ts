import { cell, flatten, Output, renderKeyValues, renderTable, shortKey } from './output';

function stream(isTTY = false) {
  const chunks: string[] = [];
  return { chunks, isTTY, write: (text: string) => chunks.push(text), text: () => chunks.join('') };
}

describe('tables and key/value lists', () => {
  it('pads columns to the widest cell, shows missing values as -, and does not pad the last column', () => {
    const rows = [
      { id: 'srv-1', name: 'vm-001', gpus: ['h100', 'h100'] },
      { id: 'srv-22', name: null, gpus: [] },
    ];
    expect(
      renderTable(rows, [
        { header: 'ID', value: (r) => r.id },
        { header: 'NAME', value: (r) => r.name },
        { header: 'GPUS', value: (r) => r.gpus },
      ]),
    ).toBe('ID      NAME    GPUS\nsrv-1   vm-001  h100,h100\nsrv-22  -       -\n');
  });

  it('aligns keys, flattens nested objects, shortens hotkeys for tables', () => {
    expect(renderKeyValues(flatten({ name: 'gpu-vm', boot_rtmrs: { rtmr0: 'aa' }, count: 0, on: false }))).toBe(
      'name:             gpu-vm\nboot_rtmrs.rtmr0: aa\ncount:            0\non:               false\n',
    );
    expect(shortKey('5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY')).toBe('5GrwvaEF…utQY');
    expect(cell({ a: 1 })).toBe('{"a":1}');
  });
});

describe('Output', () => {
  it('prints raw JSON with --json and the human form otherwise', () => {
    const out = stream();
    new Output(out, stream(), true).result({ items: [] }, () => out.write('human'));
    expect(JSON.parse(out.text())).toEqual({ items: [] });
    const human = stream();
    new Output(human, stream(), false).result({ items: [] }, () => human.write('human'));
    expect(human.text()).toBe('human');
  });

  it('shows no spinner when stderr is not a terminal', async () => {
    const err = stream(false);
    expect(await new Output(stream(), err, false).progress('waiting', () => Promise.resolve(42))).toBe(42);
    expect(err.chunks).toEqual([]);
  });

  it('spins on a terminal while the work runs, then clears the line, also when the work fails', async () => {
    jest.useFakeTimers();
    try {
      const err = stream(true);
      const output = new Output(stream(), err, false);
      let finish!: (value: string) => void;
      const running = output.progress('registering srv-1', () => new Promise<string>((resolve) => (finish = resolve)));
      jest.advanceTimersByTime(350);
      finish('done');
      expect(await running).toBe('done');
      expect(err.chunks.length).toBeGreaterThanOrEqual(4);
      expect(err.chunks[0]).toMatch(/^\r⠋ registering srv-1 \(0s\)$/);
      expect(err.chunks.at(-1)).toBe('\r\x1b[2K');

      const failing = output.progress('x', () => Promise.reject(new Error('refused')));
      await expect(failing).rejects.toThrow('refused');
      expect(err.chunks.at(-1)).toBe('\r\x1b[2K');
    } finally {
      jest.useRealTimers();
    }
  });
});
