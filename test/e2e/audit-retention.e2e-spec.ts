/**
 * AUDIT_RETENTION_DAYS: audit rows older than the retention are purged in batches, off the
 * request path, by the clock the service is given (a ManualClock here); newer rows, each
 * server's newest attempt of each kind, and attempts a boot token still points to stay. Also the
 * AuditIndexes migration: up, down and up again on the test's engine.
 */
import { randomUUID } from 'node:crypto';
import type { QueryRunner } from 'typeorm';
import { AuditIndexes1763801100000 } from '../../migrations/1763801100000-AuditIndexes';
import { ManualClock } from '../../src/common/clock/clock';
import { AttestationAttempt, AttestationAuditRepository } from '../../src/audit/attestation-audit.repository';
import { AuditRetention } from '../../src/audit/audit-retention.service';
import { KeyReleaseEventsRepository } from '../../src/audit/key-release-events.repository';
import { Database } from '../../src/database/executor';
import { startTestApp, TestApp } from '../support/app';
import { testDatabase } from '../support/database';

const NOW = new Date('2027-06-01T00:00:00Z');
const DAY_S = 86_400;
const HOTKEY = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';

const db = testDatabase('audit_retention');
const clock = new ManualClock(NOW);
let app: TestApp;
let attestations: AttestationAuditRepository;
let releases: KeyReleaseEventsRepository;
let database: Database;
let retention: AuditRetention;

beforeAll(async () => {
  app = await startTestApp({ database: db.target, clock, env: { AUDIT_RETENTION_DAYS: '400' } });
  attestations = app.app.get(AttestationAuditRepository);
  releases = app.app.get(KeyReleaseEventsRepository);
  database = app.app.get(Database);
  retention = app.app.get(AuditRetention);
});

afterAll(async () => {
  await app?.close();
  await db.drop();
});

const ago = (days: number, extraSeconds = 0) => new Date(NOW.getTime() - (days * DAY_S + extraSeconds) * 1000);

function attempt(kind: AttestationAttempt['kind'], createdAt: Date, vmName: string, serverId: string | null = null): AttestationAttempt {
  return {
    kind,
    createdAt,
    serverId,
    minerHotkey: HOTKEY,
    vmName,
    clientIp: '192.0.2.1',
    quoteSha256: null,
    outcome: 'verified',
    errorCode: null,
    measurementName: 'gpu-vm',
    measurementVersion: '1.0.0',
    tcbStatus: 'UpToDate',
    advisoryIds: [],
    verdict: {},
  };
}

async function vmNames(table: 'boot' | 'server'): Promise<string[]> {
  const page = await attestations.page({ table, limit: 500 });
  return page.entries.map((entry) => `${entry.vmName}${entry.serverId ? `/${entry.serverId}/${entry.kind}` : ''}`).sort();
}

async function releaseVms(): Promise<string[]> {
  const rows = await database.rows<{ vm_name: string }>('SELECT vm_name FROM key_release_events ORDER BY vm_name');
  return rows.map((row) => row.vm_name);
}

