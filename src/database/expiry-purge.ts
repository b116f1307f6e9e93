/**
 * Single-use tables (nonces, signature replays) are purged off the request path, every minute,
 * in small batches (purgeExpiredRows in database.repository.ts) so no statement holds its locks long.
 */
import type { Logger } from '@nestjs/common';

const INTERVAL_MS = 60_000;

/** Runs `purge` every minute (never keeping the process alive); returns a function that stops it. */
export function schedulePurge(purge: () => Promise<number>, logger: Logger, what: string): () => void {
  const timer = setInterval(() => {
    purge().then(
      (count) => count > 0 && logger.log(`purged ${count} expired ${what}`),
      (error: unknown) => logger.warn(`${what} purge failed: ${(error as Error).message}`),
    );
  }, INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
