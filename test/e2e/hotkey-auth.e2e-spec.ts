/**
 * Hotkey-signed requests through real HTTP on the real database: signature over the exact body
 * bytes, the timestamp window, single use, admin routes, and miner admission under both
 * MINER_POLICY values; then the scope of a signature (v1 bound to its first method and used
 * once per path, v2 bound to method, path and audience, admin routes v2 only, unrouted
 * signatures consumed, nothing recorded for a refused caller, a per-hotkey rate limit). Test-only
 * controllers stand in for the real hotkey routes.
 */
import { Body, Controller, Delete, Get, HttpCode, Module, Param, Patch, Post } from '@nestjs/common';
import { IsString, MaxLength } from 'class-validator';
import { DataSource } from 'typeorm';
import { ADMIN_AUTH_ERRORS, AdminAuth, AuthModule, CallerHotkey, HOTKEY_AUTH_ERRORS, HotkeyAuth, SignatureReplayService } from '../../src/auth';
import { ManualClock } from '../../src/common/clock/clock';
import { MinersModule } from '../../src/miners/miners.module';
import { MinersService } from '../../src/miners/miners.service';
import { ApiDoc } from '../../src/openapi/api-doc.decorator';
import { startTestApp, TestApp } from '../support/app';
import { testDatabase, TestDatabase, usingPostgres } from '../support/database';
import { KeyringPair, randomKeypair, signedHeaders, signHex, signingMessage, SignOptions, testKeypair, unixSeconds } from '../support/hotkey';
import { httpRequest, HttpResult } from '../support/http';

class EchoBody {
  @IsString()
  @MaxLength(32)
  name: string;
}

@Controller('_auth')
class AuthProbeController {
  @Get('miner')
  @HotkeyAuth()
  @ApiDoc({ summary: 'test: hotkey route', tag: 'test', auth: 'hotkey', errors: [...HOTKEY_AUTH_ERRORS] })
  miner(@CallerHotkey() hotkey: string) {
    return { hotkey };
  }

  @Post('miner')
  @HttpCode(200)
  @HotkeyAuth()
  @ApiDoc({ summary: 'test: hotkey route with a body', tag: 'test', auth: 'hotkey', body: EchoBody, errors: [...HOTKEY_AUTH_ERRORS] })
  echo(@CallerHotkey() hotkey: string, @Body() body: EchoBody) {
    return { hotkey, name: body.name };
  }

  @Delete('miner')
  @HotkeyAuth()
  @ApiDoc({ summary: 'test: hotkey route without a body', tag: 'test', auth: 'hotkey', errors: [...HOTKEY_AUTH_ERRORS] })
  remove(@CallerHotkey() hotkey: string) {
    return { hotkey, removed: true };
  }

  @Get('admin')
  @AdminAuth()
  @ApiDoc({ summary: 'test: admin route', tag: 'test', auth: 'admin', errors: [...ADMIN_AUTH_ERRORS] })
  admin(@CallerHotkey() hotkey: string) {
    return { hotkey, admin: true };
  }

  @Delete('admin/:id')
  @AdminAuth()
  @ApiDoc({ summary: 'test: admin route that changes something', tag: 'test', auth: 'admin', errors: [...ADMIN_AUTH_ERRORS] })
  adminRemove(@Param('id') id: string) {
    effects.push(`admin-delete ${id}`);
    return { removed: id };
  }

  @Get('items/:id')
  @HotkeyAuth()
  @ApiDoc({ summary: 'test: read an item', tag: 'test', auth: 'hotkey', errors: [...HOTKEY_AUTH_ERRORS] })
  item(@Param('id') id: string) {
    return { id };
  }

  @Patch('items/:id')
  @HotkeyAuth()
  @ApiDoc({ summary: 'test: change an item', tag: 'test', auth: 'hotkey', errors: [...HOTKEY_AUTH_ERRORS] })
  patchItem(@Param('id') id: string) {
    effects.push(`patch ${id}`);
    return { id };
  }

  @Delete('items/:id')
  @HotkeyAuth()
  @ApiDoc({ summary: 'test: remove an item', tag: 'test', auth: 'hotkey', errors: [...HOTKEY_AUTH_ERRORS] })
  removeItem(@Param('id') id: string) {
    effects.push(`delete ${id}`);
    return { id };
  }
}

