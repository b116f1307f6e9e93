/**
 * The mission's main path over HTTPS with real client certificates and forged TDX quotes:
 * a VM gets its disk keys if and only if it proves itself — and every attempt is audited.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { httpRequest } from '../support/http';
import { ManualClock } from '../../src/common/clock/clock';
import { startTestApp, TestApp } from '../support/app';
import { BOOT_NOW, BootEnv, createBootEnv, IMAGE, ROOT_PASSPHRASE, TestVm, ss58Address } from '../support/boot-env';
import { testDatabase } from '../support/database';
import { whileFailing } from '../support/fault';
import { createForge, pckChainWithEmptyValidity } from '../support/forge';
import { DEFAULT_TEE_TCB_SVN } from '../support/forge/forge-defaults';
import { selfSignedCert } from '../support/tls';

// A PGlite directory (not in-memory) so the restart test restarts onto the same data.
const db = testDatabase('boot', fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-boot-db-')));
const clock = new ManualClock(BOOT_NOW);
let env: BootEnv;
let app: TestApp;
let vm: TestVm;

// Every start with DCAP_ROOT_CA_FILE says so (these tests run on the forge's root).
const warnings = jest.spyOn(Logger.prototype, 'warn');
const trustAnchorWarnings = () => warnings.mock.calls.filter(([message]) => typeof message === 'string' && message.includes('DCAP_ROOT_CA_FILE'));

beforeAll(async () => {
  env = await createBootEnv();
  app = await startTestApp({ database: db.target, clock, env: env.env });
  vm = await TestVm.create(app.baseUrl, env.forge, env.minerHotkey);
});

afterAll(async () => {
  await app?.close();
  await db.drop();
  env?.cleanup();
});

type AuditRow = {
  outcome: string;
  error_code: string | null;
  vm_name: string;
  measurement_version: string | null;
  tcb_status: string | null;
  verdict: Record<string, unknown>;
  quote_sha256: string | null;
};

async function lastAudit(): Promise<AuditRow> {
  const rows: AuditRow[] = await app.app.get(DataSource).query(`SELECT * FROM boot_attestations ORDER BY created_at DESC, id DESC LIMIT 1`);
  return rows[0];
}

async function auditCount(): Promise<number> {
  const rows: { n: string }[] = await app.app.get(DataSource).query(`SELECT count(*) AS n FROM boot_attestations`);
  return Number(rows[0].n);
}

function tick() {
  clock.advance(1); // distinct created_at per attempt, so "last audit row" is unambiguous
}

describe('a replaced DCAP trust anchor (DCAP_ROOT_CA_FILE)', () => {
  it('is logged as a warning at start naming the file and the subject, shown by /readyz and as a metric', async () => {
    const file = env.env.DCAP_ROOT_CA_FILE;
    expect(trustAnchorWarnings()).toHaveLength(1);
    expect(trustAnchorWarnings()[0][0]).toContain(file);
    expect(trustAnchorWarnings()[0][0]).toContain('CN=Intel SGX Root CA, O=bootkey test PKI');
    expect(trustAnchorWarnings()[0][0]).not.toContain('\n');
    const ready = await httpRequest<{ status: string; trust_anchor: { overridden: boolean; file: string; subject: string } }>(`${app.baseUrl}/readyz`);
    expect(ready.json).toEqual({
      status: 'ok',
      trust_anchor: { overridden: true, file, subject: expect.stringContaining('CN=Intel SGX Root CA, O=bootkey test PKI') },
      measurements: { file: env.env.MEASUREMENTS_FILE, read_at: BOOT_NOW.toISOString(), sets: 2, entries_skipped: 0, skipped: [] },
    });
    const metrics = await httpRequest(`${app.baseUrl}/metrics`);
    expect(metrics.text).toMatch(/^bootkey_dcap_root_ca_overridden 1$/m);
  });
});

describe('boot attestation and volume keys', () => {
  let firstKeys: Record<string, string>;

  it('first boot: releases the root passphrase and a token; the sync creates both volumes', async () => {
    tick();
    const res = await vm.boot();
    expect(res.status).toBe(200);
    expect(res.json.key).toBe(ROOT_PASSPHRASE);
    expect(res.json.boot_token).toMatch(/^[0-9a-f]{64}$/);
    const sync = await vm.sync(res.json.boot_token, ['storage', 'tdx-cache'], ['storage', 'tdx-cache']);
    expect(sync.status).toBe(200);
    expect(Object.keys(sync.json).sort()).toEqual(['storage', 'tdx-cache']);
    for (const passphrase of Object.values(sync.json)) expect(passphrase).toMatch(/^[0-9a-f]{128}$/);
    firstKeys = sync.json;
    expect(await lastAudit()).toMatchObject({ outcome: 'verified', error_code: null, measurement_version: IMAGE.version, tcb_status: 'UpToDate' });
  });

  it('refuses a replayed boot token and leaves the keys untouched', async () => {
    tick();
    const res = await vm.boot();
    const first = await vm.sync(res.json.boot_token, ['storage', 'tdx-cache']);
    expect(first.json).toEqual(firstKeys);
    const replay = await vm.sync(res.json.boot_token, ['storage'], ['storage']);
    expect([replay.status, replay.json.code]).toEqual([401, 'BOOT_TOKEN_INVALID']);
    const again = await vm.boot();
    expect((await vm.sync(again.json.boot_token, ['storage', 'tdx-cache'])).json).toEqual(firstKeys);
  });

  it('rekeys only the volume asked for (a new generation), retires unlisted volumes and gives their key back when listed again', async () => {
    tick();
    const rekey = await vm.sync((await vm.boot()).json.boot_token, ['storage', 'tdx-cache'], ['tdx-cache']);
    expect(rekey.json.storage).toBe(firstKeys.storage);
    expect(rekey.json['tdx-cache']).not.toBe(firstKeys['tdx-cache']);
    tick();
    const retired = await vm.sync((await vm.boot()).json.boot_token, ['storage']);
    expect(retired.json).toEqual({ storage: firstKeys.storage });
    // Never deleted by a boot token: listing it again returns the retired key, not a new one.
    tick();
    const relisted = await vm.sync((await vm.boot()).json.boot_token, ['storage', 'tdx-cache']);
    expect(relisted.json).toEqual({ storage: firstKeys.storage, 'tdx-cache': rekey.json['tdx-cache'] });
    const events: { kind: string; created: string[]; rekeyed: string[]; pruned: string[]; detail: Record<string, unknown> }[] = await app.app
      .get(DataSource)
      .query(`SELECT kind, created, rekeyed, pruned, detail FROM key_release_events WHERE kind = 'sync' ORDER BY created_at DESC LIMIT 3`);
    expect(events.reverse().map((e) => [e.created, e.rekeyed, e.pruned, e.detail.generations, e.detail.reactivated])).toEqual([
      [[], ['tdx-cache'], [], { storage: 1, 'tdx-cache': 2 }, []],
      [[], [], ['tdx-cache'], { storage: 1 }, []],
      [[], [], [], { storage: 1, 'tdx-cache': 2 }, ['tdx-cache']],
    ]);
    firstKeys = relisted.json;
  });

  it('refuses bad volume requests with 422 and does not consume the token', async () => {
    const token = (await vm.boot()).json.boot_token;
    for (const [volumes, rekey] of [
      [['storage', 'swap'], []],
      [['storage'], ['tdx-cache']],
      [[], []],
    ] as [string[], string[]][]) {
      const res = await vm.sync(token, volumes, rekey);
      expect([volumes, res.status, res.json.code]).toEqual([volumes, 422, 'VALIDATION_FAILED']);
    }
    expect((await vm.sync(token, ['storage', 'tdx-cache'])).status).toBe(200);
  });

  it('serves the legacy storage GET only for a valid token bound to that hotkey and VM', async () => {
    const token = (await vm.boot()).json.boot_token;
    const ok = await vm.legacyStorage(token);
    expect([ok.status, ok.json.passphrase]).toEqual([200, firstKeys.storage]);
    // The Chutes reference answers any non-empty token; ours must not.
    for (const bad of ['x', 'a'.repeat(64), undefined]) expect((await vm.legacyStorage(bad)).status).toBe(401);
    expect((await vm.legacyStorage(token, await ss58Address('//someone-else'))).status).toBe(401);
    const other = await TestVm.create(app.baseUrl, env.forge, env.minerHotkey, 'vm-without-volumes');
    expect((await other.legacyStorage((await other.boot()).json.boot_token)).status).toBe(404);
  });

  it('purges expired boot tokens (and only those)', async () => {
    const { BootTokensService } = await import('../../src/boot-tokens/boot-tokens.service');
    const stale = (await vm.boot()).json.boot_token;
    clock.advance(601);
    const fresh = (await vm.boot()).json.boot_token;
    expect(await app.app.get(BootTokensService).purgeExpired()).toBeGreaterThanOrEqual(1);
    expect((await vm.sync(stale, ['storage', 'tdx-cache'])).status).toBe(401);
    expect((await vm.sync(fresh, ['storage', 'tdx-cache'])).json).toEqual(firstKeys);
  });

  it('keeps 20 concurrent uses of one nonce to exactly one success', async () => {
    const nonce = await vm.nonce();
    const quote = vm.quote(nonce);
    const results = await Promise.all(Array.from({ length: 20 }, () => vm.attest(nonce, quote)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401 && r.json.code === 'NONCE_INVALID')).toHaveLength(19);
  });

  describe('refusals: status, code, and an audit row that says why', () => {
    const cases: [string, () => Promise<{ status: number; json: { code?: string } }>, number, string, Record<string, unknown>][] = [
      [
        'nonce reused',
        async () => {
          const n = await vm.nonce();
          await vm.attest(n, vm.quote(n));
          tick();
          return vm.attest(n, vm.quote(n));
        },
        401,
        'NONCE_INVALID',
        { nonce: 'unknown' },
      ],
      ['nonce missing', async () => vm.attest('', vm.quote('00'.repeat(32))), 401, 'NONCE_INVALID', { nonce: 'unknown' }],
      [
        'nonce expired',
        async () => {
          const n = await vm.nonce();
          clock.advance(601);
          return vm.attest(n, vm.quote(n));
        },
        401,
        'NONCE_INVALID',
        { nonce: 'expired' },
      ],
      [
        'nonce from another IP (X-Forwarded-For from an untrusted peer is ignored)',
        async () => {
          const n = await vm.nonce('127.0.0.1');
          return vm.attest(n, vm.quote(n), { localAddress: '127.0.0.2', headers: { 'x-forwarded-for': '127.0.0.1' } });
        },
        401,
        'NONCE_INVALID',
        { nonce: 'wrong_client' },
      ],
      [
        'quote bound to another client key',
        async () => {
          const n = await vm.nonce();
          return vm.attest(n, vm.quote(n), { cert: await selfSignedCert('intruder') });
        },
        401,
        'REPORT_DATA_MISMATCH',
        { report_data: 'key_mismatch' },
      ],
      [
        'no client certificate',
        async () => {
          const n = await vm.nonce();
          return vm.attest(n, vm.quote(n), { cert: null });
        },
        401,
        'CLIENT_CERT_REQUIRED',
        { report_data: 'no_client_certificate' },
      ],
      [
        'REPORTDATA nonce differs from the header nonce',
        async () => {
          const n = await vm.nonce();
          const other = await vm.nonce();
          return vm.attest(n, vm.quote(other));
        },
        401,
        'REPORT_DATA_MISMATCH',
        { report_data: 'nonce_mismatch' },
      ],
      [
        'measurement mismatch',
        async () => {
          const n = await vm.nonce();
          return vm.attest(
            n,
            vm.quote(n, { rtmrs: { rtmr0: Buffer.from(IMAGE.rtmr0, 'hex'), rtmr1: Buffer.from(IMAGE.rtmr1, 'hex'), rtmr2: Buffer.alloc(48, 0xee) } }),
          );
        },
        403,
        'MEASUREMENT_MISMATCH',
        {},
      ],
      ['debug TD', async () => vm.boot({ debug: true }), 403, 'DEBUG_TD', { debug: true }],
      // TDATTRIBUTES little-endian: SEPT_VE_DISABLE (bit 28) as every production TD, plus MIGRATABLE (bit 29).
      [
        'MIGRATABLE TD',
        async () => vm.boot({ tdAttributes: '0000003000000000' }),
        403,
        'TD_ATTRIBUTES_REFUSED',
        { td_attributes: { status: 'refused', attributes: '0x0000000030000000', refused_bits: [29] } },
      ],
      [
        'OutOfDate TCB',
        async () => {
          const svn = Buffer.from(DEFAULT_TEE_TCB_SVN);
          svn[2] -= 1;
          return vm.boot({ teeTcbSvn: svn });
        },
        403,
        'TCB_STATUS_REJECTED',
        { tcb_policy: 'rejected' },
      ],
      [
        'bad quote signature',
        async () => vm.boot({ tamper: { quoteSignature: true } }),
        403,
        'QUOTE_SIGNATURE_INVALID',
        { dcap: { status: 'QUOTE_SIGNATURE_INVALID' } },
      ],
      ['bad QE report signature', async () => vm.boot({ tamper: { qeReportSignature: true } }), 403, 'QE_REPORT_INVALID', {}],
      [
        'untrusted PKI',
        async () => {
          const stranger = await createForge({ now: BOOT_NOW, pki: { seed: 'stranger' } });
          const n = await vm.nonce();
          return vm.attest(n, new TestVm(app.baseUrl, stranger, vm.cert, vm.hotkey, vm.vmName).quote(n));
        },
        403,
        'PCK_CHAIN_INVALID',
        {},
      ],
      [
        'PCK leaf with an empty validity SEQUENCE',
        async () => vm.boot({ pckCertChainPem: pckChainWithEmptyValidity(env.forge.pki) }),
        403,
        'PCK_CHAIN_INVALID',
        {},
      ],
      [
        'PCK CA with an empty validity SEQUENCE',
        async () => vm.boot({ pckCertChainPem: pckChainWithEmptyValidity(env.forge.pki, 'pckCa') }),
        403,
        'PCK_CHAIN_INVALID',
        {},
      ],
      ['quote not base64', async () => vm.attestRaw(await vm.nonce(), '***not base64***'), 400, 'QUOTE_MALFORMED', { quote: 'QUOTE_MALFORMED' }],
      [
        'quote truncated',
        async () => {
          const n = await vm.nonce();
          return vm.attest(n, vm.quote(n).subarray(0, 600));
        },
        400,
        'QUOTE_MALFORMED',
        {},
      ],
    ];

    it.each(cases)('%s', async (_name, attempt, status, code, verdict) => {
      tick();
      const res = await attempt();
      expect([res.status, res.json.code]).toEqual([status, code]);
      const row = await lastAudit();
      expect(row).toMatchObject({ outcome: 'failed', error_code: code, vm_name: vm.vmName });
      expect(row.verdict).toMatchObject(verdict);
      expect(JSON.stringify(row)).not.toContain(ROOT_PASSPHRASE);
    });

    it('records, for a measurement miss, each register expected vs actual of the nearest set', async () => {
      tick();
      const n = await vm.nonce();
      await vm.attest(n, vm.quote(n, { mrtd: Buffer.alloc(48, 0x11) }));
      const row = await lastAudit();
      const nearest = (
        row.verdict.measurement as { nearest: { version: string; registers: { register: string; expected: string; actual: string; match: boolean }[] } }
      ).nearest;
      expect(nearest.version).toBe(IMAGE.version);
      expect(nearest.registers.find((r) => r.register === 'mrtd')).toEqual({ register: 'mrtd', expected: IMAGE.mrtd, actual: '11'.repeat(48), match: false });
    });

    it('matches a set without a root passphrase but releases nothing (NO_ROOT_KEY)', async () => {
      tick();
      const res = await vm.boot({ mrtd: Buffer.alloc(48, 0xc1) });
      expect([res.status, res.json.code]).toEqual([403, 'NO_ROOT_KEY']);
      expect(await lastAudit()).toMatchObject({ outcome: 'failed', error_code: 'NO_ROOT_KEY', measurement_version: '2' });
    });

    it('ignores unknown body fields: a gen-C style body with first_boot (and a future field) boots', async () => {
      tick();
      const n = await vm.nonce();
      const res = await vm.attestWithBody(n, {
        quote: vm.quote(n).toString('base64'),
        vm_name: vm.vmName,
        miner_hotkey: vm.hotkey,
        first_boot: false,
        some_future_field: { a: 1 },
      });
      expect([res.status, res.json.code, (res.json as { key?: string }).key]).toEqual([200, undefined, ROOT_PASSPHRASE]);
    });

    it('answers malformed bodies with 422 and audits nothing', async () => {
      const before = await auditCount();
      const n = await vm.nonce();
      const res = await vm.attestWithBody(n, { quote: vm.quote(n).toString('base64'), miner_hotkey: 'not-ss58', vm_name: 'bad name!' });
      expect([res.status, res.json.code]).toEqual([422, 'VALIDATION_FAILED']);
      expect(await auditCount()).toBe(before);
    });
  });

  it('an unexpected error while releasing: 500, no key, no token, and exactly one INTERNAL audit row', async () => {
    tick();
    const dataSource = app.app.get(DataSource);
    const count = async (table: string) => Number((await dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM ${table}`))[0]?.n);
    const before = { audits: await auditCount(), tokens: await count('boot_tokens'), releases: await count('key_release_events') };
    // Every check passes; then storing the boot token fails with a plain SQL error, inside the release transaction.
    const res = await whileFailing(dataSource, 'INSERT', 'boot_tokens', () => vm.boot());
    expect([res.status, res.json.code]).toEqual([500, 'INTERNAL']);
    expect([res.json.key, res.json.boot_token]).toEqual([undefined, undefined]);
    expect(res.text).not.toContain(ROOT_PASSPHRASE);
    expect(await auditCount()).toBe(before.audits + 1);
    const row = await lastAudit();
    expect(row).toMatchObject({ outcome: 'failed', error_code: 'INTERNAL', vm_name: vm.vmName, measurement_version: IMAGE.version });
    expect(row.verdict).toMatchObject({ nonce: 'ok', root_key: 'withheld' });
    expect([await count('boot_tokens'), await count('key_release_events')]).toEqual([before.tokens, before.releases]);
  });

  it('an unexpected error before any verdict (the nonce store fails): 500 and exactly one INTERNAL audit row', async () => {
    tick();
    const dataSource = app.app.get(DataSource);
    const before = await auditCount();
    const nonce = await vm.nonce();
    const res = await whileFailing(dataSource, 'DELETE', 'nonces', () => vm.attest(nonce, vm.quote(nonce)));
    expect([res.status, res.json.code, res.json.key]).toEqual([500, 'INTERNAL', undefined]);
    expect(await auditCount()).toBe(before + 1);
    expect(await lastAudit()).toMatchObject({ outcome: 'failed', error_code: 'INTERNAL', vm_name: vm.vmName, measurement_version: null });
  });

  it('keeps every key across a restart', async () => {
    await app.close();
    app = await startTestApp({ database: db.target, clock, env: env.env });
    expect(trustAnchorWarnings()).toHaveLength(2);
    vm = new TestVm(app.baseUrl, env.forge, vm.cert, vm.hotkey, vm.vmName);
    const res = await vm.boot();
    expect(res.json.key).toBe(ROOT_PASSPHRASE);
    expect((await vm.sync(res.json.boot_token, ['storage', 'tdx-cache'])).json).toEqual(firstKeys);
  });
});
