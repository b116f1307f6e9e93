/**
 * The admin API through real HTTPS with hotkey-signed requests, on the real database: only
 * ADMIN_HOTKEYS pass; measurement sets are created (write-only root passphrase), matched at boot,
 * immutable per version and retired; the audit trail filters and pages every attempt exactly once;
 * miners are blocked and allowed; and a KEK rotation lets the old KEK leave without losing a key.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeAddress, decodeAddress } from '@polkadot/util-crypto';
import { DataSource } from 'typeorm';
import { ManualClock } from '../../src/common/clock/clock';
import { startTestApp, TestApp } from '../support/app';
import { BOOT_NOW, BootEnv, createBootEnv, IMAGE, ROOT_PASSPHRASE, TestVm } from '../support/boot-env';
import { testDatabase, usingPostgres } from '../support/database';
import { KeyringPair, randomKeypair, signedHeaders, unixSeconds } from '../support/hotkey';
import { httpRequest, HttpResult } from '../support/http';

// A PGlite directory (not in-memory) so the KEK-rotation restarts come back to the same data.
const db = testDatabase('admin', fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-admin-db-')));
const clock = new ManualClock(BOOT_NOW);
const K1 = Buffer.alloc(32, 0x11).toString('base64');
const K2 = Buffer.alloc(32, 0x22).toString('base64');
const ADMIN_PASSPHRASE = 'admin-registered root passphrase 7f3a';
const ROTATED_PASSPHRASE = 'root passphrase that survives rotation 91c2';
const reg = (byte: string) => byte.repeat(48);

let env: BootEnv;
let app: TestApp;
let vm: TestVm;
let admin: KeyringPair;
let stranger: KeyringPair;

type Json = Record<string, unknown> & { code?: string; message?: string };

async function start(extraEnv: Record<string, string>): Promise<void> {
  await app?.close();
  app = await startTestApp({ database: db.target, clock, env: { ...env.env, ADMIN_HOTKEYS: admin.address, ...extraEnv } });
  vm = vm ? new TestVm(app.baseUrl, env.forge, vm.cert, vm.hotkey, vm.vmName) : await TestVm.create(app.baseUrl, env.forge, env.minerHotkey, 'vm-admin');
}

/** A signed request; the body is sent as exactly the bytes that were signed. */
function call<T = Json>(method: string, route: string, body?: unknown, pair: KeyringPair = admin): Promise<HttpResult<T>> {
  const raw = body === undefined ? undefined : JSON.stringify(body);
  // Admin routes take only v2 signatures, which name the method and the path.
  const url = new URL(`${app.baseUrl}${route}`);
  const v2 = { method, path: `${url.pathname}${url.search}` };
  return httpRequest<T>(url.href, { method, rawBody: raw, headers: signedHeaders(pair, raw, unixSeconds(clock.now()), { v2 }) });
}

function setBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'admin-image',
    version: '3.0.0',
    mrtd: reg('d1').toUpperCase(),
    boot_rtmrs: { rtmr0: IMAGE.rtmr0, rtmr1: IMAGE.rtmr1, rtmr2: IMAGE.rtmr2 },
    runtime_rtmrs: { rtmr0: IMAGE.rtmr0, rtmr1: IMAGE.rtmr1, rtmr2: IMAGE.rtmr2, rtmr3: IMAGE.rtmr3 },
    expected_gpus: ['GPU-H100-ABC'],
    gpu_count: 8,
    root_passphrase: ADMIN_PASSPHRASE,
    ...overrides,
  };
}

/** Boots the test VM with a quote whose MRTD is `mrtd` (hex). */
function bootWithMrtd(mrtd: string) {
  clock.advance(1);
  return vm.boot({ mrtd: Buffer.from(mrtd, 'hex') });
}

function dataSource(): DataSource {
  return app.app.get(DataSource);
}

beforeAll(async () => {
  admin = await randomKeypair();
  stranger = await randomKeypair();
  // Sets here are named 3.0.0 and up; these tests boot unsigned (gen B), the signed gen-C boot is gen-c.e2e-spec.ts.
  env = await createBootEnv({ BROKER_KEKS: `k1:${K1}`, GEN_C_MIN_VERSION: '99.0.0' });
  await start({});
});

afterAll(async () => {
  await app?.close();
  await db.drop();
  env?.cleanup();
});

