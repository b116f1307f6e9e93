/**
 * Nonce lifecycle on the real database: atomic single use under concurrency, expiry, binding
 * to purpose/client/server, purging, and survival across a restart.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ManualClock } from '../../src/common/clock/clock';
import { NonceService } from '../../src/nonces/nonce.service';
import { httpRequest } from '../support/http';
import { startTestApp, TestApp } from '../support/app';
import { testDatabase, usingPostgres } from '../support/database';

const pgliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-nonces-'));
const db = testDatabase('nonces', pgliteDir);
const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
let app: TestApp;
let nonces: NonceService;

beforeAll(async () => {
  app = await startTestApp({ database: db.target, clock, env: { NONCE_TTL_S: '60' } });
  nonces = app.app.get(NonceService);
});

afterAll(async () => {
  await app?.close();
  await db.drop();
  fs.rmSync(pgliteDir, { recursive: true, force: true });
});

describe(`nonces on ${usingPostgres ? 'PostgreSQL' : 'PGlite'}`, () => {
  it('lets exactly one of 50 concurrent consumers win', async () => {
    const { nonce } = await nonces.issue('boot', '192.0.2.1');
    const verdicts = await Promise.all(Array.from({ length: 50 }, () => nonces.consume(nonce, 'boot', '192.0.2.1')));
    expect(verdicts.filter((v) => v === 'ok')).toHaveLength(1);
    expect(verdicts.filter((v) => v === 'unknown')).toHaveLength(49);
  });

  it('refuses and still consumes a nonce presented for the wrong purpose, client or server', async () => {
    const cases: [string, () => Promise<string>][] = [
      ['wrong_purpose', async () => nonces.consume((await nonces.issue('boot', '192.0.2.1')).nonce, 'runtime', '192.0.2.1')],
      ['wrong_client', async () => nonces.consume((await nonces.issue('boot', '192.0.2.1')).nonce, 'boot', '192.0.2.2')],
      [
        'wrong_server',
        async () =>
          nonces.consume(
            (await nonces.issue('runtime', '192.0.2.1', '00000000-0000-4000-8000-000000000001')).nonce,
            'runtime',
            '192.0.2.1',
            '00000000-0000-4000-8000-000000000002',
          ),
      ],
    ];
    for (const [expected, attempt] of cases) expect([expected, await attempt()]).toEqual([expected, expected]);
    const { nonce } = await nonces.issue('boot', '192.0.2.1');
    expect(await nonces.consume(nonce, 'boot', '192.0.2.9')).toBe('wrong_client');
    expect(await nonces.consume(nonce, 'boot', '192.0.2.1')).toBe('unknown');
  });

  it('refuses malformed and expired nonces, and purges expired rows', async () => {
    expect(await nonces.consume('ABC', 'boot', '192.0.2.1')).toBe('unknown');
    const expired = await nonces.issue('boot', '192.0.2.1');
    const kept = await nonces.issue('boot', '192.0.2.1');
    clock.advance(61);
    expect(await nonces.consume(expired.nonce, 'boot', '192.0.2.1')).toBe('expired');
    const fresh = await nonces.issue('boot', '192.0.2.1');
    expect(await nonces.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await nonces.consume(kept.nonce, 'boot', '192.0.2.1')).toBe('unknown');
    expect(await nonces.consume(fresh.nonce, 'boot', '192.0.2.1')).toBe('ok');
  });

  it('stores only the SHA-256 of a nonce', async () => {
    const { nonce } = await nonces.issue('boot', '192.0.2.1');
    const { DataSource } = await import('typeorm');
    const stored = await app.app.get(DataSource).query<unknown[]>(`SELECT nonce_hash FROM nonces`);
    expect(JSON.stringify(stored)).not.toContain(nonce);
  });

  it('keeps a nonce issued over HTTP consumable after a restart', async () => {
    const res = await httpRequest<{ nonce: string }>(`${app.baseUrl}/servers/nonce`);
    expect(res.status).toBe(200);
    await app.close();
    app = await startTestApp({ database: db.target, clock, env: { NONCE_TTL_S: '60' } });
    nonces = app.app.get(NonceService);
    expect(await nonces.consume(res.json.nonce, 'boot', '127.0.0.1')).toBe('ok');
  });
});
