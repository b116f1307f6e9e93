/**
 * The `gpus` list of `servers register` (NodeArgs, DESIGN.md): from a JSON file, or discovered
 * with nvidia-smi on the GPU host. Fields nvidia-smi does not know come from flags or defaults:
 *
 * - `gpu_identifier`: `--gpu-identifier`, else derived from the GPU name — the first word with a
 *   digit, lowercased, after dropping vendor words (`NVIDIA H100 80GB HBM3` → `h100`,
 *   `NVIDIA GeForce RTX 4090` → `4090`). It must be in the measurement set's `expected_gpus`.
 * - `verification_host`: `--verification-host`, else the server's `--host`.
 * - `verification_port`: `--verification-port`, else 30443 (the VM's attestation service port).
 *
 * Units from nvidia-smi: `memory` in bytes (memory.total MiB × 2^20), `clock_rate` in kHz
 * (clocks.max.sm MHz × 1000, as CUDA's clockRate), `major`/`minor` from compute_cap, `ecc` from
 * ecc.mode.current, `sxm` only when the name says SXM or PCIe.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { UsageError } from './errors';

export const DEFAULT_VERIFICATION_PORT = 30443;

/** One GPU as the broker's `POST /servers/` takes it. */
export interface NodeArgs {
  uuid: string;
  name: string;
  memory: number;
  major?: number;
  minor?: number;
  processors?: number;
  sxm?: boolean;
  clock_rate: number;
  max_threads_per_processor?: number;
  concurrent_kernels?: boolean;
  ecc?: boolean;
  device_index: number;
  gpu_identifier: string;
  verification_host: string;
  verification_port: number;
}

export interface GpuDefaults {
  /** Used for every GPU when set; otherwise derived from each GPU's name. */
  gpuIdentifier?: string;
  verificationHost: string;
  verificationPort: number;
}

export const NVIDIA_SMI_FIELDS = ['uuid', 'name', 'memory.total', 'clocks.max.sm', 'index', 'compute_cap', 'ecc.mode.current'] as const;
export const NVIDIA_SMI_ARGS = [`--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];

const VENDOR_WORDS = new Set(['nvidia', 'geforce', 'rtx', 'tesla', 'quadro', 'amd', 'instinct']);

/** `NVIDIA H100 80GB HBM3` → `h100` (see the module comment); undefined when no word has a digit. */
export function gpuIdentifierFromName(name: string): string | undefined {
  const words = name
    .toLowerCase()
    .split(/[\s-]+/)
    .filter((word) => word.length > 0 && !VENDOR_WORDS.has(word));
  return words.find((word) => /\d/.test(word));
}

function numberField(text: string, field: string, line: number): number {
  const value = Number(text);
  if (text === '' || !Number.isFinite(value))
    throw new UsageError(`nvidia-smi line ${line}: ${field} is not a number ("${text}"); pass the GPU list with --gpus-file`);
  return value;
}

function identifierFor(name: string, defaults: GpuDefaults, where: string): string {
  const identifier = defaults.gpuIdentifier ?? gpuIdentifierFromName(name);
  if (!identifier) throw new UsageError(`${where}: cannot derive a gpu_identifier from the name "${name}"; pass --gpu-identifier`);
  return identifier;
}

/** Parses `nvidia-smi --query-gpu=<NVIDIA_SMI_FIELDS> --format=csv,noheader,nounits` output. */
export function parseNvidiaSmiCsv(text: string, defaults: GpuDefaults): NodeArgs[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim().length > 0);
  return lines.map((raw, index) => {
    const line = index + 1;
    const fields = raw.split(',').map((field) => field.trim());
    if (fields.length !== NVIDIA_SMI_FIELDS.length) {
      throw new UsageError(`nvidia-smi line ${line} has ${fields.length} fields, expected ${NVIDIA_SMI_FIELDS.length}; pass the GPU list with --gpus-file`);
    }
    const [uuid, name, memoryMib, clockMhz, deviceIndex, computeCap, ecc] = fields;
    const gpu: NodeArgs = {
      uuid,
      name,
      memory: numberField(memoryMib, 'memory.total', line) * 1024 * 1024,
      clock_rate: numberField(clockMhz, 'clocks.max.sm', line) * 1000,
      device_index: numberField(deviceIndex, 'index', line),
      gpu_identifier: identifierFor(name, defaults, `nvidia-smi line ${line}`),
      verification_host: defaults.verificationHost,
      verification_port: defaults.verificationPort,
    };
    const cap = /^(\d+)\.(\d+)$/.exec(computeCap);
    if (cap) {
      gpu.major = Number(cap[1]);
      gpu.minor = Number(cap[2]);
    }
    if (/^enabled$/i.test(ecc)) gpu.ecc = true;
    else if (/^disabled$/i.test(ecc)) gpu.ecc = false;
    if (/sxm/i.test(name)) gpu.sxm = true;
    else if (/pcie/i.test(name)) gpu.sxm = false;
    return gpu;
  });
}

/**
 * Runs nvidia-smi from PATH. Undefined when it is not installed; UsageError when it fails.
 */
export function discoverGpus(defaults: GpuDefaults, command = 'nvidia-smi'): NodeArgs[] | undefined {
  const result = spawnSync(command, NVIDIA_SMI_ARGS, { encoding: 'utf8', timeout: 30_000 });
  if (result.error) {
    if ((result.error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(
      `nvidia-smi could not be run (${(result.error as NodeJS.ErrnoException).code ?? result.error.message}); pass the GPU list with --gpus-file`,
    );
  }
  if (result.status !== 0) {
    const reason = (result.stderr || result.stdout || '').trim().split('\n')[0];
    throw new UsageError(`nvidia-smi failed (exit ${result.status}${reason ? `: ${reason}` : ''}); pass the GPU list with --gpus-file`);
  }
  return parseNvidiaSmiCsv(result.stdout, defaults);
}

const REQUIRED: readonly [keyof NodeArgs, 'string' | 'number'][] = [
  ['uuid', 'string'],
  ['name', 'string'],
  ['memory', 'number'],
  ['clock_rate', 'number'],
  ['device_index', 'number'],
];

/**
 * Reads a GPU list file: a JSON array of NodeArgs (or `{"gpus": [...]}`). Missing
 * `gpu_identifier`, `verification_host` and `verification_port` are filled from the defaults;
 * other fields are sent as written (the broker validates them).
 */
export function readGpusFile(file: string, defaults: GpuDefaults): NodeArgs[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--gpus-file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--gpus-file ${file} is not JSON (${(error as Error).message})`);
  }
  const list = Array.isArray(document) ? document : (document as { gpus?: unknown } | null)?.gpus;
  if (!Array.isArray(list)) throw new UsageError(`--gpus-file ${file} must hold a JSON array of GPUs (NodeArgs), or {"gpus": [...]}`);
  return list.map((entry: unknown, index) => {
    const where = `--gpus-file ${file} entry ${index + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new UsageError(`${where} is not an object`);
    const gpu = entry as Record<string, unknown>;
    for (const [field, type] of REQUIRED) {
      if (typeof gpu[field] !== type) throw new UsageError(`${where} needs ${field} (a ${type})`);
    }
    return {
      ...gpu,
      gpu_identifier: typeof gpu.gpu_identifier === 'string' ? gpu.gpu_identifier : identifierFor(gpu.name as string, defaults, where),
      verification_host: typeof gpu.verification_host === 'string' ? gpu.verification_host : defaults.verificationHost,
      verification_port: typeof gpu.verification_port === 'number' ? gpu.verification_port : defaults.verificationPort,
    } as NodeArgs;
  });
}
