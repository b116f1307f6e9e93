/**
 * The audited-attempt pipeline against an in-memory audit store with real commit/rollback
 * semantics: whatever the work does, exactly one row is stored, and the caller sees the
 * original outcome.
 */
import { Logger } from '@nestjs/common';
import { ManualClock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import type { Database, Executor } from '../database/executor';
import { MetricsService } from '../ops/metrics.service';
import type { AttestationAttempt, AttestationAuditRepository } from './attestation-audit.repository';
import { AttemptSubject, AuditedAttempts, failureCode } from './audited-attempts.service';

class PendingTx implements Executor {
  readonly pending: AttestationAttempt[] = [];
  async rows<T extends object>(): Promise<T[]> {
    return [];
  }
}

/** Rows land in `stored` on commit; a transaction that throws leaves nothing. */
class Store {
  readonly stored: AttestationAttempt[] = [];
  failInserts: Error | null = null;

  readonly db = {
    rows: async () => [],
    transaction: async <T>(work: (tx: Executor) => Promise<T>): Promise<T> => {
      const tx = new PendingTx();
      const result = await work(tx);
      this.stored.push(...tx.pending);
      return result;
    },
  } as unknown as Database;

  readonly repository = {
    insert: async (attempt: AttestationAttempt, executor?: Executor): Promise<string> => {
      if (this.failInserts) throw this.failInserts;
      const row = structuredClone(attempt);
      if (executor instanceof PendingTx) executor.pending.push(row);
      else this.stored.push(row);
      return `id-${this.stored.length}`;
    },
  } as unknown as AttestationAuditRepository;
}

const subject: AttemptSubject = { kind: 'boot', minerHotkey: '5Hotkey', vmName: 'vm-1', clientIp: '10.0.0.1' };
const NOW = new Date('2026-03-01T00:00:00Z');

function setUp() {
  const store = new Store();
  const metrics = new MetricsService();
  const attempts = new AuditedAttempts(store.db, store.repository, metrics, new ManualClock(NOW));
  const counted = async () => (await metrics.attestations.get()).values.map((v): Record<string, unknown> => ({ ...v.labels, n: v.value }));
  return { store, attempts, counted };
}

describe('AuditedAttempts', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('a success stores exactly its verified row, committed with what the release wrote', async () => {
    const { store, attempts, counted } = setUp();
    const result = await attempts.run(subject, async (attempt) => {
      attempt.quoteSha256 = 'ab'.repeat(32);
      attempt.record.measurementVersion = '1.0';
      return attempt.succeed(async (_tx, id) => `released under ${id}`);
    });
    expect(result).toBe('released under id-0');
    expect(store.stored).toEqual([
      expect.objectContaining({
        kind: 'boot',
        outcome: 'verified',
        errorCode: null,
        createdAt: NOW,
        quoteSha256: 'ab'.repeat(32),
        measurementVersion: '1.0',
        vmName: 'vm-1',
      }),
    ]);
    expect(await counted()).toEqual([{ kind: 'boot', outcome: 'verified', code: 'OK', n: 1 }]);
  });

  it.each([
    ['a refusal (DomainError)', new DomainError(ErrorCode.MEASUREMENT_MISMATCH, 'no set'), 'MEASUREMENT_MISMATCH'],
    ['an unexpected error', new TypeError('x is undefined'), 'INTERNAL'],
    ['a lost database', Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' }), 'DATABASE_UNAVAILABLE'],
  ] as const)('%s before the verdict: one failed row with its code, the same error rethrown', async (_name, error, code) => {
    const { store, attempts, counted } = setUp();
    const run = attempts.run(subject, async (attempt) => {
      attempt.record.verdict.nonce = 'ok';
      throw error;
    });
    await expect(run).rejects.toBe(error);
    expect(store.stored).toEqual([expect.objectContaining({ outcome: 'failed', errorCode: code, verdict: { nonce: 'ok' } })]);
    expect(await counted()).toEqual([{ kind: 'boot', outcome: 'failed', code, n: 1 }]);
  });

  it('an error inside the release rolls its verified row back and leaves one INTERNAL row', async () => {
    const { store, attempts } = setUp();
    const boom = new Error('token insert failed');
    const run = attempts.run(subject, (attempt) =>
      attempt.succeed(async () => {
        throw boom;
      }),
    );
    await expect(run).rejects.toBe(boom);
    expect(store.stored.map((row) => [row.outcome, row.errorCode])).toEqual([['failed', 'INTERNAL']]);
  });

  it('an error after the verified row committed adds no second row', async () => {
    const { store, attempts } = setUp();
    const late = new Error('after commit');
    const run = attempts.run(subject, async (attempt) => {
      await attempt.succeed(async () => undefined);
      throw late;
    });
    await expect(run).rejects.toBe(late);
    expect(store.stored.map((row) => row.outcome)).toEqual(['verified']);
  });

  it('work that ends without a verdict is an INTERNAL failure, not a silent success', async () => {
    const { store, attempts } = setUp();
    await expect(attempts.run(subject, async () => 'forgot to succeed')).rejects.toThrow(/without a verdict/);
    expect(store.stored.map((row) => [row.outcome, row.errorCode])).toEqual([['failed', 'INTERNAL']]);
  });

  it('a failed row that cannot be written does not replace the original error', async () => {
    const { store, attempts } = setUp();
    const refusal = new DomainError(ErrorCode.NONCE_INVALID, 'nonce');
    const run = attempts.run(subject, async () => {
      store.failInserts = new Error('database gone');
      throw refusal;
    });
    await expect(run).rejects.toBe(refusal);
    expect(store.stored).toEqual([]);
  });

  it('stores server attempts with their server id', async () => {
    const { store, attempts } = setUp();
    await attempts.run({ kind: 'runtime', serverId: 'srv-1', minerHotkey: '5Hotkey', vmName: 'vm-1', clientIp: '10.0.0.1' }, (attempt) =>
      attempt.succeed(async () => undefined),
    );
    expect(store.stored).toEqual([expect.objectContaining({ kind: 'runtime', serverId: 'srv-1' })]);
  });

  it('failureCode maps DomainError, database loss and anything else', () => {
    expect(failureCode(new DomainError(ErrorCode.DEBUG_TD, 'debug'))).toBe('DEBUG_TD');
    expect(failureCode({ driverError: { code: '57P01' } })).toBe('DATABASE_UNAVAILABLE');
    expect(failureCode('a string')).toBe('INTERNAL');
  });
});
