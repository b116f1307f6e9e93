/**
 * The real Intel TDX DCAP sample (quote + collateral), read at test time from the shared fixtures
 * beside the repository (../shared/fixtures/dcap); never copied into the repo.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { QuoteCollateral } from '../../src/attestation/core/dcap';

export const DCAP_FIXTURE_DIR = resolve(__dirname, '../..', '../shared/fixtures/dcap');

export function loadFixtureQuote(): Uint8Array {
  return new Uint8Array(readFileSync(resolve(DCAP_FIXTURE_DIR, 'tdx_quote')));
}

export function loadFixtureCollateral(): QuoteCollateral {
  return JSON.parse(readFileSync(resolve(DCAP_FIXTURE_DIR, 'tdx_quote_collateral.json'), 'utf8')) as QuoteCollateral;
}

/** README "safe now", and the collateral window edges. */
export const FIXTURE_NOW = new Date('2025-07-01T00:00:00Z');
export const FIXTURE_VALID_FROM = new Date('2025-06-19T10:32:27Z');
export const FIXTURE_VALID_UNTIL = new Date('2025-07-19T10:16:03Z');
/** The PCK CRL's nextUpdate, 15½ minutes before the TCB info's (see quote-verifier.spec). */
export const FIXTURE_PCK_CRL_NEXT_UPDATE = new Date('2025-07-19T10:00:35Z');

/** Values an independent verifier reports for the fixture (fixtures/dcap/README.md). */
export const FIXTURE_EXPECTED = {
  fmspc: 'b0c06f000000',
  mrtd: '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7',
  rtmr0: '44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0',
  rtmr1: '0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378',
  rtmr2: 'd833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132',
  rtmr3: '00'.repeat(48),
  reportData: '9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20',
  tdAttributes: '0000001000000000',
  teeTcbSvn: '06010300000000000000000000000000',
  mrSeam: '5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1',
};
