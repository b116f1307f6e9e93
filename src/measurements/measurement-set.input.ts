/**
 * A measurement set as operators write it (the Chutes `tee_measurements.yaml` entry shape),
 * validated into a normalised form: lowercase hex, string versions, lowercase GPU identifiers.
 * Shared by the MEASUREMENTS_FILE loader and the admin API.
 */

export interface MeasurementSetInput {
  name: string;
  version: string;
  mrtd: string;
  bootRtmrs: { rtmr0: string; rtmr1: string; rtmr2: string; rtmr3?: string };
  runtimeRtmrs: { rtmr0: string; rtmr1: string; rtmr2: string; rtmr3: string };
  expectedGpus: string[];
  gpuCount: number | null;
}

const HEX48 = /^[0-9a-fA-F]{96}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

export class MeasurementSetInputError extends Error {}

function register(value: unknown, field: string): string {
  if (typeof value !== 'string' || !HEX48.test(value)) throw new MeasurementSetInputError(`${field} must be 96 hex characters (48 bytes)`);
  return value.toLowerCase();
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MeasurementSetInputError(`${field} must be a mapping`);
  return value as Record<string, unknown>;
}

/** Validates one raw entry; throws MeasurementSetInputError naming the field. */
export function parseMeasurementSetInput(raw: unknown): MeasurementSetInput {
  const entry = object(raw, 'entry');
  const name = entry.name;
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > 128) throw new MeasurementSetInputError('name must be a non-empty string of at most 128 characters');
  const rawVersion = typeof entry.version === 'number' ? String(entry.version) : entry.version;
  if (typeof rawVersion !== 'string' || !VERSION.test(rawVersion)) throw new MeasurementSetInputError('version must be a string or number (letters, digits, . _ + -)');
  const boot = object(entry.boot_rtmrs, 'boot_rtmrs');
  const runtime = object(entry.runtime_rtmrs, 'runtime_rtmrs');
  const gpus = entry.expected_gpus ?? [];
  if (!Array.isArray(gpus) || !gpus.every((g) => typeof g === 'string' && g.length > 0 && g.length <= 128)) {
    throw new MeasurementSetInputError('expected_gpus must be a list of GPU identifiers');
  }
  const rawCount = entry.gpu_count ?? null;
  const gpuCount = typeof rawCount === 'string' && /^\d{1,2}$/.test(rawCount) ? Number(rawCount) : rawCount;
  if (gpuCount !== null && (typeof gpuCount !== 'number' || !Number.isInteger(gpuCount) || gpuCount < 0 || gpuCount > 64)) {
    throw new MeasurementSetInputError('gpu_count must be a whole number 0..64');
  }
  return {
    name: name.trim(),
    version: rawVersion,
    mrtd: register(entry.mrtd, 'mrtd'),
    bootRtmrs: {
      rtmr0: register(boot.rtmr0, 'boot_rtmrs.rtmr0'),
      rtmr1: register(boot.rtmr1, 'boot_rtmrs.rtmr1'),
      rtmr2: register(boot.rtmr2, 'boot_rtmrs.rtmr2'),
      ...(boot.rtmr3 !== undefined ? { rtmr3: register(boot.rtmr3, 'boot_rtmrs.rtmr3') } : {}),
    },
    runtimeRtmrs: {
      rtmr0: register(runtime.rtmr0, 'runtime_rtmrs.rtmr0'),
      rtmr1: register(runtime.rtmr1, 'runtime_rtmrs.rtmr1'),
      rtmr2: register(runtime.rtmr2, 'runtime_rtmrs.rtmr2'),
      rtmr3: register(runtime.rtmr3, 'runtime_rtmrs.rtmr3'),
    },
    expectedGpus: (gpus as string[]).map((g) => g.toLowerCase()),
    gpuCount: gpuCount,
  };
}

/** The fields that differ between a stored set and an input of the same version (for logs). */
export function differingFields(stored: MeasurementSetInput, input: MeasurementSetInput): string[] {
  const fields: (keyof MeasurementSetInput)[] = ['name', 'mrtd', 'bootRtmrs', 'runtimeRtmrs', 'expectedGpus', 'gpuCount'];
  return fields.filter((field) => JSON.stringify(stored[field]) !== JSON.stringify(input[field]));
}
