/**
 * The embedded engine: PGlite (real PostgreSQL compiled to WASM, in-process) behind TypeORM's
 * postgres driver, through typeorm-pglite. PGlite is a single session, so its pool hands out
 * one connection at a time: a transaction keeps the session to itself until it is released,
 * exactly like a pg pool of size one. Without this, two requests' transactions would
 * interleave their statements on the one session.
 */
import type { PGliteOptions } from '@electric-sql/pglite';
import { PGliteDriver } from 'typeorm-pglite';
import { PGlitePool } from 'typeorm-pglite/dist/pglite-pool';

type ConnectCallback = (error: unknown, client: PGlitePool | null, done: () => void) => void;

class SerializedPGlitePool extends PGlitePool {
  private static tail: Promise<void> = Promise.resolve();

  override async connect(callback: ConnectCallback): Promise<void> {
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    const previous = SerializedPGlitePool.tail;
    SerializedPGlitePool.tail = previous.then(() => turn);
    await previous;
    let released = false;
    const done = () => {
      if (!released) {
        released = true;
        release();
      }
    };
    await super.connect((error, client) => {
      if (error) done();
      callback(error, client, done);
    });
  }
}

/** The `driver` value for TypeORM's postgres DataSource options. */
export function pgliteDriver(options: PGliteOptions): unknown {
  new PGliteDriver(options); // records the options for the (process-wide) PGlite instance
  return Object.assign(class {}, { Pool: SerializedPGlitePool });
}
