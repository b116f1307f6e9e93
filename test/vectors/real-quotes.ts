/**
 * The real Intel TDX quotes with real collateral in ../shared/fixtures/real-quotes (see its
 * README), read at test time; never copied into the repo.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { COLLATERAL_FIELDS, type QuoteCollateral } from '../../src/attestation/core/dcap/collateral.types';
import { DCAP_FIXTURE_DIR } from './dcap-fixture';

export const REAL_QUOTES_DIR = resolve(DCAP_FIXTURE_DIR, '../real-quotes');

export interface RealCase {
  name: string;
  quote: Buffer;
  collateral: QuoteCollateral;
  /** A moment inside every piece's validity window. */
  now: Date;
}

/** The positive cases (`c*`) that come with collateral. */
export function realCaseNames(): string[] {
  return readdirSync(REAL_QUOTES_DIR).filter((name) => name.startsWith('c') && existsSync(resolve(REAL_QUOTES_DIR, name, 'collateral.json')));
}

export function loadRealCase(name: string): RealCase {
  const dir = resolve(REAL_QUOTES_DIR, name);
  const raw = JSON.parse(readFileSync(resolve(dir, 'collateral.json'), 'utf8')) as Record<string, unknown>;
  // dcap-qvl writes byte fields either as hex strings or as arrays of numbers.
  const collateral = Object.fromEntries(
    COLLATERAL_FIELDS.map((field) => {
      const value = raw[field];
      return [field, Array.isArray(value) ? Buffer.from(value as number[]).toString('hex') : String(value)];
    }),
  ) as unknown as QuoteCollateral;
  const { time } = JSON.parse(readFileSync(resolve(dir, 'case.json'), 'utf8')) as { time: string };
  return { name, quote: readFileSync(resolve(dir, 'quote.bin')), collateral, now: new Date(time) };
}
