/**
 * A measurement set's life beyond matching, on the real broker and database: the public listing
 * (`GET /servers/tee/measurements`, release candidates hidden, cached 60 s), release-candidate
 * gating (a VM without a proven authorized hotkey gets the same 403 as any miss, the audit row
 * says why), TEE_MINIMUM_BOOT_VERSION, and the dry run of a retirement (which servers and VMs
 * would stop matching) before the retirement itself.
 */
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DomainError, ErrorCode } from '../../src/common/errors';
import { ManualClock } from '../../src/common/clock/clock';
import { parseTdxQuote } from '../../src/attestation/core/quote';
import { emptyAppraisalRecord, QuoteAppraisalService } from '../../src/attestation/quote-appraisal.service';
import { AttestationAuditRepository } from '../../src/audit/attestation-audit.repository';
import { startTestApp, TestApp } from '../support/app';
import { BOOT_NOW, BootEnv, createBootEnv, IMAGE, TestVm } from '../support/boot-env';
import { testDatabase } from '../support/database';
import { KeyringPair, randomKeypair, signedHeaders, unixSeconds } from '../support/hotkey';
import { httpRequest, HttpResult } from '../support/http';

const db = testDatabase('measurement-lifecycle');
const clock = new ManualClock(BOOT_NOW);
const reg = (byte: string) => byte.repeat(48);
const RC_MRTD = reg('d1');
const OLD_MRTD = reg('e1');

let env: BootEnv;
let app: TestApp;
let vm: TestVm;
let admin: KeyringPair;
let stranger: KeyringPair;

type Json = Record<string, unknown> & { code?: string; message?: string };

function call<T = Json>(method: string, route: string, body?: unknown): Promise<HttpResult<T>> {
  const raw = body === undefined ? undefined : JSON.stringify(body);
  const url = new URL(`${app.baseUrl}${route}`);
  clock.advance(1);
  return httpRequest<T>(url.href, {
    method,
    rawBody: raw,
    headers: signedHeaders(admin, raw, unixSeconds(clock.now()), { v2: { method, path: `${url.pathname}${url.search}` } }),
  });
}

function setBody(name: string, version: string, mrtd: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    version,
    mrtd,
    boot_rtmrs: { rtmr0: IMAGE.rtmr0, rtmr1: IMAGE.rtmr1, rtmr2: IMAGE.rtmr2 },
    runtime_rtmrs: { rtmr0: IMAGE.rtmr0, rtmr1: IMAGE.rtmr1, rtmr2: IMAGE.rtmr2, rtmr3: IMAGE.rtmr3 },
    expected_gpus: ['h200'],
    gpu_count: 8,
    root_passphrase: `root of ${name} ${version}`,
    ...extra,
  };
}

type BootAuditRow = { outcome: string; error_code: string | null; measurement_name: string | null; measurement_version: string | null; verdict: Json };

async function lastBootAudit(): Promise<BootAuditRow> {
  const rows: BootAuditRow[] = await app.app.get(DataSource).query(`SELECT * FROM boot_attestations ORDER BY created_at DESC, id DESC LIMIT 1`);
  return rows[0];
}

function boot(mrtd: string) {
  clock.advance(1);
  return vm.boot({ mrtd: Buffer.from(mrtd, 'hex') });
}

beforeAll(async () => {
  admin = await randomKeypair();
  stranger = await randomKeypair();
  env = await createBootEnv({ TEE_MINIMUM_BOOT_VERSION: '1.0.0' });
  app = await startTestApp({ database: db.target, clock, env: { ...env.env, ADMIN_HOTKEYS: admin.address } });
  vm = await TestVm.create(app.baseUrl, env.forge, env.minerHotkey, 'vm-life');
  for (const body of [
    setBody('gpu-vm', '1.1.0-rc1', RC_MRTD, { rc: true, authorized_hotkeys: [env.minerHotkey] }),
    setBody('gpu-vm', '0.9.0', OLD_MRTD),
    // A second GPU flavour of the image's version: same MRTD, another RTMR0.
    setBody('gpu-vm-b200', IMAGE.version, IMAGE.mrtd, { boot_rtmrs: { rtmr0: reg('f0'), rtmr1: IMAGE.rtmr1, rtmr2: IMAGE.rtmr2 } }),
  ]) {
    expect((await call('POST', '/admin/measurements', body)).status).toBe(201);
  }
});

