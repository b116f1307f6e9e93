/**
 * Key custody that never loses a key (issue 13), through real HTTPS on the real database:
 * - the hijack: a genuine TD claiming another miner's hotkey and VM name rekeys its volumes;
 *   the victim's miner sees it (replaced events, metric, generations) and restores the previous
 *   generation, and the victim's next sync returns the original keys again;
 * - boot identity pinning: with the victim's VM registered as a server, the intruder's boot from
 *   another address is 403 IDENTITY_HOST_MISMATCH (audited with both addresses) and nothing changes;
 * - DELETE /servers keeps keys (re-adding the server finds them), destroy_keys=true shreds
 *   only that server's own vm_name, audited; names, ids and VM names never collide;
 * - a lost sync answer: the same token and body retried get the same answer (at most 3 times);
 * - `previous: true`, explicit shredding by the miner, and the retention purge (injected clock).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { ManualClock } from '../../src/common/clock/clock';
import { KeyRetentionService } from '../../src/luks/key-retention.service';
import { startTestApp, TestApp } from '../support/app';
import { BOOT_NOW, BootEnv, createBootEnv, EXPECTED_GPU, IMAGE, TestVm } from '../support/boot-env';
import { testDatabase, usingPostgres } from '../support/database';
import { FakeAttestationService } from '../support/fake-attestation-service';
import { KeyringPair, testKeypair } from '../support/hotkey';
import { httpRequest } from '../support/http';
import { signedRequest } from '../support/signed';

// A PGlite directory (not in-memory): one test restarts the broker with pinning off.
const db = testDatabase('key_generations', fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-key-generations-db-')));
const clock = new ManualClock(BOOT_NOW);
const DAY_S = 86_400;
const reg = (hex: string) => Buffer.from(hex, 'hex');
const runtimeQuote = { mrtd: reg(IMAGE.mrtd), rtmrs: { rtmr0: reg(IMAGE.rtmr0), rtmr1: reg(IMAGE.rtmr1), rtmr2: reg(IMAGE.rtmr2), rtmr3: reg(IMAGE.rtmr3) } };

let env: BootEnv;
let app: TestApp;
let fake: FakeAttestationService;
let victim: KeyringPair;
let stranger: KeyringPair;
let admin: KeyringPair;

type Json = Record<string, unknown> & { code?: string };
type Generation = { generation: number; state: string; created_at: string; attestation_id: string | null; client_ip: string | null };
type VmKeys = { vm_name: string; miner_hotkey: string; volumes: { volume: string; generations: Generation[] }[] };

const call = <T = Json>(pair: KeyringPair, method: string, route: string, body?: unknown) =>
  signedRequest<T & { code?: string }>(pair, clock.now(), method, `${app.baseUrl}${route}`, body);

function gpu(uuid: string) {
  return {
    uuid,
    name: 'H100',
    memory: 80 * 1024 ** 3,
    clock_rate: 1980,
    device_index: 0,
    gpu_identifier: EXPECTED_GPU,
    verification_host: '127.0.0.1',
    verification_port: 8443,
  };
}

const register = (pair: KeyringPair, id: string, name: string, uuid = `GPU-${id}`) =>
  call(pair, 'POST', '/servers', { host: '127.0.0.1', id, name, gpus: [gpu(uuid)] });

/** A booting VM as it would run from `address` (nonce and attestation both from there). */
async function bootFrom(vm: TestVm, address: string) {
  const nonce = await vm.nonce(address);
  return vm.attest(nonce, vm.quote(nonce), { localAddress: address });
}

/** The sync as `vm` makes it from `address`. */
function syncFrom(vm: TestVm, token: string, volumes: string[], rekey: string[], address: string) {
  return httpRequest<Record<string, string>>(`${app.baseUrl}/servers/${vm.vmName}/luks`, {
    headers: { 'x-chutes-hotkey': vm.hotkey, 'x-boot-token': token },
    body: { volumes, rekey },
    clientCert: vm.cert,
    localAddress: address,
  });
}

