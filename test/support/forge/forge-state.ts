/**
 * A forge persisted in a directory, so separate processes (shell tests calling the quote command
 * repeatedly, and the broker under test) share one test PKI and one collateral bundle:
 *
 *   <dir>/pki.json                      keys and certificates (test material, mode 0600)
 *   <dir>/root-ca.pem, root-ca.der      for DCAP_ROOT_CA_FILE
 *   <dir>/collateral/forged.json        for COLLATERAL_DIR
 *
 * Creation happens under a lock directory, so concurrent first calls agree on one PKI.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CollateralOptions, createCollateral, QuoteCollateralV3, writeCollateralFile } from './collateral';
import { createTestPki, restoreTestPki, SerializedTestPki, serializeTestPki, TestPki } from './test-pki';

export interface ForgeStatePaths {
  dir: string;
  pkiFile: string;
  rootCaPem: string;
  rootCaDer: string;
  collateralDir: string;
  collateralFile: string;
}

export interface ForgeState {
  paths: ForgeStatePaths;
  pki: TestPki;
  collateral: QuoteCollateralV3;
}

export interface OpenForgeStateOptions {
  /** Rewrite the collateral with these options (otherwise an existing, unexpired one is kept). */
  collateral?: CollateralOptions;
  now?: Date;
}

const COLLATERAL_FILE_NAME = 'forged';
const LOCK_WAIT_MS = 15_000;
const LOCK_POLL_MS = 50;
/** A lock older than this was left by a crashed process. */
const STALE_LOCK_MS = 30_000;
/** Renew the collateral when it has less than this left, so a test run never sees it expire. */
const COLLATERAL_RENEW_MARGIN_MS = 24 * 60 * 60 * 1000;

export function forgeStatePaths(dir: string): ForgeStatePaths {
  return {
    dir,
    pkiFile: join(dir, 'pki.json'),
    rootCaPem: join(dir, 'root-ca.pem'),
    rootCaDer: join(dir, 'root-ca.der'),
    collateralDir: join(dir, 'collateral'),
    collateralFile: join(dir, 'collateral', `${COLLATERAL_FILE_NAME}.json`),
  };
}

/** Loads the forge state in `dir`, creating the PKI and collateral on first use. */
export async function openForgeState(dir: string, options: OpenForgeStateOptions = {}): Promise<ForgeState> {
  const paths = forgeStatePaths(dir);
  mkdirSync(dir, { recursive: true });
  const release = acquireLock(join(dir, '.lock'));
  try {
    const pki = await loadOrCreatePki(paths);
    const now = options.now ?? new Date();
    const collateral = await loadOrCreateCollateral(paths, pki, now, options.collateral);
    return { paths, pki, collateral };
  } finally {
    release();
  }
}

async function loadOrCreatePki(paths: ForgeStatePaths): Promise<TestPki> {
  if (existsSync(paths.pkiFile)) {
    return restoreTestPki(JSON.parse(readFileSync(paths.pkiFile, 'utf8')) as SerializedTestPki);
  }
  // Random keys: a state dir is its own trust domain; nothing should depend on key values.
  const pki = await createTestPki({ cache: false });
  writeAtomically(paths.rootCaPem, pki.root.pem);
  writeAtomically(paths.rootCaDer, pki.root.der);
  writeAtomically(paths.pkiFile, `${JSON.stringify(serializeTestPki(pki), null, 2)}\n`, 0o600);
  return pki;
}

async function loadOrCreateCollateral(paths: ForgeStatePaths, pki: TestPki, now: Date, rewrite: CollateralOptions | undefined): Promise<QuoteCollateralV3> {
  if (!rewrite && existsSync(paths.collateralFile)) {
    const existing = JSON.parse(readFileSync(paths.collateralFile, 'utf8')) as QuoteCollateralV3;
    if (!expiresSoon(existing, now)) return existing;
  }
  const collateral = await createCollateral(pki, { now, ...rewrite });
  writeCollateralFile(paths.collateralDir, collateral, COLLATERAL_FILE_NAME);
  return collateral;
}

function expiresSoon(collateral: QuoteCollateralV3, now: Date): boolean {
  const nextUpdate = (body: string): number => new Date((JSON.parse(body) as { nextUpdate: string }).nextUpdate).getTime();
  const earliest = Math.min(nextUpdate(collateral.tcb_info), nextUpdate(collateral.qe_identity));
  return earliest - now.getTime() < COLLATERAL_RENEW_MARGIN_MS;
}

function writeAtomically(path: string, data: string | Buffer, mode = 0o644): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, data, { mode });
  renameSync(temporary, path);
}

/** A directory as a cross-process lock (mkdir is atomic); returns the release function. */
function acquireLock(lockDir: string): () => void {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lockDir);
      return () => rmdirSync(lockDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (isStale(lockDir)) {
      removeLock(lockDir);
      continue;
    }
    if (Date.now() > deadline) throw new Error(`forge state: timed out waiting for lock ${lockDir}`);
    sleepSync(LOCK_POLL_MS);
  }
}

function removeLock(lockDir: string): void {
  try {
    rmdirSync(lockDir);
  } catch (error) {
    // Another waiter may have removed the stale lock first.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function isStale(lockDir: string): boolean {
  try {
    return Date.now() - statSync(lockDir).mtimeMs > STALE_LOCK_MS;
  } catch {
    return false; // released meanwhile
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
