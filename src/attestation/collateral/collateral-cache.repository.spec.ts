/**
 * The collateral cache refuses a rollback in the write itself (so two replicas racing cannot roll
 * it back either): a bundle never replaces one with a higher tcbEvaluationDataNumber, or an equal
 * number and a later issue date — for the TCB info and for the QE identity. Runs on PGlite, and
 * on PostgreSQL with TEST_DATABASE_URL.
 */
import { DataSource } from 'typeorm';
import { testDatabase } from '../../../test/support/database';
import { openDatabase } from '../../database/data-source';
import { Database } from '../../database/executor';
import type { QuoteCollateral } from '../core/dcap';
import { BundleOrder, CollateralCacheRepository, isOlderBundle } from './collateral-cache.repository';

const db = testDatabase('collateral_cache_repo');
let dataSource: DataSource;
let repo: CollateralCacheRepository;
const platform = { fmspc: 'f0c0de000000', ca: 'platform' as const };
const day = (n: number) => new Date(Date.UTC(2026, 2, n));
const bundle = (label: string) => ({ tcb_info: label }) as unknown as QuoteCollateral;
const order = (tcb: number, tcbDay: number, qe = tcb, qeDay = tcbDay): BundleOrder => ({
  tcbInfo: { tcbEvaluationDataNumber: tcb, issueDate: day(tcbDay) },
  qeIdentity: { tcbEvaluationDataNumber: qe, issueDate: day(qeDay) },
});
const store = (label: string, o: BundleOrder) => repo.store(platform, bundle(label), o, day(28), day(1));
const current = async () => ((await repo.find(platform))?.collateral as unknown as { tcb_info: string }).tcb_info;

beforeAll(async () => {
  dataSource = await openDatabase(db.target);
  repo = new CollateralCacheRepository(new Database(dataSource));
});

afterAll(async () => {
  await dataSource?.destroy();
  await db.drop();
});

describe('CollateralCacheRepository.store', () => {
  it('writes the first bundle, with its order', async () => {
    expect(await store('n18', order(18, 10))).toBe(true);
    expect(await repo.find(platform)).toMatchObject({ order: order(18, 10), nextUpdate: day(28), fetchedAt: day(1) });
  });

  it.each([
    ['a lower TCB info number', false, order(17, 20)],
    ['the same number, issued earlier', false, order(18, 9)],
    ['a lower QE identity number', false, order(18, 10, 17)],
    ['the same QE number, issued earlier', false, order(18, 10, 18, 9)],
    ['the same bundle again (a refresh)', true, order(18, 10)],
    ['the same number, issued later', true, order(18, 11)],
  ] as [string, boolean, BundleOrder][])('%s → written: %s', async (name, written, o) => {
    const before = await current();
    expect(await store(name, o)).toBe(written);
    expect(await current()).toBe(written ? name : before);
  });

  it('a higher number always wins, and rows without an order are replaceable', async () => {
    expect(await store('n19', order(19, 1))).toBe(true);
    await dataSource.query(`UPDATE collateral_cache SET tcb_evaluation_data_number = NULL`);
    expect(await store('after-legacy', order(3, 1))).toBe(true);
    expect(await current()).toBe('after-legacy');
  });

  it('remove drops the row only while it still holds that bundle', async () => {
    await repo.remove(platform, bundle('something else'));
    expect(await current()).toBe('after-legacy');
    await repo.remove(platform, bundle('after-legacy'));
    expect(await repo.find(platform)).toBeUndefined();
  });
});

describe('isOlderBundle', () => {
  it('compares number, then issue date, per document', () => {
    expect(isOlderBundle(order(17, 30), order(18, 1))).toBe(true);
    expect(isOlderBundle(order(18, 1), order(18, 2))).toBe(true);
    expect(isOlderBundle(order(18, 2, 16), order(18, 2))).toBe(true);
    expect(isOlderBundle(order(18, 2), order(18, 2))).toBe(false);
    expect(isOlderBundle(order(19, 1, 19, 1), order(18, 9))).toBe(false);
  });
});
