/**
 * Hotkey-signed requests through real HTTP on the real database: signature over the exact body
 * bytes, the timestamp window, single use, admin routes, and miner admission under both
 * MINER_POLICY values. A test-only controller stands in for the real hotkey routes.
 */
import { Body, Controller, Delete, Get, HttpCode, Module, Post } from '@nestjs/common';
import { IsString, MaxLength } from 'class-validator';
import { DataSource } from 'typeorm';
import { ADMIN_AUTH_ERRORS, AdminAuth, AuthModule, CallerHotkey, HOTKEY_AUTH_ERRORS, HotkeyAuth, SignatureReplayService } from '../../src/auth';
import { ManualClock } from '../../src/common/clock/clock';
import { MinersModule } from '../../src/miners/miners.module';
import { MinersService } from '../../src/miners/miners.service';
import { ApiDoc } from '../../src/openapi/api-doc.decorator';
import { startTestApp, TestApp } from '../support/app';
import { testDatabase, TestDatabase, usingPostgres } from '../support/database';
import { KeyringPair, randomKeypair, signedHeaders, signHex, signingMessage, testKeypair, unixSeconds } from '../support/hotkey';
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
}

@Module({ imports: [AuthModule, MinersModule], controllers: [AuthProbeController] })
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
    env: { ADMIN_HOTKEYS: admin.address, SIGNATURE_WINDOW_S: '600', ...env },
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

function replayRows(app: TestApp): Promise<{ n: string | number }[]> {
  return app.app.get(DataSource).query(`SELECT count(*) AS n FROM signature_replays`);
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
    const denied = await signedGet(app, '/_auth/admin', miner);
    expect([denied.status, denied.json.code]).toEqual([403, 'NOT_ADMIN']);
    const allowed = await signedGet(app, '/_auth/admin', admin);
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
    expect((await signedGet(app, '/_auth/admin', admin)).status).toBe(200);
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
    const again = await send(app, 'GET', '/_auth/miner', headers);
    expect([again.status, again.json.code]).toEqual([401, 'SIGNATURE_EXPIRED']);
  });

  it('documents the guarded routes with the hotkey signature scheme and their 401/403 codes', async () => {
    type Op = { security: Record<string, string[]>[]; responses: Record<string, unknown> };
    const res = await httpRequest<{ paths: Record<string, Record<string, Op>> }>(`${app.baseUrl}/openapi.json`);
    const adminOp = res.json.paths['/_auth/admin'].get;
    expect(adminOp.security).toEqual([{ hotkeySignature: [] }]);
    expect(Object.keys(adminOp.responses)).toEqual(expect.arrayContaining(['200', '401', '403']));
  });

  it('stores only a hash of each signature', async () => {
    const headers = signedHeaders(miner, undefined, now());
    expect((await send(app, 'GET', '/_auth/miner', headers)).status).toBe(200);
    const rows = await app.app.get(DataSource).query<unknown[]>(`SELECT * FROM signature_replays`);
    expect(JSON.stringify(rows)).not.toContain(headers['X-Chutes-Signature']);
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
    expect((await signedGet(app, '/_auth/admin', admin)).status).toBe(200);
    expect((await signedGet(app, '/_auth/miner', admin)).json.code).toBe('MINER_NOT_ALLOWED');
  });
});