/** A route under /miner, where the v1 purpose word is `miner` (chutes-miner's inventory calls). */
@Controller('miner/_probe')
class MinerProbeController {
  @Get()
  @HotkeyAuth()
  @ApiDoc({ summary: 'test: a /miner route', tag: 'test', auth: 'hotkey', errors: [...HOTKEY_AUTH_ERRORS] })
  inventory(@CallerHotkey() hotkey: string) {
    return { hotkey };
  }
}

/** What the probe handlers did, in order: a refused request must leave no trace here. */
const effects: string[] = [];

@Module({ imports: [AuthModule, MinersModule], controllers: [AuthProbeController, MinerProbeController] })
class AuthProbeModule {}

type Answer = HttpResult<{ hotkey?: string; name?: string; code?: string; message?: string }>;

const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
let miner: KeyringPair;
let other: KeyringPair;
let admin: KeyringPair;

function now(): number {
  return unixSeconds(clock.now());
}

async function start(label: string, env: Record<string, string>): Promise<{ app: TestApp; db: TestDatabase }> {
  const db = testDatabase(label);
  const app = await startTestApp({
    database: db.target,
    clock,
    extraModules: [AuthProbeModule],
    // The per-hotkey limit is tested on its own app; here //Alice signs far more than 120 a minute.
    env: { ADMIN_HOTKEYS: admin.address, SIGNATURE_WINDOW_S: '600', RATE_LIMIT_SIGNED_PER_MIN: '0', ...env },
  });
  return { app, db };
}

/** A signed request: `body` is sent as exactly these bytes (JSON content type) when given. */
function send(app: TestApp, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return httpRequest(`${app.baseUrl}${path}`, { method, headers, rawBody: body });
}

function signedGet(app: TestApp, path: string, pair: KeyringPair, nonce = now()): Promise<Answer> {
  return send(app, 'GET', path, signedHeaders(pair, undefined, nonce));
}

/** A v2 signature for exactly this request (what the CLI sends; the only kind admin routes take). */
function v2Headers(
  pair: KeyringPair,
  method: string,
  path: string,
  body?: string,
  options: SignOptions & { audience?: string } = {},
  nonce = now(),
): Record<string, string> {
  return signedHeaders(pair, body, nonce, { ...options, v2: { method, path, audience: options.audience } });
}

function adminGet(app: TestApp, pair: KeyringPair, nonce = now()): Promise<Answer> {
  return send(app, 'GET', '/_auth/admin', v2Headers(pair, 'GET', '/_auth/admin', undefined, {}, nonce));
}

function replayRows(app: TestApp): Promise<{ n: string | number }[]> {
  return app.app.get(DataSource).query(`SELECT count(*) AS n FROM signature_replays`);
}

async function replayCount(app: TestApp): Promise<number> {
  return Number((await replayRows(app))[0].n);
}

beforeAll(async () => {
  miner = await testKeypair('//Alice');
  other = await testKeypair('//Bob');
  admin = await randomKeypair();
});

