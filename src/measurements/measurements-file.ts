/**
 * MEASUREMENTS_FILE: a YAML `measurements:` list in either Chutes `tee_measurements.yaml` shape
 * (flat gen-B entries, or gen-C releases with a `hardware:` list; measurement-set.input.ts), plus
 * bootkey's optional `root_passphrase_file` (per entry, per release or per hardware item).
 *
 * A malformed entry is skipped and reported (which entry, what is wrong), never fatal: one bad
 * line must not stop every boot of the fleet. Only a file that cannot be read as a YAML
 * `measurements:` list at all is an error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../config/app-config';
import {
  isRelease,
  MeasurementSetInput,
  MeasurementSetInputError,
  parseHardwareItem,
  parseMeasurementSetInput,
  parseRelease,
  ReleaseFields,
} from '../common/validation/measurement-set.input';
import { decodeRootPassphraseFile } from '../common/validation/root-passphrase';

export interface MeasurementFileEntry {
  input: MeasurementSetInput;
  /** Where in the file the set comes from, for messages (`entry 2 (1.4.0 8xb200)`). */
  label: string;
  /** Absolute path of this set's root passphrase file, if it names one. */
  rootPassphraseFile?: string;
}

/** An entry (or hardware item) left out, and why. */
export interface SkippedEntry {
  entry: string;
  problem: string;
}

export interface MeasurementsFileContent {
  entries: MeasurementFileEntry[];
  skipped: SkippedEntry[];
}

/**
 * Reads a root passphrase file: one trailing newline (or CRLF) is not part of the passphrase,
 * and the rest must be a valid root passphrase (root-passphrase.ts); otherwise start-up stops
 * with one line naming the variable and the file, never the content.
 */
export function readPassphraseFile(file: string, variable: string): Buffer {
  let content: Buffer;
  try {
    content = fs.readFileSync(file);
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${variable} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}: ${file})`);
  }
  const decoded = decodeRootPassphraseFile(content);
  content.fill(0);
  if ('problem' in decoded) throw new ConfigError(`invalid configuration: ${variable} ${decoded.problem} (${file})`);
  return Buffer.from(decoded.passphrase, 'utf8');
}

/** A quoted, shortened piece of operator text for a label. */
const quoted = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? JSON.stringify(String(value).slice(0, 64)) : undefined);

function entryLabel(index: number, raw: unknown, hardware?: { index: number; raw: unknown }): string {
  const fields = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const parts = [quoted(fields.version) && `version ${quoted(fields.version)}`, quoted(fields.name) && `name ${quoted(fields.name)}`].filter(Boolean);
  if (hardware) {
    const item = (typeof hardware.raw === 'object' && hardware.raw !== null ? hardware.raw : {}) as Record<string, unknown>;
    parts.push(`hardware ${hardware.index + 1}${quoted(item.name) ? ` ${quoted(item.name)}` : ''}`);
  }
  return `entry ${index + 1}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

function passphraseFileOf(raw: unknown, fallback?: unknown): unknown {
  const own = (raw as { root_passphrase_file?: unknown } | null)?.root_passphrase_file;
  return own !== undefined ? own : fallback;
}

/**
 * Parses the file's text into the sets it defines and the entries it skips. Throws ConfigError
 * only when the text is not a YAML document with a `measurements:` list.
 */
export function parseMeasurementsText(text: string, file: string): MeasurementsFileContent {
  let document: unknown;
  try {
    // Every scalar stays a string: an all-digit register (RTMR3 is often 48 zero bytes) or a
    // version like 1.10 must not turn into a number and lose its digits.
    document = parseYaml(text, { schema: 'failsafe' });
  } catch (error) {
    throw new ConfigError(`invalid configuration: MEASUREMENTS_FILE ${file} cannot be read as YAML (${(error as Error).message.split('\n')[0]})`);
  }
  const list = (document as { measurements?: unknown } | null)?.measurements;
  if (!Array.isArray(list)) throw new ConfigError(`invalid configuration: MEASUREMENTS_FILE ${file} has no "measurements:" list`);

  const entries: MeasurementFileEntry[] = [];
  const skipped: SkippedEntry[] = [];
  const seen = new Set<string>();
  const add = (label: string, make: () => MeasurementSetInput, passphraseFile: unknown) => {
    try {
      const input = make();
      const identity = `${input.name}\u0000${input.version}`;
      if (seen.has(identity)) throw new MeasurementSetInputError(`name ${input.name} with version ${input.version} appears earlier in the file`);
      if (passphraseFile !== undefined && (typeof passphraseFile !== 'string' || passphraseFile.length === 0))
        throw new MeasurementSetInputError('root_passphrase_file must be a path');
      seen.add(identity);
      entries.push({ input, label, rootPassphraseFile: passphraseFile ? path.resolve(path.dirname(file), passphraseFile) : undefined });
    } catch (error) {
      if (!(error instanceof MeasurementSetInputError)) throw error;
      skipped.push({ entry: label, problem: error.message });
    }
  };

  list.forEach((raw, index) => {
    if (!isRelease(raw)) return add(entryLabel(index, raw), () => parseMeasurementSetInput(raw), passphraseFileOf(raw));
    let release: ReleaseFields;
    try {
      release = parseRelease(raw);
    } catch (error) {
      if (!(error instanceof MeasurementSetInputError)) throw error;
      return void skipped.push({ entry: entryLabel(index, raw), problem: error.message });
    }
    release.hardware.forEach((item, hardwareIndex) =>
      add(entryLabel(index, raw, { index: hardwareIndex, raw: item }), () => parseHardwareItem(release, item), passphraseFileOf(item, passphraseFileOf(raw))),
    );
  });
  return { entries, skipped };
}

/** The file's text; ConfigError (one line) when it cannot be read. */
export function readMeasurementsText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`invalid configuration: MEASUREMENTS_FILE ${file} cannot be read as YAML (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export function parseMeasurementsFile(file: string): MeasurementsFileContent {
  return parseMeasurementsText(readMeasurementsText(file), file);
}
