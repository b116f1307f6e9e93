/**
 * KEK rotation without loss (issue 13, loss 3), on the real database:
 * - the race: broker A rotates to k2 while broker B, still on the old active KEK k1, rekeys a
 *   volume between A's read and A's write; afterwards every key still opens, and once the
 *   remaining rows are re-wrapped k1 can leave the ring (PostgreSQL only: two brokers need two
 *   connections to one database, which an in-process PGlite cannot give);
 * - a row that cannot be opened is skipped and reported, not an abort of the whole rotation;
 * - a broker refuses to start, in one line with counts, while stored rows use a KEK its ring lacks;
 * - GET /admin/keys/status shows rows per KEK.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { ManualClock } from '../../src/common/clock/clock';
import { ConfigError } from '../../src/config/app-config';
import { KeyCustodyService } from '../../src/keys/key-custody.service';
import { VolumeKeysRepository } from '../../src/luks/volume-keys.repository';
import { startTestApp, TestApp } from '../support/app';
import { BOOT_NOW, BootEnv, createBootEnv, TestVm } from '../support/boot-env';
import { testDatabase, usingPostgres } from '../support/database';
import { KeyringPair, testKeypair } from '../support/hotkey';
import { signedRequest } from '../support/signed';

const K1 = Buffer.alloc(32, 0x31).toString('base64');
const K2 = Buffer.alloc(32, 0x32).toString('base64');
const clock = new ManualClock(BOOT_NOW);

const describeOnPostgres = usingPostgres ? describe : describe.skip;

describeOnPostgres('KEK rotation racing a rekey on a broker still on the old active KEK (PostgreSQL, two brokers)', () => {
  const db = testDatabase('kek_race');
  let env: BootEnv;
  let a: TestApp | undefined;
  let b: TestApp | undefined;

  beforeAll(async () => {
    env = await createBootEnv();
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db.drop();
    env?.cleanup();
  });

  const start = (keks: string, active: string) =>
    startTestApp({ database: db.target, clock, env: { ...env.env, BROKER_KEKS: keks, BROKER_ACTIVE_KEK: active } });

  it('loses no key', async () => {
    a = await start(`k1:${K1}`, 'k1');
    const vmOnA = await TestVm.create(a.baseUrl, env.forge, env.minerHotkey, 'vm-race');
    const first = await vmOnA.sync((await vmOnA.boot()).json.boot_token, ['storage', 'tdx-cache'], ['storage', 'tdx-cache']);
    expect(first.status).toBe(200);
    await a.close();

    a = await start(`k1:${K1},k2:${K2}`, 'k2');
    b = await start(`k1:${K1},k2:${K2}`, 'k1');
    const vmA = new TestVm(a.baseUrl, env.forge, vmOnA.cert, vmOnA.hotkey, vmOnA.vmName);
    const vmB = new TestVm(b.baseUrl, env.forge, vmOnA.cert, vmOnA.hotkey, vmOnA.vmName);

    // Between A's read of the rows to re-wrap and A's writes, B rekeys storage under k1.
    let rekeyed: Record<string, string> = {};
    const repository = a.app.get(VolumeKeysRepository);
    const read = repository.wrappedByOtherKek.bind(repository);
    jest.spyOn(repository, 'wrappedByOtherKek').mockImplementationOnce(async (...args: Parameters<typeof read>) => {
      const stale = await read(...args);
      const sync = await vmB.sync((await vmB.boot()).json.boot_token, ['storage', 'tdx-cache'], ['storage']);
      expect(sync.status).toBe(200);
      rekeyed = sync.json;
      return stale;
    });
    const raced = await a.app.get(KeyCustodyService).rotate();
    // Storage and tdx-cache generation 1 and the root passphrase re-wrapped; B's new generation 2 (under k1) remains.
    expect(raced).toEqual({ kekId: 'k2', rewrapped: 3, skipped: 0, remaining: 1 });
    expect(rekeyed.storage).not.toBe(first.json.storage);
    expect(rekeyed['tdx-cache']).toBe(first.json['tdx-cache']);

    // Every key still opens, on both brokers.
    for (const vm of [vmA, vmB]) {
      const sync = await vm.sync((await vm.boot()).json.boot_token, ['storage', 'tdx-cache']);
      expect([sync.status, sync.json]).toEqual([200, rekeyed]);
    }
    const again = await a.app.get(KeyCustodyService).rotate();
    expect(again).toEqual({ kekId: 'k2', rewrapped: 1, skipped: 0, remaining: 0 });
    await b.close();
    b = undefined;
    await a.close();
    a = await start(`k2:${K2}`, 'k2');
    const vm = new TestVm(a.baseUrl, env.forge, vmOnA.cert, vmOnA.hotkey, vmOnA.vmName);
    const sync = await vm.sync((await vm.boot()).json.boot_token, ['storage', 'tdx-cache']);
    expect([sync.status, sync.json]).toEqual([200, rekeyed]);
  });
});

describe(`a damaged row, status, and the start-up check (${usingPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  // A PGlite directory (not in-memory) so restarts come back to the same data.
  const db = testDatabase('kek_rotation', fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-kek-rotation-db-')));
  let env: BootEnv;
  let app: TestApp | undefined;
  let admin: KeyringPair;
  let vm: TestVm;
  let keys: Record<string, string>;

  beforeAll(async () => {
    env = await createBootEnv();
    admin = await testKeypair('//kek-rotation-admin');
  });

  afterAll(async () => {
    await app?.close();
    await db.drop();
    env?.cleanup();
  });

  const appEnv = (keks: string, active?: string) => ({
    ...env.env,
    ADMIN_HOTKEYS: admin.address,
    BROKER_KEKS: keks,
    ...(active ? { BROKER_ACTIVE_KEK: active } : {}),
  });

  async function start(keks: string, active?: string): Promise<TestApp> {
    await app?.close();
    app = await startTestApp({ database: db.target, clock, env: appEnv(keks, active) });
    vm = new TestVm(app.baseUrl, env.forge, vm.cert, vm.hotkey, vm.vmName);
    return app;
  }

  /** Starts expecting a refusal; closes what the failed start opened (Nest does not). */
  async function startFailure(keks: string): Promise<unknown> {
    await app?.close();
    app = undefined;
    const opened: DataSource[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the instance as `this`
    const initialize = DataSource.prototype.initialize;
    const spy = jest.spyOn(DataSource.prototype, 'initialize').mockImplementation(function (this: DataSource) {
      opened.push(this);
      return initialize.call(this);
    });
    try {
      app = await startTestApp({ database: db.target, clock, env: appEnv(keks) });
      return undefined;
    } catch (error) {
      return error;
    } finally {
      spy.mockRestore();
      for (const dataSource of opened) if (dataSource.isInitialized) await dataSource.destroy();
    }
  }

  const admin$ = <T = Record<string, unknown>>(method: string, route: string) => signedRequest<T>(admin, clock.now(), method, `${app!.baseUrl}${route}`);

  type Status = {
    active_kek_id: string;
    configured_kek_ids: string[];
    keks: { kek_id: string; in_ring: boolean; active: boolean; rows: number; tables: Record<string, number> }[];
    missing_kek_ids: string[];
  };

  it("starts under k1 with a VM's volumes and the file's root passphrase", async () => {
    app = await startTestApp({ database: db.target, clock, env: appEnv(`k1:${K1}`) });
    vm = await TestVm.create(app.baseUrl, env.forge, env.minerHotkey, 'vm-rotation');
    const sync = await vm.sync((await vm.boot()).json.boot_token, ['storage', 'tdx-cache'], ['storage', 'tdx-cache']);
    expect(sync.status).toBe(200);
    keys = sync.json;
    const status = await admin$<Status>('GET', '/admin/keys/status');
    expect([status.status, status.json]).toEqual([
      200,
      {
        active_kek_id: 'k1',
        configured_kek_ids: ['k1'],
        keks: [{ kek_id: 'k1', in_ring: true, active: true, rows: 3, tables: { luks_volumes: 2, measurement_sets: 1 } }],
        missing_kek_ids: [],
      },
    ]);
  });

  it('one damaged row does not abort the rotation: it is skipped and reported, every other row re-wrapped', async () => {
    // A flipped byte in tdx-cache's ciphertext: that row can no longer be opened by anyone.
    await app!.app
      .get(DataSource)
      .query(
        `UPDATE luks_volumes SET ciphertext = set_byte(ciphertext, 30, get_byte(ciphertext, 30) # 1) WHERE vm_name = 'vm-rotation' AND volume = 'tdx-cache'`,
      );
    await start(`k1:${K1},k2:${K2}`, 'k2');
    const rotated = await admin$('POST', '/admin/keys/rotate');
    expect([rotated.status, rotated.json]).toEqual([200, { kek_id: 'k2', rewrapped: 2, skipped: 1, remaining: 1 }]);
    const status = await admin$<Status>('GET', '/admin/keys/status');
    expect(status.json.keks).toEqual([
      { kek_id: 'k1', in_ring: true, active: false, rows: 1, tables: { luks_volumes: 1 } },
      { kek_id: 'k2', in_ring: true, active: true, rows: 2, tables: { luks_volumes: 1, measurement_sets: 1 } },
    ]);
    const again = await admin$('POST', '/admin/keys/rotate');
    expect(again.json).toEqual({ kek_id: 'k2', rewrapped: 0, skipped: 1, remaining: 1 });
    const sync = await vm.sync((await vm.boot()).json.boot_token, ['storage']);
    expect([sync.status, sync.json.storage]).toEqual([200, keys.storage]);
  });

  it('refuses to start, in one line with counts, while stored rows use a KEK the ring lacks', async () => {
    const error = await startFailure(`k2:${K2}`);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      'invalid configuration: stored secrets use KEK ids that BROKER_KEKS lacks: k1 (1 row); add those KEKs back (re-wrap with POST /admin/keys/rotate before removing a KEK)',
    );
    expect((error as Error).message).not.toContain(K1);
  });

  it("starts once no row uses the removed KEK (the damaged key shredded by its miner's admin)", async () => {
    await start(`k1:${K1},k2:${K2}`, 'k2');
    const miner = env.minerHotkey;
    const shredded = await signedRequest(admin, clock.now(), 'DELETE', `${app!.baseUrl}/vms/vm-rotation/keys?hotkey=${miner}`, { confirm: 'vm-rotation' });
    expect([shredded.status, shredded.json]).toEqual([200, { shredded: 2 }]);
    await start(`k2:${K2}`);
    const status = await admin$<Status>('GET', '/admin/keys/status');
    expect([status.json.missing_kek_ids, status.json.keks.map((k) => [k.kek_id, k.rows])]).toEqual([[], [['k2', 1]]]);
  });
});