describe(`hotkey-signed requests on ${usingPostgres ? 'PostgreSQL' : 'PGlite'} (MINER_POLICY=open)`, () => {
  let app: TestApp;
  let db: TestDatabase;
  let miners: MinersService;

  beforeAll(async () => {
    ({ app, db } = await start('hotkey_auth_open', {}));
    miners = app.app.get(MinersService);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('accepts a valid signature over an empty body, with or without 0x, and exposes the hotkey', async () => {
    for (const with0x of [false, true]) {
      const res = await send(app, 'GET', '/_auth/miner', signedHeaders(miner, undefined, now(), { with0x }));
      expect([with0x, res.status, res.json]).toEqual([with0x, 200, { hotkey: miner.address }]);
    }
  });

  it('accepts a signature over the exact JSON body bytes', async () => {
    for (const body of ['{"name":"alpha"}', '{ "name" : "alpha" }\n']) {
      const res = await send(app, 'POST', '/_auth/miner', signedHeaders(miner, body, now()), body);
      expect([body, res.status, res.json]).toEqual([body, 200, { hotkey: miner.address, name: 'alpha' }]);
    }
    const body = '{"name":"beta"}';
    const withCharset = await httpRequest<{ name: string }>(`${app.baseUrl}/_auth/miner`, {
      method: 'POST',
      rawBody: body,
      headers: { ...signedHeaders(miner, body, now(), { with0x: true }), 'content-type': 'application/json; charset=utf-8' },
    });
    expect([withCharset.status, withCharset.json.name]).toEqual([200, 'beta']);
  });

  it('treats an empty application/json body as no body (signed as "tee")', async () => {
    const variants: Record<string, string>[] = [{}, { 'content-length': '0' }];
    for (const extra of variants) {
      const res = await send(app, 'DELETE', '/_auth/miner', { ...signedHeaders(miner, undefined, now()), 'content-type': 'application/json', ...extra }, '');
      expect([extra, res.status, res.json]).toEqual([extra, 200, { hotkey: miner.address, removed: true }]);
    }
    // A body-carrying route still gets its 422 once the caller is authenticated.
    const post = await send(app, 'POST', '/_auth/miner', signedHeaders(miner, undefined, now()), '');
    expect([post.status, post.json.code]).toEqual([422, 'VALIDATION_FAILED']);
  });

  it('refuses a body changed after signing, even by whitespace, and a body signed as empty', async () => {
    const cases: [string, string | undefined, string][] = [
      ['other value', '{"name":"alpha"}', '{"name":"mallory"}'],
      ['whitespace', '{"name":"alpha"}', '{"name": "alpha"}'],
      ['signed empty, sent a body', undefined, '{"name":"alpha"}'],
      ['signed a body, sent empty', '{"name":"alpha"}', ''],
    ];
    for (const [name, signedBody, sentBody] of cases) {
      const res = await send(app, 'POST', '/_auth/miner', signedHeaders(miner, signedBody, now()), sentBody);
      expect([name, res.status, res.json.code]).toEqual([name, 401, 'SIGNATURE_INVALID']);
    }
  });

  it('refuses a signature presented under another hotkey, or made with ed25519', async () => {
    const swapped = await send(app, 'GET', '/_auth/miner', signedHeaders(miner, undefined, now(), { hotkeyHeader: other.address }));
    expect([swapped.status, swapped.json.code]).toEqual([401, 'SIGNATURE_INVALID']);
    // Message built for Bob's address but signed by Alice's key.
    const nonce = now();
    const forged = await send(app, 'GET', '/_auth/miner', {
      'X-Chutes-Hotkey': other.address,
      'X-Chutes-Signature': signHex(miner, signingMessage(other.address, nonce)),
      'X-Chutes-Nonce': String(nonce),
    });
    expect([forged.status, forged.json.code]).toEqual([401, 'SIGNATURE_INVALID']);
    const { Keyring } = await import('@polkadot/keyring');
    const edPair = new Keyring({ type: 'ed25519', ss58Format: 42 }).addFromUri('//Eve');
    const ed = await send(app, 'GET', '/_auth/miner', signedHeaders(edPair, undefined, now()));
    expect([ed.status, ed.json.code]).toEqual([401, 'SIGNATURE_INVALID']);
  });

  it('refuses timestamps outside ±SIGNATURE_WINDOW_S and accepts its edges', async () => {
    const cases: [number, number, string | undefined][] = [
      [-601, 401, 'SIGNATURE_EXPIRED'],
      [601, 401, 'SIGNATURE_EXPIRED'],
      [-86400, 401, 'SIGNATURE_EXPIRED'],
      [-600, 200, undefined],
      [600, 200, undefined],
    ];
    for (const [offset, status, code] of cases) {
      const res = await signedGet(app, '/_auth/miner', miner, now() + offset);
      expect([offset, res.status, res.json.code]).toEqual([offset, status, code]);
    }
  });

  it('accepts a signature once: an identical request, or the same signature re-spelled, is a replay', async () => {
    const headers = signedHeaders(miner, undefined, now());
    expect((await send(app, 'GET', '/_auth/miner', headers)).status).toBe(200);
    const sig = headers['X-Chutes-Signature'];
    for (const spelling of [sig, `0x${sig}`, sig.toUpperCase()]) {
      const res = await send(app, 'GET', '/_auth/miner', { ...headers, 'X-Chutes-Signature': spelling });
      expect([spelling, res.status, res.json.code]).toEqual([spelling, 401, 'SIGNATURE_REPLAYED']);
      expect(res.text).not.toContain(sig);
    }
  });

  it('lets exactly one of 20 concurrent identical requests through', async () => {
    const body = '{"name":"race"}';
    const headers = signedHeaders(miner, body, now());
    const results = await Promise.all(Array.from({ length: 20 }, () => send(app, 'POST', '/_auth/miner', headers, body)));
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array<number>(19).fill(401)]);
    expect(results.filter((r) => r.status === 401).every((r) => r.json.code === 'SIGNATURE_REPLAYED')).toBe(true);
  });

  it('refuses garbage signatures and missing headers with 401, never echoing the signature', async () => {
    const valid = signedHeaders(miner, undefined, now());
    const garbage: [string, string][] = [
      ['not hex', 'zz'.repeat(64)],
      ['too short', 'ab'.repeat(32)],
      ['random 64 bytes', 'cd'.repeat(64)],
      ['zero bytes', '00'.repeat(64)],
    ];
    for (const [name, signature] of garbage) {
      const res = await send(app, 'GET', '/_auth/miner', { ...valid, 'X-Chutes-Signature': signature });
      expect([name, res.status, res.json.code]).toEqual([name, 401, 'SIGNATURE_INVALID']);
      expect(res.text).not.toContain(signature);
    }
    for (const header of ['X-Chutes-Hotkey', 'X-Chutes-Signature', 'X-Chutes-Nonce']) {
      const headers = { ...valid };
      delete headers[header as keyof typeof headers];
      const res = await send(app, 'GET', '/_auth/miner', headers);
      expect([header, res.status, res.json.code]).toEqual([header, 401, 'SIGNATURE_MISSING']);
    }
    const none = await httpRequest<{ code: string }>(`${app.baseUrl}/_auth/admin`);
    expect([none.status, none.json.code]).toEqual([401, 'SIGNATURE_MISSING']);
    const badNonce = await send(app, 'GET', '/_auth/miner', { ...valid, 'X-Chutes-Nonce': 'yesterday' });
    expect([badNonce.status, badNonce.json.code]).toEqual([401, 'SIGNATURE_INVALID']);
  });

  it('admits only ADMIN_HOTKEYS to admin routes', async () => {
    const denied = await adminGet(app, miner);
    expect([denied.status, denied.json.code]).toEqual([403, 'NOT_ADMIN']);
    const allowed = await adminGet(app, admin);
    expect([allowed.status, allowed.json]).toEqual([200, { hotkey: admin.address, admin: true }]);
  });

  it('refuses a blocked miner everywhere with 403 MINER_BLOCKED, but never locks out an admin from admin routes', async () => {
    await miners.setStatus(other.address, 'blocked', 'test');
    expect(await miners.admission(other.address)).toBe('blocked');
    const blocked = await signedGet(app, '/_auth/miner', other);
    expect([blocked.status, blocked.json.code]).toEqual([403, 'MINER_BLOCKED']);
    await miners.remove(other.address);
    expect((await signedGet(app, '/_auth/miner', other)).status).toBe(200);

    await miners.setStatus(admin.address, 'blocked');
    expect((await adminGet(app, admin)).status).toBe(200);
    expect((await signedGet(app, '/_auth/miner', admin)).json.code).toBe('MINER_BLOCKED');
    await miners.remove(admin.address);
  });

  it('purges replay rows once their window has passed; the old signature stays refused', async () => {
    const headers = signedHeaders(other, undefined, now());
    expect((await send(app, 'GET', '/_auth/miner', headers)).status).toBe(200);
    const replays = app.app.get(SignatureReplayService);
    expect(Number((await replayRows(app))[0].n)).toBeGreaterThan(0);
    expect(await replays.purgeExpired()).toBe(0);
    clock.advance(1201); // past the latest accepted timestamp (now + 600) plus the window
    expect(await replays.purgeExpired()).toBeGreaterThan(0);
    expect(Number((await replayRows(app))[0].n)).toBe(0);
    const uses: { n: string | number }[] = await app.app.get(DataSource).query(`SELECT count(*) AS n FROM signature_uses`);
    expect(Number(uses[0].n)).toBe(0);
    const again = await send(app, 'GET', '/_auth/miner', headers);
    expect([again.status, again.json.code]).toEqual([401, 'SIGNATURE_EXPIRED']);
  });

  it('documents the guarded routes with the hotkey signature scheme and their 401/403 codes', async () => {
    type Op = { security: Record<string, string[]>[]; responses: Record<string, { description: string }>; description?: string };
    const res = await httpRequest<{ paths: Record<string, Record<string, Op>> }>(`${app.baseUrl}/openapi.json`);
    const adminOp = res.json.paths['/_auth/admin'].get;
    expect(adminOp.security).toEqual([{ hotkeySignature: [] }]);
    expect(Object.keys(adminOp.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '429']));
    expect(adminOp.responses['401'].description).toContain('SIGNATURE_SCOPE');
    expect(adminOp.description).toMatch(/v2 signature \(a v1 signature is 401 SIGNATURE_SCOPE\)/);
  });

  it('stores only a hash of each signature', async () => {
    const headers = signedHeaders(miner, undefined, now());
    expect((await send(app, 'GET', '/_auth/miner', headers)).status).toBe(200);
    const rows = await app.app.get(DataSource).query<unknown[]>(`SELECT * FROM signature_replays`);
    const uses = await app.app.get(DataSource).query<unknown[]>(`SELECT * FROM signature_uses`);
    expect(JSON.stringify([rows, uses])).not.toContain(headers['X-Chutes-Signature']);
  });

  describe('signature scope', () => {
    beforeEach(() => {
      effects.length = 0;
    });

    it('binds a v1 signature to the method of its first use: the GET headers presented as DELETE are 401 SIGNATURE_SCOPE and delete nothing', async () => {
      const headers = signedHeaders(miner, undefined, now());
      expect((await send(app, 'GET', '/_auth/items/a', headers)).status).toBe(200);
      for (const path of ['/_auth/items/a', '/_auth/items/b']) {
        const res = await send(app, 'DELETE', path, headers);
        expect([path, res.status, res.json.code]).toEqual([path, 401, 'SIGNATURE_SCOPE']);
      }
      expect(effects).toEqual([]);
    });

    it('lets one v1 header set loop over paths with its first method, each path once (real miner tools)', async () => {
      const patch = signedHeaders(miner, undefined, now());
      for (const path of ['/_auth/items/a?name=x', '/_auth/items/b?name=y']) {
        const res = await send(app, 'PATCH', path, patch);
        expect([path, res.status]).toEqual([path, 200]);
      }
      // The same path again, however it is spelled, is a replay; another query is another use.
      for (const path of ['/_auth/items/a?name=x', '/_auth/items/a/?name=x', '/_auth/items/%61?name=x']) {
        const res = await send(app, 'PATCH', path, patch);
        expect([path, res.status, res.json.code]).toEqual([path, 401, 'SIGNATURE_REPLAYED']);
      }
      const remove = signedHeaders(miner, undefined, now());
      for (const path of ['/_auth/items/a', '/_auth/items/b']) {
        const res = await send(app, 'DELETE', path, remove);
        expect([path, res.status]).toEqual([path, 200]);
      }
      expect((await send(app, 'DELETE', '/_auth/items/a', remove)).json.code).toBe('SIGNATURE_REPLAYED');
      expect((await send(app, 'GET', '/_auth/items/c', remove)).json.code).toBe('SIGNATURE_SCOPE');
      expect(effects).toEqual(['patch a', 'patch b', 'delete a', 'delete b']);
    });

    it('binds one method when a v1 signature is first used with two at once', async () => {
      const headers = signedHeaders(miner, undefined, now());
      const paths = Array.from({ length: 8 }, (_, i) => `/_auth/items/race-${i}`);
      const results = await Promise.all(paths.flatMap((path) => [send(app, 'GET', path, headers), send(app, 'DELETE', path, headers)]));
      const byMethod = (method: number) => results.filter((_, i) => i % 2 === method).map((r) => [r.status, r.json.code]);
      const [gets, deletes] = [byMethod(0), byMethod(1)];
      const allOk = Array(8).fill([200, undefined]);
      const allScope = Array(8).fill([401, 'SIGNATURE_SCOPE']);
      expect([gets, deletes]).toEqual(gets[0][0] === 200 ? [allOk, allScope] : [allScope, allOk]);
    });

    it('binds a v2 signature to its method, path with query, body and audience, and accepts it once', async () => {
      const headers = v2Headers(miner, 'GET', '/_auth/items/a?x=1');
      const misuses: [string, string, string][] = [
        ['another path', 'GET', '/_auth/items/b?x=1'],
        ['another query', 'GET', '/_auth/items/a?x=2'],
        ['another method', 'DELETE', '/_auth/items/a?x=1'],
      ];
      for (const [name, method, path] of misuses) {
        const res = await send(app, method, path, headers);
        expect([name, res.status, res.json.code]).toEqual([name, 401, 'SIGNATURE_INVALID']);
      }
      expect((await send(app, 'GET', '/_auth/items/a?x=1', headers)).status).toBe(200);
      const again = await send(app, 'GET', '/_auth/items/a?x=1', headers);
      expect([again.status, again.json.code]).toEqual([401, 'SIGNATURE_REPLAYED']);

      const body = '{"name":"v2"}';
      const tampered = await send(app, 'POST', '/_auth/miner', v2Headers(miner, 'POST', '/_auth/miner', body), '{"name":"v3"}');
      expect([tampered.status, tampered.json.code]).toEqual([401, 'SIGNATURE_INVALID']);
      expect((await send(app, 'POST', '/_auth/miner', v2Headers(miner, 'POST', '/_auth/miner', body), body)).json).toEqual({
        hotkey: miner.address,
        name: 'v2',
      });

      // Without SIGNATURE_AUDIENCE: `-`, or the origin the request names (what the CLI signs).
      const audiences: [string, number][] = [
        ['-', 200],
        [app.baseUrl, 200],
        ['https://elsewhere.example.com', 401],
      ];
      for (const [audience, status] of audiences) {
        const res = await send(app, 'GET', '/_auth/miner', v2Headers(miner, 'GET', '/_auth/miner', undefined, { audience }));
        expect([audience, res.status]).toEqual([audience, status]);
      }
      const badVersion = await send(app, 'GET', '/_auth/miner', { ...v2Headers(miner, 'GET', '/_auth/miner'), 'X-Bootkey-Signature-Version': '3' });
      expect([badVersion.status, badVersion.json.code]).toEqual([401, 'SIGNATURE_INVALID']);
    });

    it("refuses a v1 signature on admin routes, even an admin's (401 SIGNATURE_SCOPE), and records nothing", async () => {
      const before = await replayCount(app);
      const headers = signedHeaders(admin, undefined, now());
      for (const [method, path] of [
        ['GET', '/_auth/admin'],
        ['DELETE', '/_auth/admin/set-1'],
      ]) {
        const res = await send(app, method, path, headers);
        expect([path, res.status, res.json.code]).toEqual([path, 401, 'SIGNATURE_SCOPE']);
      }
      expect([await replayCount(app), effects]).toEqual([before, []]);
      // The same signature still works where v1 is allowed: it was not spent on the refusals.
      expect((await send(app, 'GET', '/_auth/miner', headers)).status).toBe(200);
      const v2 = await send(app, 'DELETE', '/_auth/admin/set-1', v2Headers(admin, 'DELETE', '/_auth/admin/set-1'));
      expect([v2.status, effects]).toEqual([200, ['admin-delete set-1']]);
    });

    it('takes the v1 purpose word `miner` on /miner routes and `tee` elsewhere', async () => {
      const cases: [string, string, number][] = [
        ['/miner/_probe', 'miner', 200],
        ['/miner/_probe', 'tee', 401],
        ['/_auth/miner', 'tee', 200],
        ['/_auth/miner', 'miner', 401],
      ];
      for (const [path, purpose, status] of cases) {
        const res = await send(app, 'GET', path, signedHeaders(miner, undefined, now(), { purpose }));
        expect([path, purpose, res.status]).toEqual([path, purpose, status]);
      }
    });

    it('consumes a signature sent to a path no route serves (404): a v1 signature is then bound to that method', async () => {
      const before = await replayCount(app);
      const headers = signedHeaders(miner, undefined, now());
      const lost = await send(app, 'DELETE', '/_auth/nowhere', headers);
      expect([lost.status, lost.json.code]).toEqual([404, 'NOT_FOUND']);
      expect(await replayCount(app)).toBe(before + 1);
      const reused = await send(app, 'GET', '/_auth/miner', headers);
      expect([reused.status, reused.json.code]).toEqual([401, 'SIGNATURE_SCOPE']);

      const body = '{"name":"lost"}';
      const v2 = v2Headers(miner, 'POST', '/_auth/gone', body);
      expect((await send(app, 'POST', '/_auth/gone', v2, body)).status).toBe(404);
      expect(await replayCount(app)).toBe(before + 2);

      // What does not verify records nothing, and the answer is the same 404.
      const garbage = await send(app, 'GET', '/_auth/nowhere', { ...signedHeaders(miner, undefined, now()), 'X-Chutes-Signature': 'cd'.repeat(64) });
      expect([garbage.status, await replayCount(app)]).toEqual([404, before + 2]);
    });
  });
});

