/**
 * Where the KEK ring comes from: BROKER_KEKS, BROKER_KEK_FILE, or (embedded database only) a KEK
 * generated once into DATA_DIR. Every problem is a one-line ConfigError naming the variable;
 * no message ever contains key material, not even a fragment of a malformed entry.
 *
 * Format (both sources): `id:base64key` entries, 32-byte keys in standard padded base64, ids
 * `[A-Za-z0-9_.-]{1,64}`. BROKER_KEKS separates entries with commas; the file also allows one
 * per line and `#` comments (base64 never contains `#`).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppConfig, ConfigError } from '../config/app-config';
import { createKekRing, Kek, KEK_ID_PATTERN, KEY_BYTES, KekRing } from './envelope';

/** The file, under DATA_DIR, that holds the generated development KEK. */
export const GENERATED_KEK_FILE_NAME = 'kek';
export const GENERATED_KEK_ID = 'local';

export type KekSource = 'BROKER_KEKS' | 'BROKER_KEK_FILE' | 'generated';

export interface LoadedKekRing {
  ring: KekRing;
  source: KekSource;
  /** How start-up errors about this ring name its origin (a variable, or the generated file). */
  label: string;
  /** The generated KEK file, when source is `generated`. */
  generatedFile?: string;
  /** True when that file was created by this start. */
  created?: boolean;
}

export type KekConfig = Pick<AppConfig, 'brokerKeks' | 'brokerKekFile' | 'brokerActiveKek' | 'databaseUrl' | 'dataDir'>;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function configError(label: string, problem: string): ConfigError {
  return new ConfigError(`invalid configuration: ${label} ${problem}`);
}

/** Decodes strict, canonical base64 (so a typo cannot silently become a different key). */
function decodeBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) {
    bytes.fill(0);
    return undefined;
  }
  return bytes;
}

function parseEntry(entry: string, where: string, label: string): Kek {
  const colon = entry.indexOf(':');
  if (colon < 0) throw configError(label, `${where} must be id:base64key`);
  const id = entry.slice(0, colon).trim();
  const encoded = entry.slice(colon + 1).trim();
  if (!KEK_ID_PATTERN.test(id)) throw configError(label, `${where} has an invalid KEK id (1 to 64 of A-Z a-z 0-9 _ . -)`);
  const decoded = decodeBase64(encoded);
  if (!decoded) throw configError(label, `${where} (KEK "${id}") is not valid base64`);
  const length = decoded.length;
  // Copied out of Buffer's shared pool so zeroing the KEK later really erases it.
  const key = new Uint8Array(decoded);
  decoded.fill(0);
  if (length !== KEY_BYTES) {
    key.fill(0);
    throw configError(label, `${where} (KEK "${id}") must decode to exactly ${KEY_BYTES} bytes (got ${length})`);
  }
  return { id, key };
}

/**
 * Parses a KEK list. `multiline` (files) allows newlines between entries and `#` comments and
 * reports positions as line numbers; otherwise positions are entry numbers.
 */
export function parseKekList(text: string, label: string, multiline = false): Kek[] {
  const keks: Kek[] = [];
  const lines = multiline ? text.split(/\r?\n/) : [text];
  lines.forEach((line, lineIndex) => {
    const content = multiline ? line.replace(/#.*$/, '') : line;
    for (const raw of content.split(',')) {
      const entry = raw.trim();
      if (entry.length === 0) continue;
      const where = multiline ? `line ${lineIndex + 1}` : `entry ${keks.length + 1}`;
      const kek = parseEntry(entry, where, label);
      if (keks.some((other) => other.id === kek.id)) throw configError(label, `has KEK id "${kek.id}" more than once`);
      keks.push(kek);
    }
  });
  if (keks.length === 0) throw configError(label, 'holds no KEK (expected id:base64key entries)');
  return keks;
}

/** Picks the active KEK: BROKER_ACTIVE_KEK, or the only one. */
export function resolveKekRing(keks: Kek[], activeId: string | undefined, label: string): KekRing {
  const ids = keks.map((kek) => kek.id).join(', ');
  if (activeId !== undefined) {
    if (!keks.some((kek) => kek.id === activeId)) {
      throw new ConfigError(`invalid configuration: BROKER_ACTIVE_KEK names KEK "${activeId}", which is not in ${label} (ids: ${ids})`);
    }
    return createKekRing(keks, activeId);
  }
  if (keks.length > 1) {
    throw new ConfigError(`invalid configuration: BROKER_ACTIVE_KEK must be set when ${label} holds more than one KEK (ids: ${ids})`);
  }
  return createKekRing(keks, keks[0].id);
}

function readOrFail(label: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw configError(label, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}: ${file})`);
  }
}

/**
 * Creates `file` with a fresh KEK unless it exists. Written to a private temporary file and
 * hard-linked into place, so the KEK file is never seen half-written and of two processes
 * starting at once exactly one KEK wins (link fails with EEXIST for the other).
 */
function createGeneratedKekFile(dataDir: string, file: string): boolean {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  const content =
    `# KEK generated by bootkey for the embedded database. Losing this file loses every secret in\n` +
    `# ${dataDir}; for production set BROKER_KEKS or BROKER_KEK_FILE (this line's format).\n` +
    `${GENERATED_KEK_ID}:${key.toString('base64')}\n`;
  key.fill(0);
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(temporary, 'wx', 0o600);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.unlinkSync(temporary);
  }
}

/**
 * Loads the KEK ring the configuration asks for (see the module comment). Throws ConfigError
 * for anything wrong, including "no KEK configured" when DATABASE_URL is set: a key generated
 * on one replica's disk would not exist on the others, and would sit beside no backup.
 */
export function loadKekRing(config: KekConfig): LoadedKekRing {
  if (config.brokerKeks !== undefined && config.brokerKekFile !== undefined) {
    throw new ConfigError('invalid configuration: BROKER_KEKS and BROKER_KEK_FILE are both set; use one of them');
  }
  if (config.brokerKeks !== undefined) {
    const keks = parseKekList(config.brokerKeks, 'BROKER_KEKS');
    return { ring: resolveKekRing(keks, config.brokerActiveKek, 'BROKER_KEKS'), source: 'BROKER_KEKS', label: 'BROKER_KEKS' };
  }
  if (config.brokerKekFile !== undefined) {
    const keks = parseKekList(readOrFail('BROKER_KEK_FILE', config.brokerKekFile), 'BROKER_KEK_FILE', true);
    return { ring: resolveKekRing(keks, config.brokerActiveKek, 'BROKER_KEK_FILE'), source: 'BROKER_KEK_FILE', label: 'BROKER_KEK_FILE' };
  }
  if (config.databaseUrl !== undefined) {
    throw new ConfigError(
      'invalid configuration: BROKER_KEKS (or BROKER_KEK_FILE) must be set when DATABASE_URL is set; a generated KEK is only for the embedded database',
    );
  }
  if (config.brokerActiveKek !== undefined) {
    throw new ConfigError('invalid configuration: BROKER_ACTIVE_KEK is set but neither BROKER_KEKS nor BROKER_KEK_FILE is');
  }
  const file = path.join(config.dataDir, GENERATED_KEK_FILE_NAME);
  const created = fs.existsSync(file) ? false : createGeneratedKekFile(config.dataDir, file);
  const label = `generated KEK file ${file}`;
  const keks = parseKekList(readOrFail(label, file), label, true);
  return { ring: resolveKekRing(keks, undefined, label), source: 'generated', label, generatedFile: file, created };
}