afterAll(async () => {
  await app?.close();
  await db.drop();
  env?.cleanup();
});

describe('GET /servers/tee/measurements', () => {
  type Published = {
    version: string;
    name: string;
    mrtd: string;
    boot_rtmrs: Record<string, string>;
    runtime_rtmrs: Record<string, string>;
    fingerprint: null;
  };

  it('lists the active published sets in the Chutes shape, anonymously, without release candidates', async () => {
    clock.advance(61);
    const res = await httpRequest<Published[]>(`${app.baseUrl}/servers/tee/measurements`);
    expect(res.status).toBe(200);
    expect(res.json.map((s) => `${s.name} ${s.version}`).sort()).toEqual(['gpu-vm 0.9.0', 'gpu-vm 1.0.0', 'gpu-vm-b200 1.0.0', 'keyless-image 2']);
    const image = res.json.find((s) => s.name === 'gpu-vm' && s.version === '1.0.0')!;
    expect(image).toEqual({
      version: '1.0.0',
      name: 'gpu-vm',
      // The file wrote it uppercase; every hex in bootkey's answers is lowercase.
      mrtd: IMAGE.mrtd,
      boot_rtmrs: { RTMR0: IMAGE.rtmr0, RTMR1: IMAGE.rtmr1, RTMR2: IMAGE.rtmr2, RTMR3: '0'.repeat(96) },
      runtime_rtmrs: { RTMR0: IMAGE.rtmr0, RTMR1: IMAGE.rtmr1, RTMR2: IMAGE.rtmr2, RTMR3: IMAGE.rtmr3 },
      expected_gpus: ['nvidia-h100-80gb-hbm3'],
      gpu_count: null,
      fingerprint: null,
    });
    expect(JSON.stringify(res.json)).not.toContain(RC_MRTD);
  });

  it('is cached for 60 s: a new set shows after the minute', async () => {
    clock.advance(61);
    await httpRequest(`${app.baseUrl}/servers/tee/measurements`);
    expect((await call('POST', '/admin/measurements', setBody('late', '5.0.0', reg('5a')))).status).toBe(201);
    const names = async () => (await httpRequest<Published[]>(`${app.baseUrl}/servers/tee/measurements`)).json.map((s) => s.name);
    expect(await names()).not.toContain('late');
    clock.advance(61);
    expect(await names()).toContain('late');
  });

  it('is documented as public, and its static path is not taken by the signed GET /servers/{server_id}', async () => {
    const doc = await httpRequest<{ paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>> }>(
      `${app.baseUrl}/openapi.json`,
    );
    const op = doc.json.paths['/servers/tee/measurements'].get;
    expect(op.security ?? []).toEqual([]);
    expect(JSON.stringify(op.responses['200'])).toContain('"type":"array"');
    // The signed neighbour still wants a signature.
    expect((await httpRequest<Json>(`${app.baseUrl}/servers/tee`)).json.code).toBe('SIGNATURE_MISSING');
  });
});

