import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from './errors';
import { discoverGpus, GpuDefaults, gpuIdentifierFromName, parseNvidiaSmiCsv, readGpusFile } from './gpus';

const defaults: GpuDefaults = { verificationHost: '203.0.113.7', verificationPort: 30443 };

describe('gpuIdentifierFromName', () => {
  it.each([
    ['NVIDIA H100 80GB HBM3', 'h100'],
    ['NVIDIA H200', 'h200'],
    ['NVIDIA A100-SXM4-80GB', 'a100'],
    ['NVIDIA GeForce RTX 4090', '4090'],
    ['NVIDIA RTX A6000', 'a6000'],
    ['NVIDIA L40S', 'l40s'],
    ['Tesla V100-SXM2-16GB', 'v100'],
    ['NVIDIA B200', 'b200'],
  ])('%s → %s', (name, identifier) => {
    expect(gpuIdentifierFromName(name)).toBe(identifier);
  });

  it('is undefined when no word has a digit', () => {
    expect(gpuIdentifierFromName('NVIDIA Graphics Device')).toBeUndefined();
  });
});

describe('parseNvidiaSmiCsv', () => {
  const csv = [
    'GPU-1d6b3a44-0000-1111-2222-333344445555, NVIDIA H100 80GB HBM3, 81559, 1980, 0, 9.0, Enabled',
    'GPU-9f00aa11-0000-1111-2222-333344445555, NVIDIA H100 PCIe, 81559, 1755, 1, 9.0, Disabled',
    '',
  ].join('\n');

  it('maps every field to NodeArgs, in bytes and kHz, with the defaults', () => {
    expect(parseNvidiaSmiCsv(csv, defaults)).toEqual([
      {
        uuid: 'GPU-1d6b3a44-0000-1111-2222-333344445555',
        name: 'NVIDIA H100 80GB HBM3',
        memory: 81559 * 1024 * 1024,
        clock_rate: 1980000,
        device_index: 0,
        major: 9,
        minor: 0,
        ecc: true,
        gpu_identifier: 'h100',
        verification_host: '203.0.113.7',
        verification_port: 30443,
      },
      expect.objectContaining({ device_index: 1, ecc: false, sxm: false, clock_rate: 1755000 }),
    ]);
  });

  it('uses --gpu-identifier for every GPU when given, and leaves unknown fields out', () => {
    const gpus = parseNvidiaSmiCsv('GPU-1, NVIDIA Graphics Device, 1024, 1000, 3, [N/A], [N/A]\n', { ...defaults, gpuIdentifier: 'h100_sxm' });
    expect(gpus).toEqual([expect.objectContaining({ gpu_identifier: 'h100_sxm', device_index: 3 })]);
    expect(gpus[0]).not.toHaveProperty('major');
    expect(gpus[0]).not.toHaveProperty('ecc');
  });

  it.each([
    ['a missing field', 'GPU-1, NVIDIA H100, 81559, 1980, 0, 9.0', /has 6 fields, expected 7/],
    ['a non-number', 'GPU-1, NVIDIA H100, lots, 1980, 0, 9.0, Enabled', /memory.total is not a number/],
    ['an underivable identifier', 'GPU-1, NVIDIA Graphics Device, 1, 1, 0, 9.0, Enabled', /pass --gpu-identifier/],
  ])('refuses %s as a usage error', (_name, line, expected) => {
    expect(() => parseNvidiaSmiCsv(line, defaults)).toThrow(UsageError);
    expect(() => parseNvidiaSmiCsv(line, defaults)).toThrow(expected);
  });
});

describe('discoverGpus', () => {
  it('is undefined when nvidia-smi is not installed', () => {
    expect(discoverGpus(defaults, 'bootkey-test-no-such-nvidia-smi')).toBeUndefined();
  });

  it('reports a failing nvidia-smi as a usage error', () => {
    expect(() => discoverGpus(defaults, 'false')).toThrow(/nvidia-smi failed \(exit 1\)/);
  });
});

describe('readGpusFile', () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-gpus-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function file(content: string): string {
    const name = path.join(dir, `${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(name, content);
    return name;
  }

  const gpu = { uuid: 'GPU-1', name: 'NVIDIA H100 80GB HBM3', memory: 85520809984, clock_rate: 1980000, device_index: 0 };

  it('fills gpu_identifier and verification_host/port when missing, and keeps what the file says', () => {
    const list = readGpusFile(
      file(JSON.stringify([gpu, { ...gpu, uuid: 'GPU-2', device_index: 1, gpu_identifier: 'H100_SXM', verification_port: 8443, sxm: true }])),
      defaults,
    );
    expect(list).toEqual([
      { ...gpu, gpu_identifier: 'h100', verification_host: '203.0.113.7', verification_port: 30443 },
      { ...gpu, uuid: 'GPU-2', device_index: 1, gpu_identifier: 'H100_SXM', verification_host: '203.0.113.7', verification_port: 8443, sxm: true },
    ]);
  });

  it('accepts {"gpus": [...]} and an empty list', () => {
    expect(readGpusFile(file(JSON.stringify({ gpus: [gpu] })), defaults)).toHaveLength(1);
    expect(readGpusFile(file('[]'), defaults)).toEqual([]);
  });

  it.each([
    ['not JSON', '[{', /is not JSON/],
    ['not a list', '{"uuid": "x"}', /must hold a JSON array of GPUs/],
    ['a non-object entry', '[1]', /entry 1 is not an object/],
    ['an entry without memory', JSON.stringify([{ ...gpu, memory: '80GB' }]), /entry 1 needs memory \(a number\)/],
  ])('refuses a file that is %s', (_name, content, expected) => {
    expect(() => readGpusFile(file(content), defaults)).toThrow(expected);
  });

  it('refuses a missing file', () => {
    expect(() => readGpusFile(path.join(dir, 'absent.json'), defaults)).toThrow(/cannot be read \(ENOENT\)/);
  });
});