function tick() {
  clock.advance(1);
}

const dataSource = () => app.app.get(DataSource);

async function events(
  vmName: string,
  kind: string,
): Promise<{ kind: string; rekeyed: string[]; pruned: string[]; returned: string[]; detail: Record<string, unknown>; client_ip: string | null }[]> {
  // Events of one transaction share created_at: within it, by the volume they name.
  return dataSource().query(
    `SELECT kind, rekeyed, pruned, returned, detail, client_ip FROM key_release_events WHERE vm_name = $1 AND kind = $2 ORDER BY created_at, detail->>'volume', id`,
    [vmName, kind],
  );
}

async function volumeRows(vmName: string): Promise<{ volume: string; generation: number; state: string }[]> {
  return dataSource().query(`SELECT volume, generation, state FROM luks_volumes WHERE vm_name = $1 ORDER BY volume, generation`, [vmName]);
}

function generationsOf(keys: VmKeys, volume: string): [number, string][] {
  return (keys.volumes.find((entry) => entry.volume === volume)?.generations ?? []).map((g) => [g.generation, g.state]);
}

async function start(extra: Record<string, string> = {}): Promise<void> {
  await app?.close();
  app = await startTestApp({
    database: db.target,
    clock,
    env: { ...env.env, ADMIN_HOTKEYS: admin.address, ALLOW_PRIVATE_HOSTS: 'true', ATTESTATION_PORT: String(fake.port), GPU_EVIDENCE: 'skip', ...extra },
  });
}

beforeAll(async () => {
  env = await createBootEnv();
  fake = await new FakeAttestationService(env.forge).start();
  fake.quoteOptions = runtimeQuote;
  victim = await testKeypair('//key-generations-victim');
  stranger = await testKeypair('//key-generations-stranger');
  admin = await testKeypair('//key-generations-admin');
  await start();
});

afterAll(async () => {
  await app?.close();
  await fake?.stop();
  await db.drop();
  env?.cleanup();
});