describe('release-candidate sets', () => {
  it('a boot of an rc image without a signature: the same 403 as any miss; the audit row says which gate', async () => {
    const plain = await boot(reg('ee'));
    expect([plain.status, plain.json.code]).toEqual([403, 'MEASUREMENT_MISMATCH']);
    const gated = await boot(RC_MRTD);
    expect(gated.status).toBe(403);
    expect(gated.json).toEqual(plain.json);
    const row = await lastBootAudit();
    expect(row).toMatchObject({ outcome: 'failed', error_code: 'MEASUREMENT_MISMATCH', measurement_name: 'gpu-vm', measurement_version: '1.1.0-rc1' });
    expect(row.verdict.measurement).toMatchObject({
      matched: false,
      kind: 'boot',
      rc_gate: { name: 'gpu-vm', version: '1.1.0-rc1', reason: 'no_proven_hotkey' },
    });
  });

  async function appraise(kind: 'boot' | 'runtime', provenHotkey?: string) {
    const nonce = randomBytes(32);
    const raw = vm.quote(nonce.toString('hex'), { mrtd: Buffer.from(RC_MRTD, 'hex') });
    const record = emptyAppraisalRecord();
    try {
      const { set } = await app.app
        .get(QuoteAppraisalService)
        .appraise(raw, parseTdxQuote(raw), { kind, nonce, keyHash: vm.cert.spkiSha256, provenHotkey }, record);
      return { set, record, code: null };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return { set: null, record, code: error.code };
    }
  }

  it.each(['boot', 'runtime'] as const)('%s: an authorized proven hotkey matches the rc set, any other is refused with the reason recorded', async (kind) => {
    const authorized = await appraise(kind, env.minerHotkey);
    expect(authorized.code).toBeNull();
    expect(authorized.set).toMatchObject({ name: 'gpu-vm', version: '1.1.0-rc1', rc: true });
    expect(authorized.record.verdict).toMatchObject({ measurement: { matched: true, rc: true }, dcap: { status: 'ok' } });

    const other = await appraise(kind, stranger.address);
    expect(other.code).toBe(ErrorCode.MEASUREMENT_MISMATCH);
    expect(other.record.verdict.measurement).toMatchObject({ rc_gate: { name: 'gpu-vm', version: '1.1.0-rc1', reason: 'hotkey_not_authorized' } });
    expect((await appraise(kind)).record.verdict.measurement).toMatchObject({ rc_gate: { reason: 'no_proven_hotkey' } });
  });
});

describe('TEE_MINIMUM_BOOT_VERSION', () => {
  it('refuses a boot matching a set below the floor (VERSION_TOO_OLD); the floor version boots', async () => {
    const old = await boot(OLD_MRTD);
    expect([old.status, old.json.code]).toEqual([403, 'VERSION_TOO_OLD']);
    const row = await lastBootAudit();
    expect(row).toMatchObject({ outcome: 'failed', error_code: 'VERSION_TOO_OLD', measurement_version: '0.9.0' });
    expect(row.verdict.version_floor).toEqual({ version: '0.9.0', minimum: '1.0.0' });
    expect((await boot(IMAGE.mrtd)).status).toBe(200);
  });
});

