/**
 * Measurement sets as operators write them, validated into a normalised form: lowercase hex,
 * string versions, lowercase GPU identifiers. Two Chutes shapes (DESIGN.md "Measurement files"):
 * - flat (gen B): one entry per hardware variant, `boot_rtmrs`/`runtime_rtmrs` maps;
 * - per release (gen C): `version, mrtd, rtmr1, rtmr2, runtime_rtmr3, rc?, authorized_hotkeys?,
 *   hardware: [{name, rtmr0, expected_gpus, gpu_count, fingerprint?}]`, one set per hardware item.
 * Shared by the MEASUREMENTS_FILE loader, the admin API and the CLI (hence common/, not measurements/).(flat shape only there).
 */
import { isSs58Address } from './ss58';

export interface MeasurementSetInput {
  name: string;
  version: string;
  mrtd: string;
  bootRtmrs: { rtmr0: string; rtmr1: string; rtmr2: string; rtmr3?: string };
  runtimeRtmrs: { rtmr0: string; rtmr1: string; rtmr2: string; rtmr3: string };
  expectedGpus: string[];
  gpuCount: number | null;
  /** A release candidate: matches only for a caller proving a hotkey in `authorizedHotkeys`. */
  rc: boolean;
  authorizedHotkeys: string[];
}

const HEX48 = /^[0-9a-fA-F]{96}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
const FINGERPRINT = /^[0-9a-f]{64}$/;
const REGISTERS = ['rtmr0', 'rtmr1', 'rtmr2', 'rtmr3'];
/** Gen C boot RTMR3 is fixed in code, not configured: the initramfs extends it only after the boot quote. */
const ZERO_REGISTER = '0'.repeat(96);

export class MeasurementSetInputError extends Error {}

function register(value: unknown, field: string): string {
  // Chutes strips register values; YAML may leave surrounding spaces in a quoted value.
  const text = typeof value === 'string' ? value.trim() : value;
  if (typeof text !== 'string' || !HEX48.test(text)) throw new MeasurementSetInputError(`${field} must be 96 hex characters (48 bytes)`);
  return text.toLowerCase();
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MeasurementSetInputError(`${field} must be a mapping`);
  return value as Record<string, unknown>;
}

/** A register map with its keys read case-insensitively (the Chutes loader uppercases them); any other key is refused. */
function registerMap(value: unknown, field: string): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(object(value, field))) {
    const name = key.toLowerCase();
    if (!REGISTERS.includes(name))
      throw new MeasurementSetInputError(`${field} has an unknown register ${JSON.stringify(key.slice(0, 32))} (only rtmr0..rtmr3)`);
    if (name in map) throw new MeasurementSetInputError(`${field} names ${name} twice`);
    map[name] = entry;
  }
  return map;
}

function nameOf(value: unknown, field = 'name'): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > 128)
    throw new MeasurementSetInputError(`${field} must be a non-empty string of at most 128 characters`);
  return value.trim();
}

function versionOf(value: unknown): string {
  const raw = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : value;
  if (typeof raw !== 'string' || !VERSION.test(raw)) throw new MeasurementSetInputError('version must be a string or number (letters, digits, . _ + -)');
  return raw;
}

function expectedGpusOf(value: unknown, required: boolean): string[] {
  if (value === undefined && !required) return [];
  if (!Array.isArray(value) || !value.every((g) => typeof g === 'string' && g.length > 0 && g.length <= 128)) {
    throw new MeasurementSetInputError('expected_gpus must be a list of GPU identifiers');
  }
  return (value as string[]).map((g) => g.toLowerCase());
}

function gpuCountOf(value: unknown, required: boolean): number | null {
  const raw = value ?? null;
  if (raw === null && required) throw new MeasurementSetInputError('gpu_count is required (a whole number 0..64)');
  // YAML is read with every scalar a string.
  const gpuCount = typeof raw === 'string' && /^\d{1,2}$/.test(raw) ? Number(raw) : raw;
  if (gpuCount !== null && (typeof gpuCount !== 'number' || !Number.isInteger(gpuCount) || gpuCount < 0 || gpuCount > 64)) {
    throw new MeasurementSetInputError('gpu_count must be a whole number 0..64');
  }
  return gpuCount;
}

/** `rc` as a boolean; YAML text `true`/`false` too (never "any non-empty string is true", Chutes' trap). */
function rcOf(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (value === true) return true;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  throw new MeasurementSetInputError('rc must be true or false');
}