describe(`admin API on ${usingPostgres ? 'PostgreSQL' : 'PGlite'}`, () => {
  // Every row has three entries: jest would take a missing third argument for a done callback.
  const routes: [string, string, unknown][] = [
    ['GET', '/admin/measurements', undefined],
    ['POST', '/admin/measurements', setBody({ version: 'stranger-1' })],
    ['GET', `/admin/measurements/${IMAGE.version}`, undefined],
    ['DELETE', `/admin/measurements/${IMAGE.version}`, undefined],
    ['GET', '/admin/attestations', undefined],
    ['GET', '/admin/miners', undefined],
    ['PUT', '/admin/miners/HOTKEY', { status: 'blocked', reason: 'not yours to block' }],
    ['DELETE', '/admin/miners/HOTKEY', undefined],
    ['POST', '/admin/keys/rotate', undefined],
    ['GET', '/admin/keys/status', undefined],
    ['GET', '/admin/key-events', undefined],
  ];

  describe('authorisation', () => {
    it.each(routes)('refuses a non-admin on %s %s with 403 NOT_ADMIN, and an unsigned call with 401', async (method, route, body) => {
      const target = route.replace('HOTKEY', env.minerHotkey);
      const denied = await call(method, target, body, stranger);
      expect([denied.status, denied.json.code]).toEqual([403, 'NOT_ADMIN']);
      const unsigned = await httpRequest<Json>(`${app.baseUrl}${target}`, { method, body });
      expect([unsigned.status, unsigned.json.code]).toEqual([401, 'SIGNATURE_MISSING']);
    });

    it('changed nothing while refusing', async () => {
      const set = await call('GET', `/admin/measurements/${IMAGE.version}`);
      expect([set.status, set.json.retired_at]).toEqual([200, null]);
      expect((await call('GET', '/admin/measurements/stranger-1')).status).toBe(404);
      expect((await call<{ items: unknown[] }>('GET', '/admin/miners')).json.items).toEqual([]);
    });

    it('documents every admin route with the hotkey signature scheme, 403, and its DTOs', async () => {
      type Op = { security: Record<string, string[]>[]; responses: Record<string, unknown>; description?: string };
      const doc = await httpRequest<{ paths: Record<string, Record<string, Op>> }>(`${app.baseUrl}/openapi.json`);
      const expected: [string, string][] = [
        ['/admin/measurements', 'get'],
        ['/admin/measurements', 'post'],
        ['/admin/measurements/{version}', 'get'],
        ['/admin/measurements/{version}', 'delete'],
        ['/admin/attestations', 'get'],
        ['/admin/miners', 'get'],
        ['/admin/miners/{hotkey}', 'put'],
        ['/admin/miners/{hotkey}', 'delete'],
        ['/admin/keys/rotate', 'post'],
        ['/admin/keys/status', 'get'],
        ['/admin/key-events', 'get'],
      ];
      for (const [route, method] of expected) {
        const op = doc.json.paths[route]?.[method];
        expect([route, method, op?.security, Object.keys(op?.responses ?? {})]).toEqual([
          route,
          method,
          [{ hotkeySignature: [] }],
          expect.arrayContaining(['401', '403']),
        ]);
        expect(op.description).toContain('ADMIN_HOTKEYS');
      }
      expect(Object.keys(doc.json.paths['/admin/measurements'].post.responses)).toEqual(expect.arrayContaining(['201', '409', '422']));
      expect(JSON.stringify(doc.json.paths['/admin/measurements'].get)).not.toContain('"root_passphrase"');
    });
  });

  describe('measurement sets', () => {
    it('lists the MEASUREMENTS_FILE sets without any passphrase', async () => {
      const res = await call<{ items: Json[] }>('GET', '/admin/measurements');
      expect(res.status).toBe(200);
      expect(res.json.items.map((set) => [set.version, set.has_root_passphrase, set.retired_at])).toEqual([
        [IMAGE.version, true, null],
        ['2', false, null],
      ]);
      expect(res.json.items[0]).toEqual({
        name: IMAGE.name,
        version: IMAGE.version,
        mrtd: IMAGE.mrtd,
        boot_rtmrs: { rtmr0: IMAGE.rtmr0, rtmr1: IMAGE.rtmr1, rtmr2: IMAGE.rtmr2 },
        runtime_rtmrs: { rtmr0: IMAGE.rtmr0, rtmr1: IMAGE.rtmr1, rtmr2: IMAGE.rtmr2, rtmr3: IMAGE.rtmr3 },
        expected_gpus: expect.any(Array),
        gpu_count: null,
        rc: false,
        authorized_hotkeys: [],
        has_root_passphrase: true,
        created_at: expect.any(String),
        retired_at: null,
      });
      expect(res.text).not.toContain(ROOT_PASSPHRASE);
    });

    it('creates a set (normalised like the YAML loader) that then releases its root passphrase at boot', async () => {
      const created = await call('POST', '/admin/measurements', setBody());
      expect(created.status).toBe(201);
      expect(created.json).toEqual({
        name: 'admin-image',
        version: '3.0.0',
        mrtd: reg('d1'),
        boot_rtmrs: { rtmr0: IMAGE.rtmr0, rtmr1: IMAGE.rtmr1, rtmr2: IMAGE.rtmr2 },
        runtime_rtmrs: { rtmr0: IMAGE.rtmr0, rtmr1: IMAGE.rtmr1, rtmr2: IMAGE.rtmr2, rtmr3: IMAGE.rtmr3 },
        expected_gpus: ['gpu-h100-abc'],
        gpu_count: 8,
        rc: false,
        authorized_hotkeys: [],
        has_root_passphrase: true,
        created_at: clock.now().toISOString(),
        retired_at: null,
      });
      expect(created.text).not.toContain(ADMIN_PASSPHRASE);
      const booted = await bootWithMrtd(reg('d1'));
      expect([booted.status, booted.json.key]).toEqual([200, ADMIN_PASSPHRASE]);
      const fetched = await call('GET', '/admin/measurements/3.0.0');
      expect([fetched.status, fetched.json]).toEqual([200, created.json]);
    });

    it('reads a numeric version as a string, and accepts a set without passphrase, rtmr3 or GPUs', async () => {
      const body = setBody({
        name: 'numeric',
        version: 7,
        mrtd: reg('d7'),
        boot_rtmrs: { rtmr0: IMAGE.rtmr0, rtmr1: IMAGE.rtmr1, rtmr2: IMAGE.rtmr2, rtmr3: IMAGE.rtmr3 },
      });
      delete body.root_passphrase;
      delete body.expected_gpus;
      delete body.gpu_count;
      const res = await call('POST', '/admin/measurements', body);
      expect([res.status, res.json.version, res.json.has_root_passphrase, res.json.expected_gpus, res.json.gpu_count]).toEqual([201, '7', false, [], null]);
      expect(res.json.boot_rtmrs).toEqual({ rtmr0: IMAGE.rtmr0, rtmr1: IMAGE.rtmr1, rtmr2: IMAGE.rtmr2, rtmr3: IMAGE.rtmr3 });
      const booted = await bootWithMrtd(reg('d7'));
      expect([booted.status, booted.json.code]).toEqual([403, 'NO_ROOT_KEY']);
    });

    it('refuses an existing (name, version) with 409 and keeps the stored set (immutable per name and version)', async () => {
      for (const [name, version] of [
        ['admin-image', '3.0.0'],
        [IMAGE.name, IMAGE.version],
        ['numeric', '7'],
      ]) {
        const res = await call('POST', '/admin/measurements', setBody({ version, name, mrtd: reg('ee'), root_passphrase: 'other passphrase' }));
        expect([version, res.status, res.json.code]).toEqual([version, 409, 'MEASUREMENT_SET_EXISTS']);
      }
      const stored = await call('GET', '/admin/measurements/3.0.0');
      expect([stored.json.name, stored.json.mrtd]).toEqual(['admin-image', reg('d1')]);
      expect((await bootWithMrtd(reg('d1'))).json.key).toBe(ADMIN_PASSPHRASE);
    });

    it('takes a version shared by two GPU flavours; ?name= picks one, and without it reading or retiring is 409 MEASUREMENT_SET_AMBIGUOUS', async () => {
      for (const name of ['flavour-h200', 'flavour-b200']) {
        expect((await call('POST', '/admin/measurements', setBody({ version: 'shared-1', name, mrtd: reg('f1'), root_passphrase: undefined }))).status).toBe(
          201,
        );
      }
      for (const method of ['GET', 'DELETE']) {
        const ambiguous = await call(method, '/admin/measurements/shared-1');
        expect([method, ambiguous.status, ambiguous.json.code]).toEqual([method, 409, 'MEASUREMENT_SET_AMBIGUOUS']);
        expect(ambiguous.json.message).toMatch(/flavour-h200, flavour-b200|flavour-b200, flavour-h200/);
      }
      const one = await call('GET', '/admin/measurements/shared-1?name=flavour-b200');
      expect([one.status, one.json.name, one.json.retired_at]).toEqual([200, 'flavour-b200', null]);
      const retired = await call('DELETE', '/admin/measurements/shared-1?name=flavour-b200');
      expect([retired.status, retired.json.name, retired.json.retired_at]).toEqual([200, 'flavour-b200', clock.now().toISOString()]);
      expect((await call('GET', '/admin/measurements/shared-1?name=flavour-h200')).json.retired_at).toBeNull();
      expect((await call('GET', '/admin/measurements/shared-1?name=nobody')).status).toBe(404);
      expect((await call('DELETE', '/admin/measurements/shared-1?name=flavour-h200')).status).toBe(200);
    });

    const invalid: [string, Record<string, unknown>, string][] = [
      ['mrtd not hex', { mrtd: 'zz'.repeat(48) }, 'mrtd'],
      ['mrtd too short', { mrtd: 'ab'.repeat(47) }, 'mrtd'],
      ['boot rtmr1 not hex', { boot_rtmrs: { rtmr0: IMAGE.rtmr0, rtmr1: 'xyz', rtmr2: IMAGE.rtmr2 } }, 'boot_rtmrs.rtmr1'],
      ['boot rtmr2 missing', { boot_rtmrs: { rtmr0: IMAGE.rtmr0, rtmr1: IMAGE.rtmr1 } }, 'boot_rtmrs.rtmr2'],
      ['runtime rtmr3 missing', { runtime_rtmrs: { rtmr0: IMAGE.rtmr0, rtmr1: IMAGE.rtmr1, rtmr2: IMAGE.rtmr2 } }, 'runtime_rtmrs.rtmr3'],
      ['unknown register', { boot_rtmrs: { rtmr0: IMAGE.rtmr0, rtmr1: IMAGE.rtmr1, rtmr2: IMAGE.rtmr2, rtmr4: IMAGE.rtmr2 } }, 'rtmr4'],
      ['runtime_rtmrs not an object', { runtime_rtmrs: 'none' }, 'runtime_rtmrs'],
      ['version with spaces', { version: 'bad version' }, 'version'],
      ['version missing', { version: undefined }, 'version'],
      ['name empty', { name: '' }, 'name'],
      ['gpu_count out of range', { gpu_count: 65 }, 'gpu_count'],
      ['expected_gpus not a list', { expected_gpus: 'gpu' }, 'expected_gpus'],
      [
        'unknown register in a register map',
        { runtime_rtmrs: { rtmr0: IMAGE.rtmr0, rtmr1: IMAGE.rtmr1, rtmr2: IMAGE.rtmr2, rtmr3: IMAGE.rtmr3, RTMR3: IMAGE.rtmr3 } },
        'runtime_rtmrs',
      ],
      ['passphrase empty', { root_passphrase: '' }, 'root_passphrase'],
      ['passphrase too long', { root_passphrase: `SECRET-${'p'.repeat(1024)}` }, 'root_passphrase'],
      ['passphrase not a string', { root_passphrase: 12345 }, 'root_passphrase'],
      // The same rules as a passphrase file (the key must reach cryptsetup byte for byte).
      ['passphrase with a trailing newline', { root_passphrase: 'SECRET-pass\n' }, 'root_passphrase'],
      ['passphrase with leading whitespace', { root_passphrase: ' SECRET-pass' }, 'root_passphrase'],
      ['passphrase with a trailing no-break space', { root_passphrase: 'SECRET-pass\u00a0' }, 'root_passphrase'],
      ['passphrase of whitespace only', { root_passphrase: '   ' }, 'root_passphrase'],
      ['passphrase with a lone surrogate (not UTF-8)', { root_passphrase: 'SECRET-\ud800pass' }, 'root_passphrase'],
    ];

    it.each(invalid)('answers %s with 422 naming the field, never echoing a passphrase', async (_name, overrides, field) => {
      const res = await call('POST', '/admin/measurements', setBody({ version: 'invalid-1', ...overrides }));
      expect([res.status, res.json.code]).toEqual([422, 'VALIDATION_FAILED']);
      expect(res.json.message).toContain(field);
      expect(res.text).not.toContain('SECRET-');
      expect(res.text).not.toContain(ADMIN_PASSPHRASE);
      expect((await call('GET', '/admin/measurements/invalid-1')).status).toBe(404);
    });

    it('ignores unknown top-level fields (a path in root_passphrase_file is never read)', async () => {
      const res = await call(
        'POST',
        '/admin/measurements',
        setBody({ version: 'extra-1', mrtd: reg('e9'), root_passphrase: undefined, root_passphrase_file: '/etc/shadow', description: 'x' }),
      );
      expect([res.status, res.json.version, res.json.has_root_passphrase, res.json.root_passphrase_file]).toEqual([201, 'extra-1', false, undefined]);
    });

    it('answers an unknown version with 404 and a malformed one with 422', async () => {
      for (const method of ['GET', 'DELETE']) {
        const unknown = await call(method, '/admin/measurements/9.9.9');
        expect([method, unknown.status, unknown.json.code]).toEqual([method, 404, 'NOT_FOUND']);
        const malformed = await call(method, '/admin/measurements/-bad');
        expect([method, malformed.status, malformed.json.code]).toEqual([method, 422, 'VALIDATION_FAILED']);
      }
    });

    it('retires a set: no longer matched (403 MEASUREMENT_MISMATCH), kept in the list, idempotent, never revived', async () => {
      const retired = await call('DELETE', '/admin/measurements/3.0.0');
      expect([retired.status, retired.json.version, retired.json.retired_at]).toEqual([200, '3.0.0', clock.now().toISOString()]);
      const booted = await bootWithMrtd(reg('d1'));
      expect([booted.status, booted.json.code]).toEqual([403, 'MEASUREMENT_MISMATCH']);
      expect(booted.text).not.toContain(ADMIN_PASSPHRASE);

      clock.advance(5);
      const again = await call('DELETE', '/admin/measurements/3.0.0');
      expect([again.status, again.json.retired_at]).toEqual([200, retired.json.retired_at]);
      const list = await call<{ items: Json[] }>('GET', '/admin/measurements');
      expect(list.json.items.find((set) => set.version === '3.0.0')).toMatchObject({ retired_at: retired.json.retired_at, has_root_passphrase: true });
      const revive = await call('POST', '/admin/measurements', setBody());
      expect([revive.status, revive.json.code]).toEqual([409, 'MEASUREMENT_SET_EXISTS']);
      expect((await bootWithMrtd(reg('d1'))).status).toBe(403);
      // The file's set is untouched.
      expect((await bootWithMrtd(IMAGE.mrtd)).json.key).toBe(ROOT_PASSPHRASE);
    });
  });

  describe('miners', () => {
    it('blocks a miner (refused at boot with 403 MINER_BLOCKED), allows it again, and removes the entry', async () => {
      // Another ss58 prefix for the same key: stored and answered in canonical form (prefix 42).
      const polkadotSpelling = encodeAddress(decodeAddress(env.minerHotkey), 0);
      const blocked = await call('PUT', `/admin/miners/${polkadotSpelling}`, { status: 'blocked', reason: 'abuse report #12' });
      expect([blocked.status, blocked.json]).toEqual([
        200,
        { hotkey: env.minerHotkey, status: 'blocked', reason: 'abuse report #12', updated_at: clock.now().toISOString() },
      ]);
      const refused = await bootWithMrtd(IMAGE.mrtd);
      expect([refused.status, refused.json.code]).toEqual([403, 'MINER_BLOCKED']);
      expect(refused.text).not.toContain(ROOT_PASSPHRASE);

      const list = await call<{ items: Json[] }>('GET', '/admin/miners');
      expect(list.json.items).toEqual([blocked.json]);

      const allowed = await call('PUT', `/admin/miners/${env.minerHotkey}`, { status: 'allowed' });
      expect([allowed.status, allowed.json.status, allowed.json.reason]).toEqual([200, 'allowed', null]);
      expect((await bootWithMrtd(IMAGE.mrtd)).json.key).toBe(ROOT_PASSPHRASE);

      const removed = await call('DELETE', `/admin/miners/${env.minerHotkey}`);
      expect([removed.status, removed.json]).toEqual([200, { hotkey: env.minerHotkey, removed: true }]);
      const absent = await call('DELETE', `/admin/miners/${env.minerHotkey}`);
      expect([absent.status, absent.json.code]).toEqual([404, 'NOT_FOUND']);
      expect((await call<{ items: Json[] }>('GET', '/admin/miners')).json.items).toEqual([]);
    });

    it('answers bad miner requests with 422', async () => {
      const cases: [string, string, unknown][] = [
        ['PUT', `/admin/miners/${env.minerHotkey}`, { status: 'banned' }],
        ['PUT', `/admin/miners/${env.minerHotkey}`, { status: 'blocked', reason: 'r'.repeat(501) }],
        ['PUT', `/admin/miners/${env.minerHotkey}`, { status: 5, extra: true }],
        ['PUT', '/admin/miners/not-a-hotkey', { status: 'blocked' }],
        ['DELETE', '/admin/miners/not-a-hotkey', undefined],
      ];
      for (const [method, route, body] of cases) {
        const res = await call(method, route, body);
        expect([method, route, body, res.status, res.json.code]).toEqual([method, route, body, 422, 'VALIDATION_FAILED']);
      }
      // An unknown field alone is ignored (newer clients add fields).
      const lenient = await call('PUT', `/admin/miners/${env.minerHotkey}`, { status: 'allowed', extra: true });
      expect([lenient.status, lenient.json.status, lenient.json.extra]).toEqual([200, 'allowed', undefined]);
      expect((await call('DELETE', `/admin/miners/${env.minerHotkey}`)).status).toBe(200);
    });
  });

  describe('attestation audit', () => {
    const other = { hotkey: '', vm: 'srv-vm-7' };
    const tiedAt = new Date(BOOT_NOW.getTime() + 3600_000);
    /** The audit's own boots land here, tied with the newest server row. */
    const bootAt = new Date(tiedAt.getTime() + 1000);
    const serverRows: { id: string; kind: string; created_at: Date; miner_hotkey: string; vm_name: string; server_id: string; outcome: string }[] = [];

    type Item = Json & { id: string; kind: string; created_at: string; miner_hotkey: string | null; vm_name: string | null };
    type Page = { items: Item[]; next_cursor: string | null };

    async function all(query: string): Promise<Item[]> {
      const res = await call<Page>('GET', `/admin/attestations?limit=500${query}`);
      expect([query, res.status, res.json.next_cursor]).toEqual([query, 200, null]);
      return res.json.items;
    }

    async function walk(query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
      const ids: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: HttpResult<Page> = await call<Page>('GET', `/admin/attestations?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`);
        expect([query, res.status]).toEqual([query, 200]);
        expect(res.json.items.length).toBeLessThanOrEqual(limit);
        ids.push(...res.json.items.map((item) => item.id));
        cursor = res.json.next_cursor;
        pages++;
        expect(pages).toBeLessThan(100);
      } while (cursor);
      return { ids, pages };
    }

    beforeAll(async () => {
      other.hotkey = (await randomKeypair()).address;
      // Registration and runtime rows as the server registry writes them; some share one instant.
      const rows: [string, Date, string, string, string][] = [
        ['registration', new Date(BOOT_NOW.getTime() - 60_000), env.minerHotkey, 'vm-admin', 'verified'],
        ['runtime', tiedAt, env.minerHotkey, 'vm-admin', 'verified'],
        ['runtime', tiedAt, env.minerHotkey, 'vm-admin', 'failed'],
        ['runtime', tiedAt, other.hotkey, other.vm, 'verified'],
        ['runtime', tiedAt, other.hotkey, other.vm, 'failed'],
        ['registration', tiedAt, other.hotkey, other.vm, 'verified'],
        ['runtime', new Date(tiedAt.getTime() + 1000), other.hotkey, other.vm, 'verified'],
      ];
      for (const [kind, createdAt, hotkey, vmName, outcome] of rows) {
        const row = { id: randomUUID(), kind, created_at: createdAt, miner_hotkey: hotkey, vm_name: vmName, server_id: `server-${vmName}`, outcome };
        serverRows.push(row);
        await dataSource().query(
          `INSERT INTO server_attestations (id, created_at, kind, server_id, miner_hotkey, vm_name, client_ip, quote_sha256, outcome, error_code,
             measurement_name, measurement_version, tcb_status, advisory_ids, verdict)
           VALUES ($1, $2, $3, $4, $5, $6, '10.0.0.7', NULL, $7, $8, $9, $10, 'UpToDate', $11, $12)`,
          [
            row.id,
            row.created_at,
            kind,
            row.server_id,
            hotkey,
            vmName,
            outcome,
            outcome === 'failed' ? 'MEASUREMENT_MISMATCH' : null,
            IMAGE.name,
            IMAGE.version,
            JSON.stringify(['INTEL-SA-00001']),
            JSON.stringify({ measurement: { matched: outcome === 'verified' } }),
          ],
        );
      }
      // Two boots (bootWithMrtd ticks one second) at the instant of the newest server row, so the
      // merge's tie-break on id spans both tables.
      clock.set(tiedAt);
      expect((await bootWithMrtd(IMAGE.mrtd)).status).toBe(200);
      clock.set(tiedAt);
      expect((await bootWithMrtd(reg('99'))).status).toBe(403);
    });

    it('returns both tables merged newest first, each item in the contract shape', async () => {
      const [bootCount] = await dataSource().query<{ n: number }[]>(`SELECT count(*)::int AS n FROM boot_attestations`);
      const items = await all('');
      expect(items).toHaveLength(bootCount.n + serverRows.length);
      const order = items.map((item) => [item.created_at, item.id]);
      const sorted = [...order].sort(([ta, ia], [tb, ib]) => (ta === tb ? (ia < ib ? 1 : -1) : ta < tb ? 1 : -1));
      expect(order).toEqual(sorted);
      for (const item of items) {
        expect(Object.keys(item).sort()).toEqual(
          [
            'id',
            'kind',
            'created_at',
            'miner_hotkey',
            'vm_name',
            'server_id',
            'client_ip',
            'outcome',
            'error_code',
            'measurement_name',
            'measurement_version',
            'tcb_status',
            'advisory_ids',
            'verdict',
          ].sort(),
        );
      }
      const runtime = items.find((item) => item.id === serverRows[6].id);
      expect(runtime).toEqual({
        id: serverRows[6].id,
        kind: 'runtime',
        created_at: serverRows[6].created_at.toISOString(),
        miner_hotkey: other.hotkey,
        vm_name: other.vm,
        server_id: `server-${other.vm}`,
        client_ip: '10.0.0.7',
        outcome: 'verified',
        error_code: null,
        measurement_name: IMAGE.name,
        measurement_version: IMAGE.version,
        tcb_status: 'UpToDate',
        advisory_ids: ['INTEL-SA-00001'],
        verdict: { measurement: { matched: true } },
      });
      const miss = items.find((item) => item.kind === 'boot' && item.error_code === 'MEASUREMENT_MISMATCH' && item.created_at === bootAt.toISOString());
      expect(miss).toMatchObject({ outcome: 'failed', server_id: null, vm_name: 'vm-admin', miner_hotkey: env.minerHotkey, client_ip: '127.0.0.1' });
      expect((miss!.verdict as { measurement: { matched: boolean } }).measurement.matched).toBe(false);
      const verified = items.find((item) => item.kind === 'boot' && item.outcome === 'verified');
      expect(verified).toMatchObject({ measurement_version: IMAGE.version, tcb_status: 'UpToDate', error_code: null });
      expect(JSON.stringify(items)).not.toContain(ROOT_PASSPHRASE);
      expect(JSON.stringify(items)).not.toContain(ADMIN_PASSPHRASE);
    });

    it('filters by kind, hotkey, vm_name and since', async () => {
      const [bootCount] = await dataSource().query<{ n: number }[]>(`SELECT count(*)::int AS n FROM boot_attestations`);
      const boot = await all('&kind=boot');
      expect([boot.length, [...new Set(boot.map((item) => item.kind))]]).toEqual([bootCount.n, ['boot']]);
      const runtime = await all('&kind=runtime');
      expect(runtime.map((item) => item.id).sort()).toEqual(serverRows.map((row) => row.id).sort());
      expect([...new Set(runtime.map((item) => item.kind))].sort()).toEqual(['registration', 'runtime']);

      const byOther = await all(`&hotkey=${encodeAddress(decodeAddress(other.hotkey), 0)}`);
      expect(byOther.map((item) => item.id).sort()).toEqual(
        serverRows
          .filter((row) => row.miner_hotkey === other.hotkey)
          .map((row) => row.id)
          .sort(),
      );
      const byMiner = await all(`&hotkey=${env.minerHotkey}&kind=runtime`);
      expect(byMiner).toHaveLength(3);
      expect(byMiner.every((item) => item.miner_hotkey === env.minerHotkey)).toBe(true);

      const byVm = await all(`&vm_name=${other.vm}`);
      expect(byVm.map((item) => item.id).sort()).toEqual(
        serverRows
          .filter((row) => row.vm_name === other.vm)
          .map((row) => row.id)
          .sort(),
      );
      const vmAdminBoots = await all('&vm_name=vm-admin&kind=boot');
      expect(vmAdminBoots.length).toBe(bootCount.n);

      const since = await all(`&since=${encodeURIComponent(tiedAt.toISOString())}`);
      expect(since.length).toBe(2 + 6);
      expect(since.every((item) => item.created_at >= tiedAt.toISOString())).toBe(true);
      const sinceOffset = await all(`&since=${encodeURIComponent('2026-03-01T02:00:00+01:00')}&kind=runtime`);
      expect(sinceOffset).toHaveLength(6);
    });

    it('pages with next_cursor through every row exactly once, in order, ties included', async () => {
      const everything = (await all('')).map((item) => item.id);
      for (const limit of [1, 2, 3, 7]) {
        const { ids, pages } = await walk('', limit);
        expect([limit, ids]).toEqual([limit, everything]);
        expect([limit, pages]).toEqual([limit, Math.ceil(everything.length / limit)]);
      }
      const runtimeAll = (await all('&kind=runtime&hotkey=' + other.hotkey)).map((item) => item.id);
      expect((await walk(`&kind=runtime&hotkey=${other.hotkey}`, 2)).ids).toEqual(runtimeAll);
    });

    it('defaults to 50 items and keeps a page stable while new attempts are written', async () => {
      const first = await call<Page>('GET', '/admin/attestations?limit=2');
      clock.advance(60);
      await bootWithMrtd(IMAGE.mrtd); // newer than every cursor: never shows up on later pages
      const second = await call<Page>('GET', `/admin/attestations?limit=2&cursor=${first.json.next_cursor}`);
      const expected = (await all('')).slice(3, 5).map((item) => item.id); // the new row is first now
      expect(second.json.items.map((item) => item.id)).toEqual(expected);
      const defaults = await call<Page>('GET', '/admin/attestations');
      expect(defaults.json.items.length).toBe(Math.min(50, (await all('')).length));
    });

    it.each([
      ['kind=server'],
      ['kind=boot&kind=runtime'],
      ['limit=0'],
      ['limit=501'],
      ['limit=ten'],
      ['limit=2.5'],
      ['since=yesterday'],
      ['since=2026-13-01T00:00:00Z'],
      ['hotkey=5notahotkey'],
      ['vm_name=bad%20name'],
      ['cursor=***'],
      ['cursor=bm90LWEtY3Vyc29y'],
      ['cursor=' + Buffer.from(JSON.stringify(['2026-03-01T00:00:00.000000Z', 'not-a-uuid'])).toString('base64url')],
      ['order=asc'],
    ])('answers ?%s with 422', async (query) => {
      const res = await call('GET', `/admin/attestations?${query}`);
      expect([query, res.status, res.json.code]).toEqual([query, 422, 'VALIDATION_FAILED']);
    });
  });

  describe('KEK rotation', () => {
    let volumes: Record<string, string>;

    it('starts with secrets under k1: a file set, an admin set and a VM’s volumes', async () => {
      const created = await call(
        'POST',
        '/admin/measurements',
        setBody({ name: 'rotation-image', version: '4.0.0', mrtd: reg('e1'), root_passphrase: ROTATED_PASSPHRASE }),
      );
      expect(created.status).toBe(201);
      const booted = await bootWithMrtd(IMAGE.mrtd);
      expect(booted.status).toBe(200);
      const sync = await vm.sync(booted.json.boot_token, ['storage', 'tdx-cache'], ['storage', 'tdx-cache']);
      expect(sync.status).toBe(200);
      volumes = sync.json;
      const keks = await dataSource().query<{ kek: string }[]>(
        `SELECT root_kek_id AS kek FROM measurement_sets WHERE root_kek_id IS NOT NULL UNION ALL SELECT kek_id FROM luks_volumes`,
      );
      expect(new Set(keks.map((row) => row.kek))).toEqual(new Set(['k1']));
    });

    it('re-wraps every data key under the new active KEK, once', async () => {
      await start({ BROKER_KEKS: `k1:${K1},k2:${K2}`, BROKER_ACTIVE_KEK: 'k2' });
      const rotated = await call('POST', '/admin/keys/rotate');
      expect(rotated.status).toBe(200);
      expect(rotated.json.kek_id).toBe('k2');
      // 1.0.0 (file), 3.0.0 (retired, still sealed), 4.0.0 (admin), storage, tdx-cache.
      expect(rotated.json.rewrapped).toBeGreaterThanOrEqual(5);
      expect(rotated.json).toMatchObject({ skipped: 0, remaining: 0 });
      expect(Object.keys(rotated.json).sort()).toEqual(['kek_id', 'remaining', 'rewrapped', 'skipped']);
      const again = await call('POST', '/admin/keys/rotate');
      expect(again.json).toEqual({ kek_id: 'k2', rewrapped: 0, skipped: 0, remaining: 0 });
      const keks = await dataSource().query<{ kek: string }[]>(
        `SELECT root_kek_id AS kek FROM measurement_sets WHERE root_kek_id IS NOT NULL UNION ALL SELECT kek_id FROM luks_volumes`,
      );
      expect(new Set(keks.map((row) => row.kek))).toEqual(new Set(['k2']));
    });

    it('after k1 leaves the ring, boots still release the same root keys and volumes', async () => {
      await start({ BROKER_KEKS: `k2:${K2}` });
      const booted = await bootWithMrtd(IMAGE.mrtd);
      expect([booted.status, booted.json.key]).toEqual([200, ROOT_PASSPHRASE]);
      const sync = await vm.sync(booted.json.boot_token, ['storage', 'tdx-cache']);
      expect([sync.status, sync.json]).toEqual([200, volumes]);
      const admins = await bootWithMrtd(reg('e1'));
      expect([admins.status, admins.json.key]).toEqual([200, ROTATED_PASSPHRASE]);
    });
  });
});
