/**
 * Key custody on the real database: the development KEK generated into DATA_DIR (mode 0600,
 * reused after a restart), key-check values stopping a start with a wrong key, rotation to a
 * new KEK after which the old one can leave the ring, and refusing DATABASE_URL without a KEK.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from '../../src/config/app-config';
import { Database } from '../../src/database/executor';
import { SealedSecret } from '../../src/keys/envelope';
import { KeyCustodyService, sealedFromRow, SealedSecretRow } from '../../src/keys/key-custody.service';
import { loadKekRing } from '../../src/keys/kek-ring';
import { startTestApp, TestApp } from '../support/app';
import { testDatabase, usingPostgres } from '../support/database';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-key-custody-'));
const db = testDatabase('key_custody', path.join(dataDir, 'pglite'));
const kekFile = path.join(dataDir, 'kek');
const AAD = 'volume|5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX|vm-1|storage';
const NEW_KEY = Buffer.alloc(32, 0x42).toString('base64');
let app: TestApp | undefined;

const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function start(env: Record<string, string> = {}): Promise<KeyCustodyService> {
  await app?.close();
  app = undefined;
  app = await startTestApp({ database: db.target, env: { DATA_DIR: dataDir, ...env } });
  return app.app.get(KeyCustodyService);
}

/**
 * Starts the app expecting it to fail, and closes the databases the failed start opened:
 * Nest does not tear down providers it already built when a later one throws.
 */
async function startFailure(env: Record<string, string>): Promise<unknown> {
  await app?.close();
  app = undefined;
  // The spy calls the real initialize and records each DataSource it ran on.
  const spy = jest.spyOn(DataSource.prototype, 'initialize');
  try {
    app = await startTestApp({ database: db.target, env: { DATA_DIR: dataDir, ...env } });
    return undefined;
  } catch (error) {
    return error;
  } finally {
    const opened = [...(spy.mock.contexts as DataSource[])];
    spy.mockRestore();
    for (const dataSource of opened) if (dataSource.isInitialized) await dataSource.destroy();
  }
}

function generatedKeyBase64(): string {
  const line = fs
    .readFileSync(kekFile, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('local:'));
  return line!.slice('local:'.length);
}

afterAll(async () => {
  await app?.close();
  await db.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe(`key custody on ${usingPostgres ? 'PostgreSQL' : 'PGlite'}`, () => {
  let sealedBeforeRestart: SealedSecret;

  it('generates a KEK into DATA_DIR/kek with mode 0600 and says so', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    try {
      const custody = await start();
      expect(fs.statSync(kekFile).mode & 0o777).toBe(0o600);
      expect(custody.activeKekId).toBe('local');
      const warnings = warn.mock.calls.map(([message]) => String(message));
      expect(warnings.some((message) => message.includes('generated now') && message.includes(kekFile))).toBe(true);
      sealedBeforeRestart = custody.seal(utf8('passphrase-before-restart'), AAD);
    } finally {
      warn.mockRestore();
    }
  });

  it('stores a key-check value for the new id, and nothing readable', async () => {
    const rows = await app!.app.get(Database).rows<SealedSecretRow>(`SELECT kek_id, wrapped_key, ciphertext FROM kek_checks`);
    expect(rows.map((row) => [row.kek_id, row.wrapped_key.length])).toEqual([['local', 72]]);
    expect(Buffer.from(rows[0].ciphertext).toString('latin1')).not.toContain('kek check');
  });

  it('reuses the generated KEK after a restart, so earlier secrets still open', async () => {
    const before = fs.readFileSync(kekFile, 'utf8');
    const custody = await start();
    expect(fs.readFileSync(kekFile, 'utf8')).toBe(before);
    expect(text(custody.open(sealedBeforeRestart, AAD))).toBe('passphrase-before-restart');
  });

  it('refuses to start with a wrong key for a known id', async () => {
    const error = await startFailure({ BROKER_KEKS: `local:${NEW_KEY}` });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      'invalid configuration: BROKER_KEKS: key local does not match the key-check value stored in the database (wrong key?)',
    );
    expect((error as Error).message).not.toContain(NEW_KEY);
  });

  it('rotates to a new KEK, after which the old one can leave the ring', async () => {
    const oldKey = generatedKeyBase64();
    let custody = await start({ BROKER_KEKS: `local:${oldKey},k2:${NEW_KEY}`, BROKER_ACTIVE_KEK: 'k2' });
    const table = [
      { aad: AAD, sealed: sealedBeforeRestart },
      { aad: 'root|1.0.0', sealed: custody.seal(utf8('root-under-k2'), 'root|1.0.0') },
    ];
    custody.registerSealedTable('in-memory', {
      rewrap: () =>
        custody.rewrapAll(
          table,
          (row) => row,
          (row, rewrapped) => {
            row.sealed = rewrapped;
            return Promise.resolve(true);
          },
        ),
      countByKek: () => {
        const counts = new Map<string, number>();
        for (const { sealed } of table) counts.set(sealed.kekId, (counts.get(sealed.kekId) ?? 0) + 1);
        return Promise.resolve(counts);
      },
    });
    expect(await custody.rotate()).toEqual({ kekId: 'k2', rewrapped: 1, skipped: 0, remaining: 0 });
    expect(await custody.rotate()).toEqual({ kekId: 'k2', rewrapped: 0, skipped: 0, remaining: 0 });
    const checks = await app!.app.get(Database).rows<{ kek_id: string }>(`SELECT kek_id FROM kek_checks ORDER BY kek_id`);
    expect(checks.map((row) => row.kek_id)).toEqual(['k2', 'local']);

    custody = await start({ BROKER_KEKS: `k2:${NEW_KEY}` });
    expect(
      table.map(({ aad, sealed }) =>
        text(custody.open(sealedFromRow({ kek_id: sealed.kekId, wrapped_key: sealed.wrappedKey, ciphertext: sealed.ciphertext }), aad)),
      ),
    ).toEqual(['passphrase-before-restart', 'root-under-k2']);
  });

  it('refuses DATABASE_URL without a configured KEK, in one line', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://bootkey@db.internal/bootkey', DATA_DIR: dataDir });
    let error: unknown;
    try {
      loadKekRing(config);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      'invalid configuration: BROKER_KEKS (or BROKER_KEK_FILE) must be set when DATABASE_URL is set; a generated KEK is only for the embedded database',
    );
  });
});