function authorizedHotkeysOf(value: unknown, rc: boolean): string[] {
  if (value === undefined || value === null) {
    if (rc) throw new MeasurementSetInputError('rc is true but authorized_hotkeys is empty: a release candidate no hotkey may use is skipped');
    return [];
  }
  if (!Array.isArray(value)) throw new MeasurementSetInputError('authorized_hotkeys must be a list of ss58 addresses');
  const hotkeys = (value as unknown[]).map((hotkey) => (typeof hotkey === 'string' ? hotkey.trim() : hotkey)).filter((hotkey) => hotkey !== '');
  if (!hotkeys.every(isSs58Address)) throw new MeasurementSetInputError('authorized_hotkeys must be a list of ss58 addresses');
  if (rc && hotkeys.length === 0)
    throw new MeasurementSetInputError('rc is true but authorized_hotkeys is empty: a release candidate no hotkey may use is skipped');
  return hotkeys;
}

/** Validates one flat (gen B) entry; throws MeasurementSetInputError naming the field. */
export function parseMeasurementSetInput(raw: unknown): MeasurementSetInput {
  const entry = object(raw, 'entry');
  const name = nameOf(entry.name);
  const version = versionOf(entry.version);
  const boot = registerMap(entry.boot_rtmrs, 'boot_rtmrs');
  const runtime = registerMap(entry.runtime_rtmrs, 'runtime_rtmrs');
  const rc = rcOf(entry.rc);
  return {
    name,
    version,
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
    expectedGpus: expectedGpusOf(entry.expected_gpus, false),
    gpuCount: gpuCountOf(entry.gpu_count, false),
    rc,
    authorizedHotkeys: authorizedHotkeysOf(entry.authorized_hotkeys, rc),
  };
}

/** Whether a raw entry is a gen-C release (it has a `hardware:` list) rather than a flat set. */
export function isRelease(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) && 'hardware' in raw;
}

/** The release-level fields of a gen-C entry, checked once for all its hardware items. */
export interface ReleaseFields {
  version: string;
  mrtd: string;
  rtmr1: string;
  rtmr2: string;
  runtimeRtmr3: string;
  rc: boolean;
  authorizedHotkeys: string[];
  hardware: unknown[];
}

/** Validates a gen-C release's own fields; throws MeasurementSetInputError naming the field. */
export function parseRelease(raw: unknown): ReleaseFields {
  const entry = object(raw, 'entry');
  const version = versionOf(entry.version);
  const rc = rcOf(entry.rc);
  const fields = {
    version,
    mrtd: register(entry.mrtd, 'mrtd'),
    rtmr1: register(entry.rtmr1, 'rtmr1'),
    rtmr2: register(entry.rtmr2, 'rtmr2'),
    runtimeRtmr3: register(entry.runtime_rtmr3, 'runtime_rtmr3'),
    rc,
    authorizedHotkeys: authorizedHotkeysOf(entry.authorized_hotkeys, rc),
  };
  if (!Array.isArray(entry.hardware) || entry.hardware.length === 0) throw new MeasurementSetInputError('hardware must be a non-empty list');
  return { ...fields, hardware: entry.hardware };
}

/**
 * One hardware item of a release as a set: its name, the release's version, boot registers
 * RTMR0 (this hardware's), RTMR1, RTMR2 and RTMR3 = zero; runtime registers RTMR0, RTMR1, RTMR2
 * and the release's `runtime_rtmr3`.
 */
export function parseHardwareItem(release: ReleaseFields, raw: unknown): MeasurementSetInput {
  const item = object(raw, 'hardware item');
  const name = nameOf(item.name, 'hardware name');
  const rtmr0 = register(item.rtmr0, 'rtmr0');
  if (item.fingerprint !== undefined && item.fingerprint !== null && item.fingerprint !== '') {
    if (typeof item.fingerprint !== 'string' || !FINGERPRINT.test(item.fingerprint.trim().toLowerCase()))
      throw new MeasurementSetInputError('fingerprint must be 64 hex characters');
  }
  return {
    name,
    version: release.version,
    mrtd: release.mrtd,
    bootRtmrs: { rtmr0, rtmr1: release.rtmr1, rtmr2: release.rtmr2, rtmr3: ZERO_REGISTER },
    runtimeRtmrs: { rtmr0, rtmr1: release.rtmr1, rtmr2: release.rtmr2, rtmr3: release.runtimeRtmr3 },
    expectedGpus: expectedGpusOf(item.expected_gpus, true),
    gpuCount: gpuCountOf(item.gpu_count, true),
    rc: release.rc,
    authorizedHotkeys: release.authorizedHotkeys,
  };
}

/** The fields that differ between a stored set and an input of the same name and version (for logs). */
export function differingFields(stored: MeasurementSetInput, input: MeasurementSetInput): string[] {
  const fields: (keyof MeasurementSetInput)[] = ['mrtd', 'bootRtmrs', 'runtimeRtmrs', 'expectedGpus', 'gpuCount', 'rc', 'authorizedHotkeys'];
  return fields.filter((field) => JSON.stringify(stored[field]) !== JSON.stringify(input[field]));
}
