/**
 * MEASUREMENTS_FILE: a YAML `measurements:` list in the Chutes tee_measurements.yaml shape, plus
 * an optional `root_passphrase_file` per entry. Any problem stops start-up with one line naming
 * the file, the entry and the field.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../config/app-config';
import { MeasurementSetInput, MeasurementSetInputError, parseMeasurementSetInput } from './measurement-set.input';
import { decodeRootPassphraseFile } from './root-passphrase';

export interface MeasurementFileEntry {
  input: MeasurementSetInput;
  /** Absolute path of this entry's root passphrase file, if it names one. */
  rootPassphraseFile?: string;
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

export function parseMeasurementsFile(file: string): MeasurementFileEntry[] {
  let document: unknown;
  try {
    // Every scalar stays a string: an all-digit register (RTMR3 is often 48 zero bytes) or a
    // version like 1.10 must not turn into a number and lose its digits.
    document = parseYaml(fs.readFileSync(file, 'utf8'), { schema: 'failsafe' });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message.split('\n')[0];
    throw new ConfigError(`invalid configuration: MEASUREMENTS_FILE ${file} cannot be read as YAML (${reason})`);
  }
  const list = (document as { measurements?: unknown } | null)?.measurements;
  if (!Array.isArray(list)) throw new ConfigError(`invalid configuration: MEASUREMENTS_FILE ${file} has no "measurements:" list`);
  const seen = new Set<string>();
  return list.map((raw, index) => {
    const label = `MEASUREMENTS_FILE ${file} entry ${index + 1}`;
    let input: MeasurementSetInput;
    try {
      input = parseMeasurementSetInput(raw);
    } catch (error) {
      if (error instanceof MeasurementSetInputError) throw new ConfigError(`invalid configuration: ${label}: ${error.message}`);
      throw error;
    }
    if (seen.has(input.version)) throw new ConfigError(`invalid configuration: ${label}: version ${input.version} appears twice`);
    seen.add(input.version);
    const passphraseFile = (raw as { root_passphrase_file?: unknown }).root_passphrase_file;
    if (passphraseFile !== undefined && (typeof passphraseFile !== 'string' || passphraseFile.length === 0)) {
      throw new ConfigError(`invalid configuration: ${label}: root_passphrase_file must be a path`);
    }
    return { input, rootPassphraseFile: passphraseFile ? path.resolve(path.dirname(file), passphraseFile) : undefined };
  });
}