describe('DELETE /admin/measurements/{version}?dry_run=true', () => {
  const sql = (text: string, params: unknown[]) => app.app.get(DataSource).query(text, params);

  async function addServer(id: string, vmName: string, registered: [string, string], attestations: [string, string, string, number][]) {
    const now = clock.now();
    await sql(
      `INSERT INTO servers (id, miner_hotkey, name, vm_name, host, measurement_name, measurement_version, created_at, updated_at) VALUES ($1, $2, $1, $3, '203.0.113.7', $4, $5, $6, $6)`,
      [id, env.minerHotkey, vmName, registered[0], registered[1], now],
    );
    const audit = app.app.get(AttestationAuditRepository);
    for (const [kind, outcome, version, secondsAgo] of attestations) {
      await audit.insert({
        kind: kind as 'registration' | 'runtime',
        createdAt: new Date(now.getTime() - secondsAgo * 1000),
        serverId: id,
        minerHotkey: env.minerHotkey,
        vmName,
        clientIp: '203.0.113.7',
        quoteSha256: null,
        outcome: outcome as 'verified' | 'failed',
        errorCode: outcome === 'failed' ? 'MEASUREMENT_MISMATCH' : null,
        verdict: {},
        measurementName: 'gpu-vm',
        measurementVersion: version,
        tcbStatus: 'UpToDate',
        advisoryIds: [],
      });
    }
  }

  let upgradedBootAt: Date;

  beforeAll(async () => {
    // Still on 1.0.0: registered on it, runtime-attested on it since (a failed attempt in between does not count).
    await addServer(
      'srv-on',
      'vm-on',
      ['gpu-vm', '1.0.0'],
      [
        ['registration', 'verified', '1.0.0', 600],
        ['runtime', 'failed', '5.0.0', 60],
        ['runtime', 'verified', '1.0.0', 300],
      ],
    );
    // Registered on 1.0.0, moved to 5.0.0 since.
    await addServer(
      'srv-moved',
      'vm-moved',
      ['gpu-vm', '1.0.0'],
      [
        ['registration', 'verified', '1.0.0', 600],
        ['runtime', 'verified', '5.0.0', 30],
      ],
    );
    // No attestation row left (retention): its registration decides.
    await addServer('srv-bare', 'vm-bare', ['gpu-vm', '1.0.0'], []);
    const bootRow = (vmName: string, daysAgo: number, [name, version]: [string, string]) =>
      app.app.get(AttestationAuditRepository).insert({
        kind: 'boot',
        createdAt: new Date(clock.now().getTime() - daysAgo * 86_400_000),
        serverId: null,
        minerHotkey: env.minerHotkey,
        vmName,
        clientIp: '127.0.0.1',
        quoteSha256: null,
        outcome: 'verified',
        errorCode: null,
        verdict: {},
        measurementName: name,
        measurementVersion: version,
        tcbStatus: 'UpToDate',
        advisoryIds: [],
      });
    // A boot of the image 31 days ago: outside the window.
    await bootRow('vm-long-ago', 31, ['gpu-vm', '1.0.0']);
    // Booted the image, then another image.
    upgradedBootAt = new Date(clock.now().getTime() - 3 * 86_400_000);
    await bootRow('vm-upgraded', 3, ['gpu-vm', '1.0.0']);
    await bootRow('vm-upgraded', 2, ['late', '5.0.0']);
  });

  it('keeps the ?name= rules: a version of several flavours is 409 MEASUREMENT_SET_AMBIGUOUS, an unknown one 404, a bad flag 422', async () => {
    expect((await call('DELETE', '/admin/measurements/1.0.0?dry_run=true')).json.code).toBe('MEASUREMENT_SET_AMBIGUOUS');
    expect((await call('DELETE', '/admin/measurements/7.7.7?dry_run=true')).status).toBe(404);
    expect((await call('DELETE', '/admin/measurements/1.0.0?name=gpu-vm&dry_run=yes')).status).toBe(422);
  });

  it('answers which servers and recently booted VMs match the set, and retires nothing', async () => {
    const res = await call<{
      dry_run: boolean;
      sets: unknown[];
      servers: { server_id: string; attested_at: string | null }[];
      vms: { miner_hotkey: string; vm_name: string; last_boot_at: string; booted_other_set_since: boolean }[];
      vms_since: string;
    }>('DELETE', '/admin/measurements/1.0.0?name=gpu-vm&dry_run=true');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ dry_run: true, sets: [{ name: 'gpu-vm', version: '1.0.0' }] });
    expect(res.json.servers.map((s) => s.server_id).sort()).toEqual(['srv-bare', 'srv-on']);
    expect(res.json.servers.find((s) => s.server_id === 'srv-bare')!.attested_at).toBeNull();
    const vm = (vmName: string, movedOn: boolean) => ({
      miner_hotkey: env.minerHotkey,
      vm_name: vmName,
      measurement_name: 'gpu-vm',
      measurement_version: '1.0.0',
      last_boot_at: expect.any(String),
      booted_other_set_since: movedOn,
    });
    // Newest boot first.
    expect(res.json.vms).toEqual([vm('vm-life', false), vm('vm-upgraded', true)]);
    expect(res.json.vms[1].last_boot_at).toBe(upgradedBootAt.toISOString());
    expect(new Date(res.json.vms_since).getTime()).toBe(clock.now().getTime() - 30 * 86_400_000);
    expect((await call<Json>('GET', '/admin/measurements/1.0.0?name=gpu-vm')).json.retired_at).toBeNull();
    expect((await boot(IMAGE.mrtd)).status).toBe(200);
  });

  it('the other flavour of the version has its own (empty) impact; then the retirement itself', async () => {
    const other = await call<Json>('DELETE', '/admin/measurements/1.0.0?name=gpu-vm-b200&dry_run=true');
    expect(other.json).toMatchObject({ sets: [{ name: 'gpu-vm-b200', version: '1.0.0' }], servers: [], vms: [] });
    const retired = await call<Json>('DELETE', '/admin/measurements/1.0.0?name=gpu-vm&dry_run=false');
    expect([retired.status, typeof retired.json.retired_at]).toEqual([200, 'string']);
    expect((await boot(IMAGE.mrtd)).json.code).toBe('MEASUREMENT_MISMATCH');
  });
});
