/** The real Intel TDX quote and collateral in ../shared (read in place, never copied into the repo). */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const DCAP_FIXTURE_DIR = path.resolve(__dirname, '../../../shared/fixtures/dcap');

/** 2025-07-01: inside the fixture collateral's validity window (2025-06-19..2025-07-19). */
export const FIXTURE_NOW = new Date('2025-07-01T00:00:00Z');

export function fixtureQuote(): Buffer {
  return fs.readFileSync(path.join(DCAP_FIXTURE_DIR, 'tdx_quote'));
}

export function fixtureCollateralText(): string {
  return fs.readFileSync(path.join(DCAP_FIXTURE_DIR, 'tdx_quote_collateral.json'), 'utf8');
}
