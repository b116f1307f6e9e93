/**
 * Reads a measurement-set YAML file for `bootkey measurements add`: the Chutes
 * `tee_measurements.yaml` shapes, either one set or a `measurements:` list of flat (gen B) entries
 * or gen-C releases (a `hardware:` list, one set per item), each with an optional
 * `root_passphrase_file` (relative to the YAML file; one trailing newline trimmed) that becomes
 * the write-only `root_passphrase` of POST /admin/measurements. Validated with the broker's own
 * rules first, so a typo is reported here (exit 2) with the entry and field named.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  isRelease,
  MeasurementSetInput,
  MeasurementSetInputError,
  parseHardwareItem,
  parseMeasurementSetInput,
  parseRelease,
} from '../common/validation/measurement-set.input';
import { decodeRootPassphraseFile, rootPassphraseProblem } from '../common/validation/root-passphrase';
import { UsageError } from './errors';

/** The body of POST /admin/measurements. */
export interface MeasurementSetBody {
  name: string;
  version: string;
  mrtd: string;
  boot_rtmrs: { rtmr0: string; rtmr1: string; rtmr2: string; rtmr3?: string };
  runtime_rtmrs: { rtmr0: string; rtmr1: string; rtmr2: string; rtmr3: string };
  expected_gpus: string[];
  gpu_count?: number;
  rc?: boolean;
  authorized_hotkeys?: string[];
  root_passphrase?: string;
}

function readPassphrase(file: string, where: string): string {
  let content: Buffer;
  try {
    content = fs.readFileSync(file);
  } catch (error) {
    throw new UsageError(`${where}: root_passphrase_file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // The broker's own rules: one trailing newline trimmed, UTF-8, no surrounding whitespace.
  const decoded = decodeRootPassphraseFile(content);
  content.fill(0);
  if ('problem' in decoded) throw new UsageError(`${where}: root_passphrase_file ${file} ${decoded.problem}`);
  return decoded.passphrase;
}

function parsed<T>(where: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof MeasurementSetInputError) throw new UsageError(`${where}: ${error.message}`);
    throw error;
  }
}

/** A set's body; `raw` carries its passphrase fields (a hardware item's, else its release's). */
function toBody(input: MeasurementSetInput, raw: unknown, where: string, baseDir: string): MeasurementSetBody {
  const entry = raw as { root_passphrase_file?: unknown; root_passphrase?: unknown };
  if (entry.root_passphrase_file !== undefined && entry.root_passphrase !== undefined) {
    throw new UsageError(`${where}: give root_passphrase_file or root_passphrase, not both`);
  }
  let rootPassphrase: string | undefined;
  if (entry.root_passphrase_file !== undefined) {
    if (typeof entry.root_passphrase_file !== 'string' || entry.root_passphrase_file.length === 0)
      throw new UsageError(`${where}: root_passphrase_file must be a path`);
    rootPassphrase = readPassphrase(path.resolve(baseDir, entry.root_passphrase_file), where);
  } else if (entry.root_passphrase !== undefined) {
    if (typeof entry.root_passphrase !== 'string' || entry.root_passphrase.length === 0)
      throw new UsageError(`${where}: root_passphrase must be a non-empty string`);
    const problem = rootPassphraseProblem(entry.root_passphrase);
    if (problem) throw new UsageError(`${where}: root_passphrase ${problem}`);
    rootPassphrase = entry.root_passphrase;
  }
  return {
    name: input.name,
    version: input.version,
    mrtd: input.mrtd,
    boot_rtmrs: input.bootRtmrs,
    runtime_rtmrs: input.runtimeRtmrs,
    expected_gpus: input.expectedGpus,
    ...(input.gpuCount !== null ? { gpu_count: input.gpuCount } : {}),
    ...(input.rc ? { rc: true, authorized_hotkeys: input.authorizedHotkeys } : {}),
    ...(rootPassphrase !== undefined ? { root_passphrase: rootPassphrase } : {}),
  };
}

/** Parses the file into request bodies, in file order. Throws UsageError naming the file, entry and field. */
export function readMeasurementSets(file: string): MeasurementSetBody[] {
  let document: unknown;
  try {
    // failsafe: every scalar stays a string, so an all-digit register or a version like 1.10 keeps its digits.
    document = parseYaml(fs.readFileSync(file, 'utf8'), { schema: 'failsafe' });
  } catch (error) {
    // A file-system error has an errno (ENOENT, ...); a YAML error has a message naming the line.
    const reason = (error as NodeJS.ErrnoException).errno !== undefined ? (error as NodeJS.ErrnoException).code : (error as Error).message.split('\n')[0];
    throw new UsageError(`${file} cannot be read as YAML (${reason})`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new UsageError(`${file} must hold one measurement set (name, version, mrtd, ...) or a "measurements:" list`);
  }
  const list = (document as { measurements?: unknown }).measurements;
  const entries = list === undefined ? [document] : list;
  if (!Array.isArray(entries) || entries.length === 0) throw new UsageError(`${file}: "measurements:" must be a non-empty list`);
  const baseDir = path.dirname(path.resolve(file));
  const bodies: MeasurementSetBody[] = [];
  const seen = new Set<string>();
  entries.forEach((raw: unknown, index) => {
    const where = list === undefined ? file : `${file} entry ${index + 1}`;
    const sets: [MeasurementSetInput, unknown, string][] = [];
    if (isRelease(raw)) {
      const release = parsed(where, () => parseRelease(raw));
      release.hardware.forEach((item, itemIndex) => {
        const at = `${where} hardware ${itemIndex + 1}`;
        const own = item as { root_passphrase_file?: unknown; root_passphrase?: unknown } | null;
        const carrier = own?.root_passphrase_file !== undefined || own?.root_passphrase !== undefined ? own : raw;
        sets.push([parsed(at, () => parseHardwareItem(release, item)), carrier, at]);
      });
    } else {
      sets.push([parsed(where, () => parseMeasurementSetInput(raw)), raw, where]);
    }
    for (const [input, carrier, at] of sets) {
      const identity = `${input.name}\u0000${input.version}`;
      if (seen.has(identity)) throw new UsageError(`${at}: ${input.name} ${input.version} appears twice`);
      seen.add(identity);
      bodies.push(toBody(input, carrier, at, baseDir));
    }
  });
  return bodies;
}
