/**
 * The VolumeKeyGenerations migration on the real database: a volume key stored before
 * generations existed becomes generation 1, current, and still opens (its sealed bytes and AAD
 * are untouched); down() goes back to one key per volume, and refuses while a key in use is a
 * later generation (the old schema could not open it).
 */
import { DataSource } from 'typeorm';
import { VolumeKeyGenerations1763800900000 } from '../../migrations/1763800900000-VolumeKeyGenerations';
import { ManualClock } from '../../src/common/clock/clock';
import { KeyCustodyService } from '../../src/keys/key-custody.service';
import { startTestApp, TestApp } from '../support/app';
import { BOOT_NOW, BootEnv, createBootEnv, TestVm } from '../support/boot-env';
import { testDatabase, usingPostgres } from '../support/database';

const db = testDatabase('volume_key_migration');
const clock = new ManualClock(BOOT_NOW);
const migration = new VolumeKeyGenerations1763800900000();
const OLD_PASSPHRASE = 'ab'.repeat(64);
let env: BootEnv;
let app: TestApp;

beforeAll(async () => {
  env = await createBootEnv({ BROKER_KEKS: `k1:${Buffer.alloc(32, 0x51).toString('base64')}` });
  app = await startTestApp({ database: db.target, clock, env: env.env });
});

afterAll(async () => {
  await app?.close();
  await db.drop();
  env?.cleanup();
});

async function run(step: 'up' | 'down'): Promise<void> {
  const runner = app.app.get(DataSource).createQueryRunner();
  try {
    await runner.startTransaction();
    await migration[step](runner);
    await runner.commitTransaction();
  } catch (error) {
    await runner.rollbackTransaction();
    throw error;
  } finally {
    await runner.release();
  }
}

describe(`VolumeKeyGenerations migration (${usingPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('turns a key stored before generations into generation 1, current, which still opens', async () => {
    await run('down');
    const dataSource = app.app.get(DataSource);
    const created = new Date(BOOT_NOW.getTime() - 86_400_000);
    const rekeyed = new Date(BOOT_NOW.getTime() - 3_600_000);
    // As the previous code stored it: one row per volume, AAD without a generation.
    const sealed = app.app.get(KeyCustodyService).seal(Buffer.from(OLD_PASSPHRASE, 'utf8'), `volume|${env.minerHotkey}|vm-old|storage`);
    await dataSource.query(`INSERT INTO luks_vms (miner_hotkey, vm_name, created_at) VALUES ($1, 'vm-old', $2)`, [env.minerHotkey, created]);
    await dataSource.query(
      `INSERT INTO luks_volumes (miner_hotkey, vm_name, volume, kek_id, wrapped_key, ciphertext, created_at, updated_at) VALUES ($1, 'vm-old', 'storage', $2, $3, $4, $5, $6)`,
      [env.minerHotkey, sealed.kekId, Buffer.from(sealed.wrappedKey), Buffer.from(sealed.ciphertext), created, rekeyed],
    );
    await dataSource.query(
      `INSERT INTO key_release_events (id, created_at, kind, miner_hotkey, vm_name) VALUES (gen_random_uuid(), $1, 'destroy', $2, 'vm-gone')`,
      [created, env.minerHotkey],
    );
    await run('up');

    const rows: { generation: number; state: string; created_at: Date; noncurrent_since: Date | null }[] = await dataSource.query(
      `SELECT generation, state, created_at, noncurrent_since FROM luks_volumes WHERE vm_name = 'vm-old'`,
    );
    expect(rows).toEqual([{ generation: 1, state: 'current', created_at: rekeyed, noncurrent_since: null }]);
    expect(await dataSource.query(`SELECT kind FROM key_release_events WHERE vm_name = 'vm-gone'`)).toEqual([{ kind: 'destroy' }]);

    const vm = await TestVm.create(app.baseUrl, env.forge, env.minerHotkey, 'vm-old');
    const sync = await vm.sync((await vm.boot()).json.boot_token, ['storage']);
    expect([sync.status, sync.json]).toEqual([200, { storage: OLD_PASSPHRASE }]);
  });

  it('down() refuses while a key in use is generation 2 or later, and changes nothing', async () => {
    const vm = await TestVm.create(app.baseUrl, env.forge, env.minerHotkey, 'vm-old');
    const rekeyed = await vm.sync((await vm.boot()).json.boot_token, ['storage'], ['storage']);
    expect(rekeyed.status).toBe(200);
    await expect(run('down')).rejects.toThrow(
      'cannot undo VolumeKeyGenerations: 1 volume keys in use are generation 2 or later, which the previous schema cannot open',
    );
    const again = await vm.sync((await vm.boot()).json.boot_token, ['storage']);
    expect([again.status, again.json]).toEqual([200, rekeyed.json]);
  });
});
