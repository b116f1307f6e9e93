/**
 * Warm-path benchmark of DCAP verification on the real Intel fixture (run:
 * `ts-node --transpile-only bench/verify.bench.ts`, or node on the tsc output). Compares ours (a
 * warm QuoteVerifier) with @phala/dcap-qvl on the same quote + collateral in the same process, and
 * with the floor: the two bare ECDSA-P256 verifications every quote needs. Prints one summary line:
 *   verify: ours_ms=<x> dcap_qvl_ms=<y> floor_ms=<z> speedup=<y/x>
 */
import { generateKeyPairSync, sign, verify as cryptoVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { QuoteVerifier as PhalaVerifier } from '@phala/dcap-qvl';
import { INTEL_SGX_ROOT_CA_DER, QuoteCollateral, QuoteVerifier } from '../src/attestation/core/dcap';

const WARMUP = 50;
const ITERATIONS = 200;
const ROUNDS = 5;

function findFixtureDir(): string {
  // The fixtures sit beside the repo at ../shared/fixtures/dcap; the script may run from bench/,
  // dist/bench/ or anywhere with the repo root as the working directory.
  const roots = [resolve(__dirname, '..'), resolve(__dirname, '../..'), process.cwd()];
  for (const root of roots) {
    const dir = resolve(root, '../shared/fixtures/dcap');
    try {
      readFileSync(resolve(dir, 'tdx_quote'));
      return dir;
    } catch {
      // try the next candidate
    }
  }
  throw new Error('fixtures not found at ../shared/fixtures/dcap');
}

/** Median wall time (ms) of one call, over ROUNDS rounds of ITERATIONS calls after a warm-up. */
function medianMs(run: () => void): number {
  for (let i = 0; i < WARMUP; i++) run();
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < ITERATIONS; i++) {
      const start = process.hrtime.bigint();
      run();
      samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

function main(): void {
  const dir = findFixtureDir();
  const rawQuote = new Uint8Array(readFileSync(resolve(dir, 'tdx_quote')));
  const collateral = JSON.parse(readFileSync(resolve(dir, 'tdx_quote_collateral.json'), 'utf8')) as QuoteCollateral;
  const now = new Date('2025-07-01T00:00:00Z');

  const ours = new QuoteVerifier(INTEL_SGX_ROOT_CA_DER);
  const phala = PhalaVerifier.newWithRootCa(Buffer.from(INTEL_SGX_ROOT_CA_DER));
  const oursStatus = ours.verify(rawQuote, collateral, now).tcbStatus;
  const phalaStatus = phala.verify(rawQuote, collateral, now.getTime() / 1000).status;
  if (oursStatus !== phalaStatus) throw new Error(`status differs: ours ${oursStatus}, dcap-qvl ${phalaStatus}`);

  // Floor: two P-256 verifications (quote signature, QE report signature) over same-sized inputs.
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const signedBody = Buffer.alloc(632, 1);
  const qeReport = Buffer.alloc(384, 2);
  const options = { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
  const bodySignature = sign('sha256', signedBody, options);
  const qeSignature = sign('sha256', qeReport, options);
  const verifyKey = { key: publicKey, dsaEncoding: 'ieee-p1363' as const };

  const oursMs = medianMs(() => ours.verify(rawQuote, collateral, now));
  const phalaMs = medianMs(() => phala.verify(rawQuote, collateral, now.getTime() / 1000));
  const floorMs = medianMs(() => {
    if (!cryptoVerify('sha256', signedBody, verifyKey, bodySignature)) throw new Error('floor verify failed');
    if (!cryptoVerify('sha256', qeReport, verifyKey, qeSignature)) throw new Error('floor verify failed');
  });

  console.log(`status: ${oursStatus} (both), iterations: ${ROUNDS}x${ITERATIONS} after ${WARMUP} warm-up`);
  console.log(`verify: ours_ms=${oursMs.toFixed(3)} dcap_qvl_ms=${phalaMs.toFixed(3)} floor_ms=${floorMs.toFixed(3)} speedup=${(phalaMs / oursMs).toFixed(3)}`);
}

main();