describe('hotkey-signed requests with MINER_POLICY=allowlist', () => {
  let app: TestApp;
  let db: TestDatabase;
  let miners: MinersService;

  beforeAll(async () => {
    ({ app, db } = await start('hotkey_auth_allowlist', { MINER_POLICY: 'allowlist' }));
    miners = app.app.get(MinersService);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('refuses an unlisted miner, admits an allowed one, and refuses a blocked one', async () => {
    const unlisted = await signedGet(app, '/_auth/miner', miner);
    expect([unlisted.status, unlisted.json.code]).toEqual([403, 'MINER_NOT_ALLOWED']);
    await miners.setStatus(miner.address, 'allowed', 'onboarded');
    expect((await signedGet(app, '/_auth/miner', miner)).json).toEqual({ hotkey: miner.address });
    await miners.setStatus(miner.address, 'blocked', 'abuse');
    expect((await signedGet(app, '/_auth/miner', miner)).json.code).toBe('MINER_BLOCKED');
    expect(await miners.list()).toEqual([expect.objectContaining({ hotkey: miner.address, status: 'blocked', reason: 'abuse' })]);
    expect(await miners.remove(miner.address)).toBe(true);
    expect(await miners.remove(miner.address)).toBe(false);
    expect(await miners.admission(miner.address)).toBe('not_allowed');
  });

  it('admits an unlisted admin to admin routes', async () => {
    expect((await adminGet(app, admin)).status).toBe(200);
    expect((await signedGet(app, '/_auth/miner', admin)).json.code).toBe('MINER_NOT_ALLOWED');
  });

  it('records no signature of a hotkey it refuses, on a route or off one', async () => {
    await miners.setStatus(other.address, 'blocked', 'abuse');
    const before = await replayCount(app);
    const stranger = await randomKeypair();
    for (let i = 0; i < 3; i++) {
      expect((await signedGet(app, '/_auth/miner', stranger)).json.code).toBe('MINER_NOT_ALLOWED');
      expect((await signedGet(app, '/_auth/miner', other)).json.code).toBe('MINER_BLOCKED');
      expect((await adminGet(app, other)).json.code).toBe('NOT_ADMIN');
      expect((await signedGet(app, '/_auth/nowhere', stranger)).status).toBe(404);
    }
    expect(await replayCount(app)).toBe(before);
    await miners.remove(other.address);
  });
});

describe('hotkey-signed requests with SIGNATURE_AUDIENCE and RATE_LIMIT_SIGNED_PER_MIN', () => {
  let app: TestApp;
  let db: TestDatabase;

  beforeAll(async () => {
    ({ app, db } = await start('hotkey_auth_scoped', { SIGNATURE_AUDIENCE: 'https://Keys.Example.com/', RATE_LIMIT_SIGNED_PER_MIN: '3' }));
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('accepts only v2 signatures that name the configured audience', async () => {
    const audiences: [string, number, string | undefined][] = [
      ['https://keys.example.com', 200, undefined],
      ['-', 401, 'SIGNATURE_INVALID'],
      [app.baseUrl, 401, 'SIGNATURE_INVALID'],
      ['https://keys.example.com:8443', 401, 'SIGNATURE_INVALID'],
    ];
    for (const [audience, status, code] of audiences) {
      const res = await send(app, 'GET', '/_auth/miner', v2Headers(miner, 'GET', '/_auth/miner', undefined, { audience }));
      expect([audience, res.status, res.json.code]).toEqual([audience, status, code]);
    }
  });

  it('limits signed requests per hotkey (429 RATE_LIMITED, Retry-After), counting only signatures that verify, and records nothing past the limit', async () => {
    const busy = await randomKeypair();
    // Garbage under busy's address spends none of busy's budget.
    for (let i = 0; i < 5; i++) {
      const forged = await send(app, 'GET', '/_auth/miner', { ...signedHeaders(busy, undefined, now()), 'X-Chutes-Signature': 'cd'.repeat(64) });
      expect(forged.json.code).toBe('SIGNATURE_INVALID');
    }
    for (let i = 0; i < 3; i++) expect((await signedGet(app, '/_auth/miner', busy)).status).toBe(200);
    const before = await replayCount(app);
    const limited = await signedGet(app, '/_auth/miner', busy);
    expect([limited.status, limited.json.code]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await signedGet(app, '/_auth/nowhere', busy)).status).toBe(404);
    expect(await replayCount(app)).toBe(before);
    // Another hotkey has its own budget.
    expect((await signedGet(app, '/_auth/miner', other)).status).toBe(200);
  });
});