describe('the audit retention purge (AUDIT_RETENTION_DAYS=400)', () => {
  beforeAll(async () => {
    // Boot attempts: seven a year and a half old, one just past the retention, one just inside
    // it, two recent, and one old one that a boot token still points to.
    for (let i = 0; i < 7; i++) await attestations.insert(attempt('boot', ago(550, i), `old-${i}`));
    await attestations.insert(attempt('boot', ago(400, 60), 'just-past'));
    await attestations.insert(attempt('boot', ago(400, -60), 'just-inside'));
    await attestations.insert(attempt('boot', ago(10), 'recent-a'));
    await attestations.insert(attempt('boot', ago(1), 'recent-b'));
    const pinned = await attestations.insert(attempt('boot', ago(600), 'token-pinned'));
    await database.rows(`INSERT INTO boot_tokens (token_hash, miner_hotkey, vm_name, attestation_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`, [
      randomUUID().replace(/-/g, ''),
      HOTKEY,
      'token-pinned',
      pinned,
      ago(600),
      ago(-1),
    ]);
    // Server attempts: s1 has three old registrations and two old runtime checks; s2 one recent.
    for (let i = 0; i < 3; i++) await attestations.insert(attempt('registration', ago(500 + i), `reg-${i}`, 's1'));
    for (let i = 0; i < 2; i++) await attestations.insert(attempt('runtime', ago(450 + i), `rt-${i}`, 's1'));
    await attestations.insert(attempt('runtime', ago(5), 'rt-new', 's2'));
    await attestations.insert(attempt('registration', ago(700), 'no-server', null));
    // Key-release events: four old, one recent.
    for (const [vmName, days] of [
      ['krel-old-0', 900],
      ['krel-old-1', 800],
      ['krel-old-2', 401],
      ['krel-old-3', 500],
      ['krel-new', 3],
    ] as const) {
      await database.transaction((tx) =>
        releases.insert({ kind: 'sync', createdAt: ago(days), minerHotkey: HOTKEY, vmName, attestationId: null, clientIp: null }, tx),
      );
    }
  });

  it('deletes, in batches, every row older than 400 days and nothing newer', async () => {
    // Batches of 3: more old rows than one batch in every table.
    const deleted = await retention.purge(3);
    expect(deleted).toBe(8 + 4 + 4); // boot, server, key-release events
    expect(await vmNames('boot')).toEqual(['just-inside', 'recent-a', 'recent-b', 'token-pinned']);
    expect(await releaseVms()).toEqual(['krel-new']);
  });

  it("keeps each server's newest attempt of each kind, however old", async () => {
    expect(await vmNames('server')).toEqual(['reg-0/s1/registration', 'rt-0/s1/runtime', 'rt-new/s2/runtime']);
  });

  it('follows the clock: a day later the row that was just inside is gone', async () => {
    clock.advance(DAY_S);
    expect(await retention.purge()).toBe(1);
    expect(await vmNames('boot')).toEqual(['recent-a', 'recent-b', 'token-pinned']);
    // Nothing left to purge: a second run deletes nothing.
    expect(await retention.purge()).toBe(0);
  });

  it('deletes an attempt once the boot token that pointed to it is gone', async () => {
    await database.rows(`DELETE FROM boot_tokens WHERE vm_name = 'token-pinned'`);
    expect(await retention.purge()).toBe(1);
    expect(await vmNames('boot')).toEqual(['recent-a', 'recent-b']);
  });

  it('keeps everything with AUDIT_RETENTION_DAYS=0', async () => {
    await attestations.insert(attempt('boot', ago(5000), 'ancient'));
    const keepForever = new AuditRetention(attestations, releases, database, clock, { ...app.config, auditRetentionDays: 0 });
    expect(await keepForever.purge()).toBe(0);
    expect(await vmNames('boot')).toContain('ancient');
  });
});

describe('the AuditIndexes migration', () => {
  async function indexes(): Promise<Record<string, string>> {
    const rows = await database.rows<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ('boot_attestations', 'server_attestations', 'key_release_events')`,
    );
    return Object.fromEntries(rows.map((row) => [row.indexname, row.indexdef.replace(/^.* USING btree /, '')]));
  }

  it('adds indexes ending in (created_at, id) for every filter, and its down() restores the old ones', async () => {
    const up = await indexes();
    expect(up).toMatchObject({
      idx_boot_attestations_created_at: '(created_at, id)',
      idx_boot_attestations_miner: '(miner_hotkey, created_at, id)',
      idx_boot_attestations_vm: '(miner_hotkey, vm_name, created_at, id)',
      idx_boot_attestations_vm_name: '(vm_name, created_at, id)',
      idx_server_attestations_created_at: '(created_at, id)',
      idx_server_attestations_miner: '(miner_hotkey, created_at, id)',
      idx_server_attestations_vm_name: '(vm_name, created_at, id)',
      idx_key_release_events_created_at: '(created_at)',
    });
    // Its own down() and up(), whatever migrations come after it; statements as the runner runs them.
    const runner = { query: (sql: string) => database.rows(sql) } as unknown as QueryRunner;
    await new AuditIndexes1763801100000().down(runner);
    const down = await indexes();
    expect(down).toMatchObject({
      idx_boot_attestations_created_at: '(created_at)',
      idx_boot_attestations_miner: '(miner_hotkey, created_at)',
      idx_boot_attestations_vm: '(miner_hotkey, vm_name, created_at)',
      idx_server_attestations_created_at: '(created_at)',
      idx_server_attestations_miner: '(miner_hotkey, created_at)',
    });
    expect(Object.keys(down)).not.toEqual(expect.arrayContaining(['idx_boot_attestations_vm_name']));
    // The key-release index belongs to the earlier VolumeKeyGenerations migration: it stays.
    expect(down.idx_key_release_events_created_at).toBe('(created_at)');
    await new AuditIndexes1763801100000().up(runner);
    expect(await indexes()).toEqual(up);
  });
});
