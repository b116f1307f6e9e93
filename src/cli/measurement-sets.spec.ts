import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readMeasurementSets } from './measurement-sets';

const reg = (byte: string) => byte.repeat(48);
let dir: string;

function write(name: string, content: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

function setYaml(indent: string, version: string, extra: string[] = []): string[] {
  return [
    `name: gpu-vm`,
    `version: ${version}`,
    `mrtd: ${reg('A1')}`,
    'boot_rtmrs:',
    `  rtmr0: ${reg('b0')}`,
    `  rtmr1: ${reg('b1')}`,
    `  rtmr2: ${reg('b2')}`,
    'runtime_rtmrs:',
    `  rtmr0: ${reg('b0')}`,
    `  rtmr1: ${reg('b1')}`,
    `  rtmr2: ${reg('b2')}`,
    // all digits: a YAML number under the core schema, a string of 96 zeros under failsafe
    `  rtmr3: ${reg('00')}`,
    ...extra,
  ].map((line, index) => (index === 0 && indent ? `${indent.slice(0, -2)}- ${line}` : `${indent}${line}`));
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-sets-'));
  fs.writeFileSync(path.join(dir, 'root-pass'), 'correct horse\r\n');
  fs.writeFileSync(path.join(dir, 'binary-pass'), Buffer.from([0x8f, 0xff, 0x00, 0xc3, 0x28, 0x0a]));
  fs.writeFileSync(path.join(dir, 'spaced-pass'), 'correct horse\n\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('readMeasurementSets', () => {
  it('reads a single set: lowercase hex, all-digit registers kept as strings, gpu_count as a number, the passphrase file trimmed', () => {
    const file = write('single.yaml', setYaml('', '1.10', ['expected_gpus: [H100, h200]', 'gpu_count: 8', 'root_passphrase_file: root-pass']).join('\n'));
    expect(readMeasurementSets(file)).toEqual([
      {
        name: 'gpu-vm',
        version: '1.10',
        mrtd: reg('a1'),
        boot_rtmrs: { rtmr0: reg('b0'), rtmr1: reg('b1'), rtmr2: reg('b2') },
        runtime_rtmrs: { rtmr0: reg('b0'), rtmr1: reg('b1'), rtmr2: reg('b2'), rtmr3: reg('00') },
        expected_gpus: ['h100', 'h200'],
        gpu_count: 8,
        root_passphrase: 'correct horse',
      },
    ]);
  });

  it('reads a "measurements:" list (the tee_measurements.yaml shape); a set without gpu_count or passphrase sends neither', () => {
    const file = write('list.yaml', ['measurements:', ...setYaml('    ', '1'), ...setYaml('    ', '2', ['expected_gpus: []'])].join('\n'));
    const sets = readMeasurementSets(file);
    expect(sets.map((s) => [s.version, s.expected_gpus])).toEqual([
      ['1', []],
      ['2', []],
    ]);
    expect(sets[0]).not.toHaveProperty('gpu_count');
    expect(sets[0]).not.toHaveProperty('root_passphrase');
  });

  it.each([
    ['a short register', setYaml('', '1').join('\n').replace(reg('b1'), 'b1b1'), /^.*short\.yaml: boot_rtmrs\.rtmr1 must be 96 hex characters/],
    ['a missing passphrase file', [...setYaml('', '1'), 'root_passphrase_file: nope'].join('\n'), /root_passphrase_file .*nope cannot be read \(ENOENT\)/],
    [
      'a binary passphrase file',
      [...setYaml('', '1'), 'root_passphrase_file: binary-pass'].join('\n'),
      /root_passphrase_file .*binary-pass is not valid UTF-8/,
    ],
    [
      'a passphrase file with two trailing newlines',
      [...setYaml('', '1'), 'root_passphrase_file: spaced-pass'].join('\n'),
      /root_passphrase_file .*spaced-pass has leading or trailing whitespace/,
    ],
    [
      'an inline passphrase with a trailing space',
      [...setYaml('', '1'), 'root_passphrase: "correct horse "'].join('\n'),
      /root_passphrase has leading or trailing whitespace/,
    ],
    ['both passphrase forms', [...setYaml('', '1'), 'root_passphrase_file: root-pass', 'root_passphrase: x'].join('\n'), /not both/],
    ['a name and version twice', ['measurements:', ...setYaml('    ', '7'), ...setYaml('    ', '7')].join('\n'), /entry 2: gpu-vm 7 appears twice/],
    ['an empty list', 'measurements: []', /must be a non-empty list/],
    ['not a mapping', '- a\n- b', /must hold one measurement set/],
    ['broken YAML', 'name: [', /cannot be read as YAML/],
  ])('refuses %s, naming the file and entry', (_name, content, expected) => {
    const file = write('short.yaml', content);
    expect(() => readMeasurementSets(file)).toThrow(expected);
  });

  it('reads a version shared by two GPU flavours (two names), and a gen-C release as one set per hardware item', () => {
    const flavours = ['measurements:', ...setYaml('    ', '7'), ...setYaml('    ', '7').map((line) => line.replace('name: gpu-vm', 'name: gpu-vm-b200'))];
    const release = [
      '  - version: "1.4.0"',
      `    mrtd: ${reg('C1')}`,
      `    rtmr1: ${reg('c2')}`,
      `    rtmr2: ${reg('c3')}`,
      `    runtime_rtmr3: ${reg('c4')}`,
      '    root_passphrase_file: root-pass',
      '    hardware:',
      '      - name: 8xh200',
      `        rtmr0: ${reg('d0')}`,
      '        expected_gpus: ["H200"]',
      '        gpu_count: 8',
      `        fingerprint: "${'7c'.repeat(32)}"`,
    ];
    const sets = readMeasurementSets(write('flavours.yaml', [...flavours, ...release].join('\n')));
    expect(sets.map((set) => [set.name, set.version])).toEqual([
      ['gpu-vm', '7'],
      ['gpu-vm-b200', '7'],
      ['8xh200', '1.4.0'],
    ]);
    expect(sets[2]).toEqual({
      name: '8xh200',
      version: '1.4.0',
      mrtd: reg('c1'),
      boot_rtmrs: { rtmr0: reg('d0'), rtmr1: reg('c2'), rtmr2: reg('c3'), rtmr3: reg('00') },
      runtime_rtmrs: { rtmr0: reg('d0'), rtmr1: reg('c2'), rtmr2: reg('c3'), rtmr3: reg('c4') },
      expected_gpus: ['h200'],
      gpu_count: 8,
      root_passphrase: 'correct horse',
    });
  });

  it('names the entry of a list', () => {
    const file = write(
      'bad-entry.yaml',
      ['measurements:', ...setYaml('    ', '1'), ...setYaml('    ', '2').map((l) => l.replace('version: 2', 'version: "bad version"'))].join('\n'),
    );
    expect(() => readMeasurementSets(file)).toThrow(/bad-entry\.yaml entry 2: version must be/);
  });
});
