import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../config/app-config';
import { parseMeasurementsFile, parseMeasurementsText, readPassphraseFile } from './measurements-file';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-passphrase-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fileWith(name: string, content: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

describe('readPassphraseFile', () => {
  it.each([
    ['no newline', 'correct horse', 'correct horse'],
    ['one trailing newline trimmed', 'correct horse\n', 'correct horse'],
    ['one trailing CRLF trimmed', 'correct horse\r\n', 'correct horse'],
    ['UTF-8 beyond ASCII kept byte for byte', 'pässwörd ✓ 🔑\n', 'pässwörd ✓ 🔑'],
    ['inner spaces and newlines kept', 'two words\nsecond line\n', 'two words\nsecond line'],
  ])('accepts %s', (_name, content, expected) => {
    expect(readPassphraseFile(fileWith('ok', Buffer.from(content, 'utf8')), 'LUKS_ROOT_PASSPHRASE_FILE').toString('utf8')).toBe(expected);
  });

  it.each([
    ['binary (not UTF-8)', Buffer.from([0x8f, 0xff, 0x00, 0xc3, 0x28, 0x0a]), /is not valid UTF-8/],
    ['an overlong UTF-8 encoding', Buffer.from([0x70, 0xc0, 0xaf, 0x70]), /is not valid UTF-8/],
    ['empty', Buffer.alloc(0), /is empty/],
    ['a single newline', Buffer.from('\n'), /is empty/],
    ['two trailing newlines', Buffer.from('correct horse\n\n'), /leading or trailing whitespace/],
    ['a trailing space', Buffer.from('correct horse \n'), /leading or trailing whitespace/],
    ['a leading tab', Buffer.from('\tcorrect horse\n'), /leading or trailing whitespace/],
    ['a trailing carriage return alone', Buffer.from('correct horse\r'), /leading or trailing whitespace/],
    ['a byte-order mark', Buffer.from('\ufeffcorrect horse\n', 'utf8'), /leading or trailing whitespace/],
    ['a trailing no-break space', Buffer.from('correct horse\u00a0\n', 'utf8'), /leading or trailing whitespace/],
    ['whitespace only', Buffer.from('   \n'), /leading or trailing whitespace/],
  ])('refuses a file with %s in one line naming the variable and the file', (_name, content, problem) => {
    const file = fileWith('bad', content);
    let error: unknown;
    try {
      readPassphraseFile(file, 'LUKS_ROOT_PASSPHRASE_FILE');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(problem);
    expect(message).toContain('LUKS_ROOT_PASSPHRASE_FILE');
    expect(message).toContain(file);
    expect(message).not.toContain('\n');
    expect(message).not.toContain('correct horse');
  });

  it('says when the file cannot be read', () => {
    expect(() => readPassphraseFile(path.join(dir, 'missing'), 'LUKS_ROOT_PASSPHRASE_FILE')).toThrow(/LUKS_ROOT_PASSPHRASE_FILE cannot be read \(ENOENT/);
  });
});

const VECTORS = path.join(__dirname, '../../test/vectors/measurements');
const hex = (byte: string) => byte.repeat(48);
const ZERO = hex('00');
const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';

/** A flat entry as YAML lines, with overrides (`null` drops a field). */
function flat(fields: Record<string, string | null> = {}): string[] {
  const base: Record<string, string> = {
    name: 'gpu-vm',
    version: '"1.0.0"',
    mrtd: hex('a1'),
    boot_rtmrs: `{ rtmr0: ${hex('b0')}, rtmr1: ${hex('b1')}, rtmr2: ${hex('b2')} }`,
    runtime_rtmrs: `{ rtmr0: ${hex('b0')}, rtmr1: ${hex('b1')}, rtmr2: ${hex('b2')}, rtmr3: ${hex('b3')} }`,
    expected_gpus: '[h100]',
  };
  const merged = { ...base, ...fields };
  return Object.entries(merged)
    .filter(([, value]) => value !== null)
    .map(([key, value], index) => `${index === 0 ? '  - ' : '    '}${key}: ${value}`);
}

/** A gen-C release as YAML lines. */
function release(
  fields: Record<string, string | null> = {},
  hardware: string[] = [`      - { name: 8xh200, rtmr0: ${hex('c0')}, expected_gpus: [h200], gpu_count: 8 }`],
): string[] {
  const base: Record<string, string> = { version: '"1.4.0"', mrtd: hex('c1'), rtmr1: hex('c2'), rtmr2: hex('c3'), runtime_rtmr3: hex('c4') };
  const lines = Object.entries({ ...base, ...fields })
    .filter(([, value]) => value !== null)
    .map(([key, value], index) => `${index === 0 ? '  - ' : '    '}${key}: ${value}`);
  return [...lines, '    hardware:', ...hardware];
}

const parse = (lines: string[]) => parseMeasurementsText(['measurements:', ...lines].join('\n'), '/etc/bootkey/m.yaml');

describe('parseMeasurementsText', () => {
  it('loads the gen-B fixture in the style of the Chutes example: a version shared by two GPU flavours, register keys in either case; the placeholder entry is skipped', () => {
    const { entries, skipped } = parseMeasurementsFile(path.join(VECTORS, 'chutes-gen-b.yaml'));
    expect(entries.map(({ input }) => [input.name, input.version, input.expectedGpus, input.gpuCount])).toEqual([
      ['8xh200', '1', ['h200'], 8],
      ['8xb200', '1', ['b200'], 8],
    ]);
    expect(entries[0].input.bootRtmrs.rtmr3).toBe(ZERO);
    expect(entries[1].input.bootRtmrs).not.toHaveProperty('rtmr3');
    expect(entries[1].input.runtimeRtmrs.rtmr3).toMatch(/^[0-9a-f]{96}$/);
    expect(skipped).toEqual([{ entry: 'entry 3 (version "2", name "next-image")', problem: 'boot_rtmrs.rtmr0 must be 96 hex characters (48 bytes)' }]);
  });

  it('loads the gen-C fixture: one set per hardware item, boot RTMR3 zero, runtime RTMR3 from the release; rc and its hotkeys kept', () => {
    const { entries, skipped } = parseMeasurementsFile(path.join(VECTORS, 'chutes-gen-c.yaml'));
    expect(skipped).toEqual([]);
    expect(entries.map(({ input }) => [input.name, input.version, input.rc, input.authorizedHotkeys])).toEqual([
      ['8xh200', '1.4.0', false, []],
      ['8xb200', '1.4.0', false, []],
      ['8xh200', '1.4.1', true, [ALICE]],
    ]);
    const [h200, b200] = entries.map(({ input }) => input);
    expect(h200.bootRtmrs.rtmr3).toBe(ZERO);
    expect(h200.runtimeRtmrs).toEqual({
      rtmr0: h200.bootRtmrs.rtmr0,
      rtmr1: h200.bootRtmrs.rtmr1,
      rtmr2: h200.bootRtmrs.rtmr2,
      rtmr3: expect.stringMatching(/^[0-9a-f]{96}$/),
    });
    expect(h200.runtimeRtmrs.rtmr3).not.toBe(ZERO);
    expect([b200.mrtd, b200.bootRtmrs.rtmr1, b200.runtimeRtmrs.rtmr3]).toEqual([h200.mrtd, h200.bootRtmrs.rtmr1, h200.runtimeRtmrs.rtmr3]);
    expect(b200.bootRtmrs.rtmr0).not.toBe(h200.bootRtmrs.rtmr0);
  });

  it('gen C: a release-level root_passphrase_file applies to each item, an item-level one wins; paths are relative to the file', () => {
    const { entries } = parse(
      release({ root_passphrase_file: 'release.key' }, [
        `      - { name: a, rtmr0: ${hex('c0')}, expected_gpus: [h200], gpu_count: 8 }`,
        `      - { name: b, rtmr0: ${hex('c5')}, expected_gpus: [h200], gpu_count: 8, root_passphrase_file: /keys/b.key }`,
      ]),
    );
    expect(entries.map((entry) => entry.rootPassphraseFile)).toEqual(['/etc/bootkey/release.key', '/keys/b.key']);
  });

  it.each([
    ['a flat entry without version', flat({ version: null }), 'entry 1 (name "gpu-vm")', /^version must be/],
    ['a short mrtd', flat({ mrtd: hex('a1').slice(2) }), 'entry 1 (version "1.0.0", name "gpu-vm")', /^mrtd must be 96 hex/],
    [
      'an unknown register key',
      flat({ boot_rtmrs: `{ rtmr0: ${hex('b0')}, rtmr1: ${hex('b1')}, rtmr2: ${hex('b2')}, rtmr4: ${hex('b2')} }` }),
      'entry 1 (version "1.0.0", name "gpu-vm")',
      /unknown register "rtmr4"/,
    ],
    [
      'a register named twice (case)',
      flat({ boot_rtmrs: `{ rtmr0: ${hex('b0')}, RTMR0: ${hex('b0')}, rtmr1: ${hex('b1')}, rtmr2: ${hex('b2')} }` }),
      'entry 1 (version "1.0.0", name "gpu-vm")',
      /names rtmr0 twice/,
    ],
    ['a gpu_count that is not a number', flat({ gpu_count: 'eight' }), 'entry 1 (version "1.0.0", name "gpu-vm")', /^gpu_count must be/],
    ['rc as a word', flat({ rc: 'maybe' }), 'entry 1 (version "1.0.0", name "gpu-vm")', /^rc must be true or false/],
    ['rc without authorized hotkeys', flat({ rc: 'true' }), 'entry 1 (version "1.0.0", name "gpu-vm")', /authorized_hotkeys is empty/],
    [
      'an authorized hotkey that is not ss58',
      flat({ rc: 'true', authorized_hotkeys: '[not-a-hotkey]' }),
      'entry 1 (version "1.0.0", name "gpu-vm")',
      /authorized_hotkeys must be a list of ss58/,
    ],
    [
      'a root_passphrase_file that is a list',
      flat({ root_passphrase_file: '[a, b]' }),
      'entry 1 (version "1.0.0", name "gpu-vm")',
      /root_passphrase_file must be a path/,
    ],
    ['a release without hardware', release({}, []), 'entry 1 (version "1.4.0")', /hardware must be a non-empty list/],
    ['a release with a short runtime_rtmr3', release({ runtime_rtmr3: 'abc' }), 'entry 1 (version "1.4.0")', /^runtime_rtmr3 must be 96 hex/],
    ['an rc release without authorized hotkeys', release({ rc: 'true' }), 'entry 1 (version "1.4.0")', /authorized_hotkeys is empty/],
    [
      'a hardware item without rtmr0',
      release({}, ['      - { name: 8xh200, expected_gpus: [h200], gpu_count: 8 }']),
      'entry 1 (version "1.4.0", hardware 1 "8xh200")',
      /^rtmr0 must be 96 hex/,
    ],
    [
      'a hardware item without a name',
      release({}, [`      - { rtmr0: ${hex('c0')}, expected_gpus: [h200], gpu_count: 8 }`]),
      'entry 1 (version "1.4.0", hardware 1)',
      /^hardware name must be/,
    ],
    [
      'a hardware item without gpu_count',
      release({}, [`      - { name: x, rtmr0: ${hex('c0')}, expected_gpus: [h200] }`]),
      'entry 1 (version "1.4.0", hardware 1 "x")',
      /^gpu_count is required/,
    ],
    [
      'a hardware item with a bad fingerprint',
      release({}, [`      - { name: x, rtmr0: ${hex('c0')}, expected_gpus: [h200], gpu_count: 8, fingerprint: xyz }`]),
      'entry 1 (version "1.4.0", hardware 1 "x")',
      /^fingerprint must be 64 hex/,
    ],
    ['an entry that is a string', ['  - just a line'], 'entry 1', /^entry must be a mapping/],
  ])('skips %s with one problem naming the entry, and keeps the next entry', (_name, lines, entry, problem) => {
    const { entries, skipped } = parse([...lines, ...flat({ name: 'next-one', version: '"9"' })]);
    expect(entries.map(({ input }) => input.name)).toEqual(['next-one']);
    expect(skipped).toEqual([{ entry, problem: expect.stringMatching(problem) }]);
  });

  it('skips a (name, version) given twice, naming both; the same version under another name loads', () => {
    const { entries, skipped } = parse([...flat(), ...flat({ name: 'gpu-vm-b200' }), ...flat({ mrtd: hex('ee') })]);
    expect(entries.map(({ input }) => [input.name, input.mrtd])).toEqual([
      ['gpu-vm', hex('a1')],
      ['gpu-vm-b200', hex('a1')],
    ]);
    expect(skipped).toEqual([{ entry: 'entry 3 (version "1.0.0", name "gpu-vm")', problem: 'name gpu-vm with version 1.0.0 appears earlier in the file' }]);
  });

  it.each([
    ['not YAML', 'measurements: [', /cannot be read as YAML/],
    ['no measurements list', 'sets: []', /has no "measurements:" list/],
    ['a list that is a mapping', 'measurements: { a: 1 }', /has no "measurements:" list/],
  ])('refuses a file that is %s as a whole (one line)', (_name, text, message) => {
    expect(() => parseMeasurementsText(text, '/m.yaml')).toThrow(ConfigError);
    expect(() => parseMeasurementsText(text, '/m.yaml')).toThrow(message);
  });
});
