/**
 * Differential tests against @phala/dcap-qvl (the oracle) on the real Intel sample: accept/reject
 * and TCB status agree at several times, and every single-byte mutation of the signed or
 * certifying parts of the quote is rejected by us and, on a deterministic sample, by the oracle.
 */
import { QuoteVerifier as OracleVerifier } from '@phala/dcap-qvl';
import { DomainError, ErrorCode } from '../../../common/errors';
import {
  FIXTURE_NOW,
  FIXTURE_PCK_CRL_NEXT_UPDATE,
  FIXTURE_VALID_FROM,
  FIXTURE_VALID_UNTIL,
  loadFixtureCollateral,
  loadFixtureQuote,
} from '../../../../test/vectors/dcap-fixture';
import { QuoteVerifier } from './quote-verifier';
import { INTEL_SGX_ROOT_CA_DER } from './root-ca';

const rawQuote = loadFixtureQuote();
const collateral = loadFixtureCollateral();
const oracle = OracleVerifier.newWithRootCa(Buffer.from(INTEL_SGX_ROOT_CA_DER));
const ours = new QuoteVerifier(INTEL_SGX_ROOT_CA_DER);

type Outcome = { accepted: true; status: string } | { accepted: false; reason: string };

function runOurs(quote: Uint8Array, now: Date): Outcome {
  try {
    return { accepted: true, status: ours.verify(quote, collateral, now).tcbStatus };
  } catch (error) {
    if (error instanceof DomainError) return { accepted: false, reason: error.code };
    throw error;
  }
}

function runOracle(quote: Uint8Array, now: Date): Outcome {
  try {
    return { accepted: true, status: oracle.verify(Buffer.from(quote), collateral, Math.floor(now.getTime() / 1000)).status };
  } catch (error) {
    return { accepted: false, reason: (error as Error).message };
  }
}

const at = (date: Date, deltaSeconds: number) => new Date(date.getTime() + deltaSeconds * 1000);

describe('ours and @phala/dcap-qvl agree on the real sample', () => {
  it.each([
    ['2025-07-01 (README now)', FIXTURE_NOW],
    ['just after the collateral is valid', at(FIXTURE_VALID_FROM, 1)],
    ['just before it is valid', at(FIXTURE_VALID_FROM, -1)],
    ['2025-07-10', new Date('2025-07-10T12:00:00Z')],
    ['just before the PCK CRL expires', at(FIXTURE_PCK_CRL_NEXT_UPDATE, -1)],
    ['just after the TCB info expires', at(FIXTURE_VALID_UNTIL, 1)],
    ['2026', new Date('2026-01-01T00:00:00Z')],
    ['2025-03-01', new Date('2025-03-01T00:00:00Z')],
  ])('%s', (_name, now) => {
    const mine = runOurs(rawQuote, now);
    const theirs = runOracle(rawQuote, now);
    expect(mine.accepted).toBe(theirs.accepted);
    if (mine.accepted && theirs.accepted) expect(mine.status).toBe(theirs.status);
  });

  it('known, deliberate difference: the oracle ignores CRL nextUpdate, we do not', () => {
    // 2025-07-19T10:01:35Z: PCK CRL stale (nextUpdate 10:00:35), TCB info still fresh (10:16:03).
    const now = at(FIXTURE_PCK_CRL_NEXT_UPDATE, 60);
    expect(runOurs(rawQuote, now)).toEqual({ accepted: false, reason: ErrorCode.COLLATERAL_EXPIRED });
    expect(runOracle(rawQuote, now)).toEqual({ accepted: true, status: 'UpToDate' });
  });
});

describe('mutation sweep', () => {
  /** Byte ranges [start, end) inside the v4 fixture (see the parser's layout table). */
  const regions: { name: string; start: number; end: number; oracleStride: number }[] = [
    { name: 'signed header+body', start: 0, end: 632, oracleStride: 3 },
    { name: 'ECDSA signature', start: 636, end: 700, oracleStride: 1 },
    { name: 'attestation key', start: 700, end: 764, oracleStride: 1 },
    { name: 'QE report', start: 770, end: 1154, oracleStride: 3 },
    { name: 'QE report signature', start: 1154, end: 1218, oracleStride: 1 },
    { name: 'QE auth data', start: 1220, end: 1252, oracleStride: 1 },
  ];

  /** The PCK leaf as it sits in the quote: the first PEM block, 64-character lines. */
  function leafPem(): { bodyStart: number; body: string; der: Buffer } {
    const text = Buffer.from(rawQuote).toString('latin1');
    const begin = text.indexOf('-----BEGIN CERTIFICATE-----') + '-----BEGIN CERTIFICATE-----'.length;
    const end = text.indexOf('-----END CERTIFICATE-----', begin);
    const body = text.slice(begin, end);
    return { bodyStart: begin, body, der: Buffer.from(body, 'base64') };
  }

  function pemBody(der: Buffer): string {
    return `\n${der
      .toString('base64')
      .match(/.{1,64}/g)!
      .join('\n')}\n`;
  }

  /** The quote with byte `index` of the PCK leaf DER flipped, re-encoded to the same PEM length. */
  function withLeafByteFlipped(index: number): Uint8Array {
    const { bodyStart, der } = leafPem();
    const flipped = Buffer.from(der);
    flipped[index] ^= 0x01;
    const mutated = new Uint8Array(rawQuote);
    mutated.set(Buffer.from(pemBody(flipped), 'latin1'), bodyStart);
    return mutated;
  }

  it('re-encoding the unmodified PCK leaf reproduces the quote bytes exactly', () => {
    const { body, der } = leafPem();
    expect(pemBody(der)).toBe(body);
  });

  it('every single-byte flip is rejected by us; sampled flips are rejected by the oracle too', () => {
    let total = 0;
    let rejected = 0;
    let oracleChecked = 0;
    let oracleRejected = 0;
    const accepted: string[] = [];
    const oracleAccepted: string[] = [];
    const check = (name: string, mutated: Uint8Array, askOracle: boolean) => {
      total++;
      if (runOurs(mutated, FIXTURE_NOW).accepted) accepted.push(name);
      else rejected++;
      if (askOracle) {
        oracleChecked++;
        if (runOracle(mutated, FIXTURE_NOW).accepted) oracleAccepted.push(name);
        else oracleRejected++;
      }
    };

    for (const region of regions) {
      for (let offset = region.start; offset < region.end; offset++) {
        const mutated = new Uint8Array(rawQuote);
        mutated[offset] ^= 0x01;
        check(`${region.name} @${offset}`, mutated, (offset - region.start) % region.oracleStride === 0);
      }
    }
    const leafLength = leafPem().der.length;
    for (let index = 0; index < leafLength; index++) {
      check(`PCK leaf DER @${index}`, withLeafByteFlipped(index), index % 4 === 0);
    }

    console.log(`mutation sweep: ${total} mutations, ${rejected} rejected; oracle sample: ${oracleChecked} mutations, ${oracleRejected} rejected`);
    expect(accepted).toEqual([]);
    expect(oracleAccepted).toEqual([]);
    // The genuine quote still verifies after the sweep (no cache was poisoned).
    expect(runOurs(rawQuote, FIXTURE_NOW)).toEqual({ accepted: true, status: 'UpToDate' });
  });
});