describe(`key custody that never loses a key (${usingPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  describe('the hijack, undone by the miner', () => {
    let victimVm: TestVm;
    let intruder: TestVm;
    let original: Record<string, string>;
    let hijacked: Record<string, string>;

    it("an intruder TD claiming the victim's hotkey and VM name rekeys its volumes (the VM name is not registered: nothing pins it)", async () => {
      victimVm = await TestVm.create(app.baseUrl, env.forge, victim.address, 'vm-victim');
      intruder = await TestVm.create(app.baseUrl, env.forge, victim.address, 'vm-victim');
      tick();
      const first = await victimVm.sync((await victimVm.boot()).json.boot_token, ['storage', 'tdx-cache'], ['storage', 'tdx-cache']);
      expect(first.status).toBe(200);
      original = first.json;
      tick();
      const boot = await bootFrom(intruder, '127.0.0.2');
      expect(boot.status).toBe(200);
      const rekeyed = await syncFrom(intruder, boot.json.boot_token, ['storage', 'tdx-cache'], ['storage', 'tdx-cache'], '127.0.0.2');
      expect(rekeyed.status).toBe(200);
      hijacked = rekeyed.json;
      expect(hijacked.storage).not.toBe(original.storage);
      expect(hijacked['tdx-cache']).not.toBe(original['tdx-cache']);
    });

    it('every replacement is a `replaced` key-release event, a metric, and visible to admins; nothing was deleted', async () => {
      const replaced = await events('vm-victim', 'replaced');
      expect(replaced.map((e) => [e.rekeyed, e.detail.cause, e.detail.generation, e.detail.replaced_generation, e.client_ip])).toEqual([
        [['storage'], 'rekey', 2, 1, '127.0.0.2'],
        [['tdx-cache'], 'rekey', 2, 1, '127.0.0.2'],
      ]);
      const metrics = await httpRequest(`${app.baseUrl}/metrics`);
      expect(metrics.text).toMatch(/^bootkey_key_replacements_total\{cause="rekey"\} 2$/m);
      const trail = await call<{ items: { kind: string; vm_name: string; rekeyed: string[] }[] }>(
        admin,
        'GET',
        '/admin/key-events?kind=replaced&vm_name=vm-victim',
      );
      // One transaction wrote both (same created_at): compared without their order.
      expect([trail.status, trail.json.items.map((item) => [item.kind, item.vm_name, item.rekeyed]).sort()]).toEqual([
        200,
        [
          ['replaced', 'vm-victim', ['storage']],
          ['replaced', 'vm-victim', ['tdx-cache']],
        ],
      ]);
      expect(await volumeRows('vm-victim')).toEqual([
        { volume: 'storage', generation: 1, state: 'superseded' },
        { volume: 'storage', generation: 2, state: 'current' },
        { volume: 'tdx-cache', generation: 1, state: 'superseded' },
        { volume: 'tdx-cache', generation: 2, state: 'current' },
      ]);
    });

    it("the victim's miner lists the generations (metadata only: who caused each one)", async () => {
      const listed = await call<VmKeys>(victim, 'GET', '/vms/vm-victim/keys');
      expect(listed.status).toBe(200);
      expect([listed.json.vm_name, listed.json.miner_hotkey]).toEqual(['vm-victim', victim.address]);
      expect(generationsOf(listed.json, 'storage')).toEqual([
        [2, 'current'],
        [1, 'superseded'],
      ]);
      const [newest, oldest] = listed.json.volumes.find((entry) => entry.volume === 'storage')!.generations;
      expect([newest.client_ip, oldest.client_ip]).toEqual(['127.0.0.2', '127.0.0.1']);
      expect(newest.attestation_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(newest.attestation_id).not.toBe(oldest.attestation_id);
      for (const secret of [...Object.values(original), ...Object.values(hijacked)]) expect(listed.text).not.toContain(secret);
    });

    it("only the VM's miner (or an admin, with ?hotkey=) sees or changes its keys", async () => {
      expect((await call(stranger, 'GET', '/vms/vm-victim/keys')).json.code).toBe('NOT_FOUND');
      const foreign = await call(stranger, 'GET', `/vms/vm-victim/keys?hotkey=${victim.address}`);
      expect([foreign.status, foreign.json.code]).toEqual([403, 'NOT_ADMIN']);
      const restore = await call(stranger, 'POST', `/vms/vm-victim/keys/restore?hotkey=${victim.address}`, { volume: 'storage', generation: 1 });
      expect([restore.status, restore.json.code]).toEqual([403, 'NOT_ADMIN']);
      const asAdmin = await call<VmKeys>(admin, 'GET', `/vms/vm-victim/keys?hotkey=${victim.address}`);
      expect([asAdmin.status, generationsOf(asAdmin.json, 'tdx-cache')]).toEqual([
        200,
        [
          [2, 'current'],
          [1, 'superseded'],
        ],
      ]);
      expect(await volumeRows('vm-victim')).toContainEqual({ volume: 'storage', generation: 2, state: 'current' });
    });

    it('refuses to restore a generation that does not exist (404) or a malformed request (422)', async () => {
      const missing = await call(victim, 'POST', '/vms/vm-victim/keys/restore', { volume: 'storage', generation: 7 });
      expect([missing.status, missing.json.code]).toEqual([404, 'KEY_GENERATION_NOT_FOUND']);
      const otherVolume = await call(victim, 'POST', '/vms/vm-victim/keys/restore', { volume: 'swap', generation: 1 });
      expect([otherVolume.status, otherVolume.json.code]).toEqual([404, 'KEY_GENERATION_NOT_FOUND']);
      for (const body of [{ volume: 'storage' }, { volume: 'storage', generation: 0 }, { volume: 'bad name', generation: 1 }]) {
        const bad = await call(victim, 'POST', '/vms/vm-victim/keys/restore', body);
        expect([body, bad.status, bad.json.code]).toEqual([body, 422, 'VALIDATION_FAILED']);
      }
    });

    it("the miner restores the previous generations; the victim's next sync returns the original keys", async () => {
      tick();
      for (const volume of ['storage', 'tdx-cache']) {
        const restored = await call(victim, 'POST', '/vms/vm-victim/keys/restore', { volume, generation: 1 });
        expect([restored.status, restored.json]).toEqual([
          200,
          { vm_name: 'vm-victim', miner_hotkey: victim.address, volume, generation: 1, state: 'current', replaced_generation: 2 },
        ]);
      }
      const again = await call(victim, 'POST', '/vms/vm-victim/keys/restore', { volume: 'storage', generation: 1 });
      expect([again.status, again.json.replaced_generation]).toEqual([200, null]);
      tick();
      const sync = await victimVm.sync((await victimVm.boot()).json.boot_token, ['storage', 'tdx-cache']);
      expect([sync.status, sync.json]).toEqual([200, original]);
      const restores = await events('vm-victim', 'restore');
      expect(restores.map((e) => [e.detail.volume, e.detail.generation, e.detail.replaced_generation, e.detail.actor, e.detail.actor_role])).toEqual([
        ['storage', 1, 2, victim.address, 'miner'],
        ['tdx-cache', 1, 2, victim.address, 'miner'],
      ]);
      const replaced = await events('vm-victim', 'replaced');
      expect(replaced.filter((e) => e.detail.cause === 'restore').map((e) => e.rekeyed)).toEqual([['storage'], ['tdx-cache']]);
      expect((await httpRequest(`${app.baseUrl}/metrics`)).text).toMatch(/^bootkey_key_replacements_total\{cause="restore"\} 2$/m);
    });

    it('`previous: true` answers every volume with its retained generations, newest first', async () => {
      tick();
      const res = await httpRequest<Record<string, { current: string; previous: string[] }>>(`${app.baseUrl}/servers/vm-victim/luks`, {
        headers: { 'x-chutes-hotkey': victim.address, 'x-boot-token': (await victimVm.boot()).json.boot_token },
        body: { volumes: ['storage', 'tdx-cache'], previous: true },
        clientCert: victimVm.cert,
      });
      expect([res.status, res.json]).toEqual([
        200,
        {
          storage: { current: original.storage, previous: [hijacked.storage] },
          'tdx-cache': { current: original['tdx-cache'], previous: [hijacked['tdx-cache']] },
        },
      ]);
    });
  });

  describe('boot identity pinned to the registered host', () => {
    let pinned: TestVm;
    let keys: Record<string, string>;

    it("the registered VM boots from its server's host and gets its keys", async () => {
      expect((await register(victim, 'srv-pinned', 'vm-pinned')).status).toBe(201);
      pinned = await TestVm.create(app.baseUrl, env.forge, victim.address, 'vm-pinned');
      tick();
      const boot = await pinned.boot();
      expect(boot.status).toBe(200);
      const sync = await pinned.sync(boot.json.boot_token, ['storage', 'tdx-cache'], ['storage', 'tdx-cache']);
      expect(sync.status).toBe(200);
      keys = sync.json;
      const rows: { verdict: { identity: unknown } }[] = await dataSource().query(
        `SELECT verdict FROM boot_attestations WHERE vm_name = 'vm-pinned' AND outcome = 'verified' ORDER BY created_at DESC LIMIT 1`,
      );
      expect(rows[0].verdict.identity).toEqual({ result: 'registered_host', server_id: 'srv-pinned' });
    });

    it('an intruder claiming it from another address is 403 IDENTITY_HOST_MISMATCH, audited with both addresses; nothing changes', async () => {
      const intruder = await TestVm.create(app.baseUrl, env.forge, victim.address, 'vm-pinned');
      const before = {
        rows: await volumeRows('vm-pinned'),
        releases: (await events('vm-pinned', 'sync')).length,
        tokens: await dataSource().query(`SELECT count(*)::int AS n FROM boot_tokens WHERE vm_name = 'vm-pinned'`),
      };
      tick();
      const boot = await bootFrom(intruder, '127.0.0.2');
      expect([boot.status, boot.json.code, boot.json.key, boot.json.boot_token]).toEqual([403, 'IDENTITY_HOST_MISMATCH', undefined, undefined]);
      const rows: { outcome: string; error_code: string; client_ip: string; verdict: { identity: unknown } }[] = await dataSource().query(
        `SELECT outcome, error_code, client_ip, verdict FROM boot_attestations WHERE vm_name = 'vm-pinned' ORDER BY created_at DESC LIMIT 1`,
      );
      expect(rows[0]).toMatchObject({ outcome: 'failed', error_code: 'IDENTITY_HOST_MISMATCH', client_ip: '127.0.0.2' });
      expect(rows[0].verdict.identity).toEqual({
        result: 'host_mismatch',
        client_ip: '127.0.0.2',
        registered: [{ server_id: 'srv-pinned', host: '127.0.0.1', addresses: ['127.0.0.1'] }],
      });
      expect(await volumeRows('vm-pinned')).toEqual(before.rows);
      expect((await events('vm-pinned', 'sync')).length).toBe(before.releases);
      expect(await dataSource().query(`SELECT count(*)::int AS n FROM boot_tokens WHERE vm_name = 'vm-pinned'`)).toEqual(before.tokens);
      const advice = await httpRequest(`${app.baseUrl}/openapi.json`);
      expect(advice.text).toContain('IDENTITY_HOST_MISMATCH');
    });

    it('BOOT_IDENTITY_PINNING=off lets a boot from another address through (audited as not pinned)', async () => {
      await start({ BOOT_IDENTITY_PINNING: 'off' });
      try {
        const elsewhere = await TestVm.create(app.baseUrl, env.forge, victim.address, 'vm-pinned');
        tick();
        const boot = await bootFrom(elsewhere, '127.0.0.2');
        expect(boot.status).toBe(200);
        const rows: { verdict: { identity: unknown } }[] = await dataSource().query(
          `SELECT verdict FROM boot_attestations WHERE vm_name = 'vm-pinned' ORDER BY created_at DESC LIMIT 1`,
        );
        expect(rows[0].verdict.identity).toBe('not_pinned');
      } finally {
        await start();
      }
      pinned = new TestVm(app.baseUrl, env.forge, pinned.cert, pinned.hotkey, pinned.vmName);
    });

    it('DELETE /servers keeps the keys; the server re-added, the next sync returns the same keys', async () => {
      const removed = await call(victim, 'DELETE', '/servers/srv-pinned');
      expect([removed.status, removed.json.keys_kept, removed.json.destroyed_volumes]).toEqual([200, true, []]);
      expect((await register(victim, 'srv-pinned', 'vm-pinned')).status).toBe(201);
      tick();
      const sync = await pinned.sync((await pinned.boot()).json.boot_token, ['storage', 'tdx-cache']);
      expect([sync.status, sync.json]).toEqual([200, keys]);
    });

    it("DELETE ?destroy_keys=true shreds that server's own VM keys in the same transaction, audited; the next boot gets fresh ones", async () => {
      const removed = await call(victim, 'DELETE', '/servers/vm-pinned?destroy_keys=true');
      expect([removed.status, removed.json]).toEqual([
        200,
        {
          message: expect.stringMatching(/shredded/),
          server_id: 'srv-pinned',
          vm_name: 'vm-pinned',
          keys_kept: false,
          destroyed_volumes: ['storage', 'tdx-cache'],
        },
      ]);
      const shreds = await events('vm-pinned', 'shred');
      expect(shreds.map((e) => [e.pruned, e.detail])).toEqual([
        [['storage', 'tdx-cache'], { generations: { storage: [1], 'tdx-cache': [1] }, actor: victim.address, actor_role: 'miner', reason: 'server_deleted' }],
      ]);
      expect((await call<VmKeys>(victim, 'GET', '/vms/vm-pinned/keys')).json.volumes).toEqual([]);
      expect(await dataSource().query(`SELECT count(*)::int AS n FROM luks_volumes WHERE vm_name = 'vm-pinned' AND ciphertext IS NOT NULL`)).toEqual([
        { n: 0 },
      ]);
      tick();
      const sync = await pinned.sync((await pinned.boot()).json.boot_token, ['storage', 'tdx-cache']);
      expect(sync.status).toBe(200);
      expect(sync.json.storage).not.toBe(keys.storage);
      // Generation numbers are never reused: the shredded generation 1 is followed by 2.
      expect(generationsOf((await call<VmKeys>(victim, 'GET', '/vms/vm-pinned/keys')).json, 'storage')).toEqual([[2, 'current']]);
    });
  });

  describe('server names, ids and VM names never collide', () => {
    it("refuses a name or id equal to another server's name, id or VM name of the same miner", async () => {
      expect((await register(victim, 'srv-a', 'alpha')).status).toBe(201);
      expect((await call(victim, 'PATCH', '/servers/srv-a?server_name=beta')).status).toBe(200);
      // srv-a's VM is still "alpha" (its keys live there): a new server may not take that name or id.
      for (const [id, name] of [
        ['srv-b', 'alpha'],
        ['alpha', 'gamma'],
        ['srv-b', 'srv-a'],
        ['beta', 'delta'],
      ]) {
        const res = await register(victim, id, name, `GPU-clash-${id}-${name}`);
        expect([id, name, res.status, res.json.code]).toEqual([id, name, 409, 'SERVER_NAME_TAKEN']);
      }
      expect((await register(victim, 'srv-b', 'gamma')).status).toBe(201);
      for (const name of ['alpha', 'beta', 'srv-a']) {
        const res = await call(victim, 'PATCH', `/servers/srv-b?server_name=${name}`);
        expect([name, res.status, res.json.code]).toEqual([name, 409, 'SERVER_NAME_TAKEN']);
      }
      // Another miner's names are its own business (ids are global: only the id itself is taken).
      expect((await register(stranger, 'srv-s', 'alpha', 'GPU-stranger')).status).toBe(201);
      expect((await register(stranger, 'srv-s2', 'srv-b', 'GPU-stranger-2')).status).toBe(201);
      const takenId = await register(stranger, 'srv-b', 'epsilon', 'GPU-stranger-3');
      expect([takenId.status, takenId.json.code]).toEqual([409, 'SERVER_EXISTS']);
    });

    it("destroy_keys shreds only the server's own vm_name, never the keys stored under its new name", async () => {
      const beta = await TestVm.create(app.baseUrl, env.forge, victim.address, 'beta');
      tick();
      const sync = await beta.sync((await beta.boot()).json.boot_token, ['storage'], ['storage']);
      expect(sync.status).toBe(200);
      const removed = await call(victim, 'DELETE', '/servers/srv-a?destroy_keys=true');
      expect([removed.status, removed.json.vm_name]).toEqual([200, 'alpha']);
      expect(await volumeRows('beta')).toEqual([{ volume: 'storage', generation: 1, state: 'current' }]);
    });

    it("a name that is one server's id and another's name (older registrations) is 409 SERVER_NAME_AMBIGUOUS; by=id or by=name says which", async () => {
      const now = clock.now();
      for (const [id, name] of [
        ['dup', 'dup-one'],
        ['dup-two', 'dup'],
      ]) {
        await dataSource().query(
          `INSERT INTO servers (id, miner_hotkey, name, vm_name, host, created_at, updated_at) VALUES ($1, $2, $3, $3, '127.0.0.1', $4, $4)`,
          [id, victim.address, name, now],
        );
      }
      const ambiguous = await call(victim, 'DELETE', '/servers/dup');
      expect([ambiguous.status, ambiguous.json.code]).toEqual([409, 'SERVER_NAME_AMBIGUOUS']);
      const byName = await call(victim, 'DELETE', '/servers/dup?by=name');
      expect([byName.status, byName.json.server_id]).toEqual([200, 'dup-two']);
      const byId = await call(victim, 'DELETE', '/servers/dup?by=id');
      expect([byId.status, byId.json.server_id]).toEqual([200, 'dup']);
    });
  });

  describe('a lost sync answer', () => {
    it('the same token and body retried get the same answer (a sync_replay, at most 3 times); another body stays 401', async () => {
      const vm = await TestVm.create(app.baseUrl, env.forge, victim.address, 'vm-retry');
      tick();
      const token = (await vm.boot()).json.boot_token;
      const first = await vm.sync(token, ['storage', 'tdx-cache'], ['storage', 'tdx-cache']);
      expect(first.status).toBe(200);
      for (let replay = 1; replay <= 3; replay++) {
        tick();
        const again = await vm.sync(token, ['storage', 'tdx-cache'], ['storage', 'tdx-cache']);
        expect([replay, again.status, again.json]).toEqual([replay, 200, first.json]);
      }
      const fourth = await vm.sync(token, ['storage', 'tdx-cache'], ['storage', 'tdx-cache']);
      expect([fourth.status, fourth.json.code]).toEqual([401, 'BOOT_TOKEN_INVALID']);
      const replays = await events('vm-retry', 'sync_replay');
      expect(replays.map((e) => [e.returned, e.detail.replay, e.detail.generations])).toEqual(
        [1, 2, 3].map((n) => [['storage', 'tdx-cache'], n, { storage: 1, 'tdx-cache': 1 }]),
      );
      // No new generation was made by the retries.
      expect((await volumeRows('vm-retry')).map((row) => row.generation)).toEqual([1, 1]);

      tick();
      const other = (await vm.boot()).json.boot_token;
      expect((await vm.sync(other, ['storage', 'tdx-cache'])).status).toBe(200);
      for (const [volumes, rekey] of [
        [['storage', 'tdx-cache'], ['storage']],
        [['storage'], []],
      ] as [string[], string[]][]) {
        const different = await vm.sync(other, volumes, rekey);
        expect([volumes, rekey, different.status, different.json.code]).toEqual([volumes, rekey, 401, 'BOOT_TOKEN_INVALID']);
      }
      expect(await volumeRows('vm-retry')).toEqual([
        { volume: 'storage', generation: 1, state: 'current' },
        { volume: 'tdx-cache', generation: 1, state: 'current' },
      ]);
    });

    it('a retry bound to another hotkey or VM, or after the token expired, stays 401', async () => {
      const vm = await TestVm.create(app.baseUrl, env.forge, victim.address, 'vm-retry');
      tick();
      const token = (await vm.boot()).json.boot_token;
      expect((await vm.sync(token, ['storage', 'tdx-cache'])).status).toBe(200);
      expect((await vm.sync(token, ['storage', 'tdx-cache'], [], stranger.address)).status).toBe(401);
      const elsewhere = new TestVm(app.baseUrl, env.forge, vm.cert, victim.address, 'vm-retry-2');
      expect((await elsewhere.sync(token, ['storage', 'tdx-cache'])).status).toBe(401);
      clock.advance(601);
      expect((await vm.sync(token, ['storage', 'tdx-cache'])).status).toBe(401);
    });
  });

  describe('explicit shredding and the retention purge', () => {
    it("the miner shreds a VM's keys only with confirm = its name; audited", async () => {
      const vm = await TestVm.create(app.baseUrl, env.forge, victim.address, 'vm-shred');
      tick();
      expect((await vm.sync((await vm.boot()).json.boot_token, ['storage', 'tdx-cache'], ['storage', 'tdx-cache'])).status).toBe(200);
      for (const body of [{ confirm: 'vm-other' }, {}]) {
        const refused = await call(victim, 'DELETE', '/vms/vm-shred/keys', body);
        expect([body, refused.status, refused.json.code]).toEqual([body, 422, 'VALIDATION_FAILED']);
      }
      expect((await call(stranger, 'DELETE', '/vms/vm-shred/keys', { confirm: 'vm-shred' })).status).toBe(404);
      expect(await volumeRows('vm-shred')).toEqual([
        { volume: 'storage', generation: 1, state: 'current' },
        { volume: 'tdx-cache', generation: 1, state: 'current' },
      ]);
      const shredded = await call(victim, 'DELETE', '/vms/vm-shred/keys', { confirm: 'vm-shred' });
      expect([shredded.status, shredded.json]).toEqual([200, { shredded: 2 }]);
      expect((await events('vm-shred', 'shred')).map((e) => e.detail.reason)).toEqual(['vm_keys']);
      expect((await call(victim, 'DELETE', '/vms/vm-shred/keys', { confirm: 'vm-shred' })).json).toEqual({ shredded: 0 });
    });

    it('the purge shreds only non-current generations past KEY_RETENTION_DAYS, audited', async () => {
      const vm = await TestVm.create(app.baseUrl, env.forge, victim.address, 'vm-retention');
      tick();
      expect((await vm.sync((await vm.boot()).json.boot_token, ['storage', 'tdx-cache'], ['storage', 'tdx-cache'])).status).toBe(200);
      tick();
      // storage gen 1 superseded, gen 2 current; tdx-cache gen 1 retired (left out).
      const current = await vm.sync((await vm.boot()).json.boot_token, ['storage'], ['storage']);
      expect(current.status).toBe(200);
      const purge = app.app.get(KeyRetentionService);
      const rows = await volumeRows('vm-retention');
      expect(rows).toEqual([
        { volume: 'storage', generation: 1, state: 'superseded' },
        { volume: 'storage', generation: 2, state: 'current' },
        { volume: 'tdx-cache', generation: 1, state: 'retired' },
      ]);
      clock.advance(30 * DAY_S - 10);
      await purge.purgeExpired(); // older VMs' generations may be due by now; this VM's are not
      expect(await volumeRows('vm-retention')).toEqual(rows);
      expect(await events('vm-retention', 'purge')).toEqual([]);
      clock.advance(20);
      expect(await purge.purgeExpired()).toBeGreaterThanOrEqual(2);
      expect(await volumeRows('vm-retention')).toEqual([
        { volume: 'storage', generation: 1, state: 'shredded' },
        { volume: 'storage', generation: 2, state: 'current' },
        { volume: 'tdx-cache', generation: 1, state: 'shredded' },
      ]);
      // Every current generation of every VM survived the purge.
      expect(await dataSource().query(`SELECT count(*)::int AS n FROM luks_volumes WHERE state = 'current' AND ciphertext IS NULL`)).toEqual([{ n: 0 }]);
      const purges = await events('vm-retention', 'purge');
      expect(purges.map((e) => [e.pruned, e.detail.generations, e.detail.retention_days])).toEqual([
        [['storage', 'tdx-cache'], { storage: [1], 'tdx-cache': [1] }, 30],
      ]);
      const restore = await call(victim, 'POST', '/vms/vm-retention/keys/restore', { volume: 'storage', generation: 1 });
      expect([restore.status, restore.json.code]).toEqual([404, 'KEY_GENERATION_NOT_FOUND']);
      expect(await purge.purgeExpired()).toBe(0);
    });
  });
});
