/**
 * The Chutes VM ≥ 1.3 ("gen C") protocol against the real broker, over HTTPS with real client
 * certificates and forged quotes (CHUTES-PROTOCOL §1–§2; DESIGN "Chutes VM ≥ 1.3 protocol"):
 * nonce bound to ?miner_hotkey=, signed boot with first_boot, per-VM root keys rotated and
 * confirmed, /provision with a runtime quote, volume rotation and confirm, the k3s key, the
 * lost-answer fallback, the 1.3.x routes, and a gen-B VM beside a gen-C one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { decodeAddress } from '@polkadot/util-crypto';
import { ManualClock } from '../../src/common/clock/clock';
import { startTestApp, TestApp } from '../support/app';
import { BOOT_NOW, BootEnv, createBootEnv, IMAGE, ROOT_PASSPHRASE, TestVm } from '../support/boot-env';
import { testDatabase } from '../support/database';
import { KeyringPair, randomKeypair, signHex, testKeypair } from '../support/hotkey';
import { httpRequest, HttpResult } from '../support/http';
import { selfSignedCert, TestCert } from '../support/tls';

const db = testDatabase('gen_c');
const clock = new ManualClock(BOOT_NOW);
const reg = (byte: string) => byte.repeat(48);
const GEN_C = { version: '1.4.0', mrtd: reg('d1'), rtmr0: reg('d0'), rtmr1: reg('d2'), rtmr2: reg('d3'), runtimeRtmr3: reg('e3') };
const RC = { version: '1.4.1', mrtd: reg('f1') };
const KEYLESS = { version: '1.5.0', mrtd: reg('a9') };
const GEN_C_ROOT = 'gen-c image build-time root key';

let env: BootEnv;
let app: TestApp;
let miner: KeyringPair;

type BootAnswer = {
  key: string;
  boot_token?: string;
  luks_quote_nonce: string;
  root_next: string | null;
  root_confirm_nonce: string | null;
  vm_auth_ss58: string | null;
  code?: string;
};
type ProvisionAnswer = { volumes: Record<string, { current: string | null; next: string }>; confirm_nonce: string; k3s_encryption_key: string; code?: string };
type ConfirmAnswer = { status: string; volumes: Record<string, { result: string }>; code?: string };

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A gen-C VM as the 1.4.0 initramfs drives it: per-boot CA certificate, signed calls. */
class GenCVm {
  cert!: TestCert;
  constructor(
    readonly name: string,
    readonly hotkey: KeyringPair,
    readonly mrtd = GEN_C.mrtd,
  ) {}

  async newBoot(): Promise<void> {
    this.cert = await selfSignedCert(`${this.name} vm root ca`);
  }

  quote(nonce: string, runtime: boolean, rtmr3 = runtime ? GEN_C.runtimeRtmr3 : reg('00')): Buffer {
    return env.forge.quote({
      reportData: Buffer.concat([Buffer.from(nonce, 'hex'), Buffer.from(this.cert.spkiSha256, 'hex')]),
      mrtd: Buffer.from(this.mrtd, 'hex'),
      rtmrs: {
        rtmr0: Buffer.from(GEN_C.rtmr0, 'hex'),
        rtmr1: Buffer.from(GEN_C.rtmr1, 'hex'),
        rtmr2: Buffer.from(GEN_C.rtmr2, 'hex'),
        rtmr3: Buffer.from(rtmr3, 'hex'),
      },
    });
  }

  signed(nonce: string, body: string, signer = this.hotkey): Record<string, string> {
    return { 'X-Chutes-Nonce': nonce, 'X-Chutes-Hotkey': signer.address, 'X-Chutes-Signature': signHex(signer, `${signer.address}:${nonce}:${sha256(body)}`) };
  }

  async nonce(hotkey: string | null = this.hotkey.address): Promise<string> {
    clock.advance(1); // each call its own created_at, so "the last audit row" is unambiguous
    const res = await httpRequest<{ nonce: string }>(`${app.baseUrl}/servers/nonce${hotkey ? `?miner_hotkey=${hotkey}` : ''}`, { clientCert: this.cert });
    expect(res.status).toBe(200);
    return res.json.nonce;
  }

  async boot(options: { firstBoot?: boolean; sign?: boolean | KeyringPair; body?: Record<string, unknown> } = {}): Promise<HttpResult<BootAnswer>> {
    const nonce = await this.nonce();
    const body = JSON.stringify(
      options.body ?? {
        quote: this.quote(nonce, false).toString('base64'),
        vm_name: this.name,
        miner_hotkey: this.hotkey.address,
        first_boot: options.firstBoot ?? false,
      },
    );
    const signer = options.sign === undefined || options.sign === true ? this.hotkey : options.sign === false ? null : options.sign;
    return httpRequest<BootAnswer>(`${app.baseUrl}/servers/boot/attestation`, {
      headers: signer ? this.signed(nonce, body, signer) : { 'X-Chutes-Nonce': nonce },
      rawBody: body,
      clientCert: this.cert,
    });
  }

  async confirm(
    confirmNonce: string,
    volumes: Record<string, boolean>,
    route: 'provision/confirm' | 'luks/confirm' = 'provision/confirm',
  ): Promise<HttpResult<ConfirmAnswer>> {
    clock.advance(1);
    const body = JSON.stringify({ volumes: Object.fromEntries(Object.entries(volumes).map(([volume, rotated]) => [volume, { rotated }])) });
    const headers = route === 'provision/confirm' ? this.signed(confirmNonce, body) : { 'X-Chutes-Hotkey': this.hotkey.address };
    return httpRequest<ConfirmAnswer>(`${app.baseUrl}/servers/${this.name}/${route}`, {
      headers: { ...headers, 'X-Confirm-Nonce': confirmNonce },
      rawBody: body,
      clientCert: this.cert,
    });
  }

  async provision(
    quoteNonce: string,
    options: { volumes?: string[]; rtmr3?: string; route?: 'provision' | 'luks/attest'; sign?: boolean } = {},
  ): Promise<HttpResult<ProvisionAnswer>> {
    clock.advance(1);
    const body = JSON.stringify({
      quote: this.quote(quoteNonce, true, options.rtmr3).toString('base64'),
      volumes: options.volumes ?? ['storage', 'tdx-cache'],
    });
    const route = options.route ?? 'provision';
    const signed = route === 'provision' && options.sign !== false;
    return httpRequest<ProvisionAnswer>(`${app.baseUrl}/servers/${this.name}/${route}`, {
      headers: { ...(signed ? this.signed(quoteNonce, body) : { 'X-Chutes-Hotkey': this.hotkey.address }), 'X-Quote-Nonce': quoteNonce },
      rawBody: body,
      clientCert: this.cert,
    });
  }
}

const query = <T>(sql: string, parameters: unknown[] = []) => app.app.get(DataSource).query<T[]>(sql, parameters);

async function rootGenerations(vm: GenCVm): Promise<{ generation: number; state: string; parent_generation: number | null }[]> {
  return query(
    `SELECT generation, state, parent_generation FROM luks_volumes WHERE miner_hotkey = $1 AND vm_name = $2 AND volume = 'root' ORDER BY generation`,
    [vm.hotkey.address, vm.name],
  );
}

async function lastAudit(): Promise<{ step: string; outcome: string; error_code: string | null; verdict: Record<string, unknown> }> {
  const rows = await query<{ step: string; outcome: string; error_code: string | null; verdict: Record<string, unknown> }>(
    `SELECT step, outcome, error_code, verdict FROM boot_attestations ORDER BY created_at DESC, id DESC LIMIT 1`,
  );
  return rows[0];
}

beforeAll(async () => {
  env = await createBootEnv();
  miner = await testKeypair('//bootkey-test-miner');
  const alice = await testKeypair('//Alice');
  fs.writeFileSync(path.join(env.dir, 'gen-c-root'), `${GEN_C_ROOT}\n`, { mode: 0o600 });
  const release = (version: string, mrtd: string, extra: string[]) => [
    `  - version: "${version}"`,
    `    mrtd: ${mrtd}`,
    `    rtmr1: ${GEN_C.rtmr1}`,
    `    rtmr2: ${GEN_C.rtmr2}`,
    `    runtime_rtmr3: ${GEN_C.runtimeRtmr3}`,
    ...(version === KEYLESS.version ? [] : ['    root_passphrase_file: gen-c-root']),
    ...extra,
    '    hardware:',
    '      - name: "8xh100"',
    `        rtmr0: ${GEN_C.rtmr0}`,
    '        expected_gpus: ["nvidia-h100-80gb-hbm3"]',
    '        gpu_count: 8',
  ];
  const flat = fs.readFileSync(env.env.MEASUREMENTS_FILE, 'utf8').trimEnd();
  fs.writeFileSync(
    env.env.MEASUREMENTS_FILE,
    [
      flat,
      ...release(GEN_C.version, GEN_C.mrtd, []),
      ...release(RC.version, RC.mrtd, ['    rc: true', '    authorized_hotkeys:', `      - ${alice.address}`]),
      ...release(KEYLESS.version, KEYLESS.mrtd, []),
      '',
    ].join('\n'),
  );
  app = await startTestApp({ database: db.target, clock, env: env.env });
});

afterAll(async () => {
  await app?.close();
  await db.drop();
  env?.cleanup();
});

beforeEach(() => clock.advance(1));

describe('GET /servers/nonce?miner_hotkey=', () => {
  it('refuses a malformed hotkey with 422', async () => {
    const res = await httpRequest<{ code: string }>(`${app.baseUrl}/servers/nonce?miner_hotkey=not-a-hotkey`);
    expect([res.status, res.json.code]).toEqual([422, 'VALIDATION_FAILED']);
  });

  it('a nonce bound to one miner does not serve a boot claiming another (401, audited)', async () => {
    const other = await randomKeypair();
    const vm = new GenCVm('gen-c-bound', other);
    await vm.newBoot();
    const nonce = await vm.nonce(miner.address); // bound to `miner`, used by `other`
    const body = JSON.stringify({ quote: vm.quote(nonce, false).toString('base64'), vm_name: vm.name, miner_hotkey: other.address, first_boot: true });
    const res = await httpRequest<{ code: string }>(`${app.baseUrl}/servers/boot/attestation`, {
      headers: vm.signed(nonce, body),
      rawBody: body,
      clientCert: vm.cert,
    });
    expect([res.status, res.json.code]).toEqual([401, 'NONCE_INVALID']);
    expect(await lastAudit()).toMatchObject({ outcome: 'failed', error_code: 'NONCE_INVALID', verdict: { nonce: 'wrong_hotkey' } });
  });
});

describe('signed gen-C boot', () => {
  it('an unsigned boot of a gen-C image is 401 SIGNATURE_MISSING and releases nothing', async () => {
    const vm = new GenCVm('gen-c-unsigned', miner);
    await vm.newBoot();
    const res = await vm.boot({ firstBoot: true, sign: false });
    expect([res.status, res.json.code]).toEqual([401, 'SIGNATURE_MISSING']);
    expect(res.text).not.toContain(GEN_C_ROOT);
    expect(await lastAudit()).toMatchObject({ outcome: 'failed', error_code: 'SIGNATURE_MISSING', verdict: { signature: 'absent', protocol: 'gen_c' } });
    expect(await rootGenerations(vm)).toEqual([]);
  });

  it('a signature by another key, or over another nonce, is 401 SIGNATURE_INVALID', async () => {
    const vm = new GenCVm('gen-c-badsig', miner);
    await vm.newBoot();
    const other = await randomKeypair();
    // signed by `other` while claiming `miner` in the body
    const res = await vm.boot({ firstBoot: true, sign: other });
    expect([res.status, res.json.code]).toEqual([401, 'SIGNATURE_INVALID']);
    // a valid signature of the miner over a different nonce
    const nonce = await vm.nonce();
    const body = JSON.stringify({ quote: vm.quote(nonce, false).toString('base64'), vm_name: vm.name, miner_hotkey: miner.address, first_boot: true });
    const moved = { ...vm.signed('ab'.repeat(32), body), 'X-Chutes-Nonce': nonce };
    const res2 = await httpRequest<{ code: string }>(`${app.baseUrl}/servers/boot/attestation`, { headers: moved, rawBody: body, clientCert: vm.cert });
    expect([res2.status, res2.json.code]).toEqual([401, 'SIGNATURE_INVALID']);
    expect(await lastAudit()).toMatchObject({ error_code: 'SIGNATURE_INVALID', verdict: { signature: 'invalid' } });
  });

  it('a wrong signature on a gen-B image is refused too (401), a missing one is fine', async () => {
    const vm = await TestVm.create(app.baseUrl, env.forge, miner.address, 'gen-b-signed');
    const nonce = await vm.nonce();
    const res = await vm.attest(nonce, vm.quote(nonce), { headers: { 'x-chutes-hotkey': miner.address, 'x-chutes-signature': 'aa'.repeat(64) } });
    expect([res.status, (res.json as { code?: string }).code]).toEqual([401, 'SIGNATURE_INVALID']);
  });
});

describe('the 1.4.0 boot, end to end', () => {
  const vm = new GenCVm('gen-c-001', {} as KeyringPair);
  let first: BootAnswer;
  let provisioned: ProvisionAnswer;

  beforeAll(async () => {
    Object.assign(vm, { hotkey: miner });
    await vm.newBoot();
  });

  it('first boot: the set passphrase, root_next pending, root confirm nonce, vm_auth ss58, quote nonce; no boot token', async () => {
    const res = await vm.boot({ firstBoot: true });
    expect(res.status).toBe(200);
    first = res.json;
    expect(first.key).toBe(GEN_C_ROOT);
    expect(first.root_next).toMatch(/^[0-9a-f]{128}$/);
    expect(first.root_confirm_nonce).toMatch(/^[0-9a-f]{64}$/);
    expect(first.luks_quote_nonce).toMatch(/^[0-9a-f]{64}$/);
    expect(decodeAddress(first.vm_auth_ss58)).toHaveLength(32);
    expect(first.vm_auth_ss58!.startsWith('5')).toBe(true);
    expect(first).not.toHaveProperty('boot_token');
    expect(await rootGenerations(vm)).toEqual([{ generation: 1, state: 'pending', parent_generation: 0 }]);
    expect(await lastAudit()).toMatchObject({ step: 'boot', outcome: 'verified', verdict: { protocol: 'gen_c', signature: 'valid' } });
    const seeds = await query<{ vm_auth_ss58: string; vm_auth_ciphertext: Buffer }>(
      `SELECT vm_auth_ss58, vm_auth_ciphertext FROM vm_boot_states WHERE vm_name = $1`,
      [vm.name],
    );
    expect(seeds[0].vm_auth_ss58).toBe(first.vm_auth_ss58);
  });

  it('root confirm: promoted; an identical repeat gets the same answer; another body with that nonce is 401', async () => {
    const res = await vm.confirm(first.root_confirm_nonce!, { root: true });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'confirmed', volumes: { root: { result: 'promoted' } } });
    expect(await rootGenerations(vm)).toEqual([{ generation: 1, state: 'current', parent_generation: 0 }]);
    const again = await vm.confirm(first.root_confirm_nonce!, { root: true });
    expect([again.status, again.json]).toEqual([200, res.json]);
    const other = await vm.confirm(first.root_confirm_nonce!, { root: false });
    expect([other.status, other.json.code]).toEqual([401, 'CONFIRM_NONCE_INVALID']);
    expect(await rootGenerations(vm)).toEqual([{ generation: 1, state: 'current', parent_generation: 0 }]);
    const events = await query<{ kind: string }>(`SELECT kind FROM key_release_events WHERE vm_name = $1 ORDER BY created_at, id`, [vm.name]);
    expect(events.map((event) => event.kind)).toEqual(['root', 'promote', 'confirm_replay']);
  });

  it('/provision: unsigned 401, boot-time RTMR3 403, fewer volumes 422 — each spends the quote nonce', async () => {
    const unsigned = await vm.provision(first.luks_quote_nonce, { sign: false });
    expect([unsigned.status, unsigned.json.code]).toEqual([401, 'SIGNATURE_MISSING']);
    const reused = await vm.provision(first.luks_quote_nonce);
    expect([reused.status, reused.json.code]).toEqual([401, 'QUOTE_NONCE_INVALID']);
    expect(await lastAudit()).toMatchObject({ step: 'provision', outcome: 'failed', verdict: { nonce: 'unknown' } });
  });

  it('/provision on a fresh boot: volumes {current: null, next}, k3s key, storage confirm nonce, VM root CA recorded', async () => {
    await vm.newBoot();
    const boot = await vm.boot();
    expect(boot.status).toBe(200);
    expect(boot.json.key).toBe(first.root_next); // the rotated root key
    const zeroRtmr3 = await vm.provision(boot.json.luks_quote_nonce, { rtmr3: reg('00') });
    expect([zeroRtmr3.status, zeroRtmr3.json.code]).toEqual([403, 'MEASUREMENT_MISMATCH']);

    const again = await vm.boot();
    const few = await vm.provision(again.json.luks_quote_nonce, { volumes: ['storage'] });
    expect([few.status, few.json.code]).toEqual([422, 'VALIDATION_FAILED']);

    const third = await vm.boot();
    await vm.confirm(third.json.root_confirm_nonce!, { root: true });
    const res = await vm.provision(third.json.luks_quote_nonce);
    expect(res.status).toBe(200);
    provisioned = res.json;
    expect(Object.keys(provisioned.volumes).sort()).toEqual(['storage', 'tdx-cache']);
    expect(provisioned.volumes.storage.current).toBeNull();
    expect(provisioned.volumes.storage.next).toMatch(/^[0-9a-f]{128}$/);
    expect(Buffer.from(provisioned.k3s_encryption_key, 'base64')).toHaveLength(32);
    expect(provisioned.confirm_nonce).toMatch(/^[0-9a-f]{64}$/);
    expect(await lastAudit()).toMatchObject({ step: 'provision', outcome: 'verified' });
    const states = await query<{ root_ca_pem: string }>(`SELECT root_ca_pem FROM vm_boot_states WHERE vm_name = $1`, [vm.name]);
    expect(states[0].root_ca_pem).toContain('BEGIN CERTIFICATE');
  });

  it('the root nonce does not cover storage (422); the storage confirm promotes both volumes', async () => {
    const wrongScope = await vm.confirm(provisioned.confirm_nonce, { root: true });
    expect([wrongScope.status, wrongScope.json.code]).toEqual([422, 'VALIDATION_FAILED']);
    const res = await vm.confirm(provisioned.confirm_nonce, { storage: true, 'tdx-cache': true });
    expect(res.json).toEqual({ status: 'confirmed', volumes: { storage: { result: 'promoted' }, 'tdx-cache': { result: 'promoted' } } });
    expect(await lastAudit()).toMatchObject({ step: 'confirm', outcome: 'verified' });
  });

  it('reboot: the rotated root opens, volumes come back as current with a new next, the k3s key stays', async () => {
    await vm.newBoot();
    const boot = await vm.boot();
    const res = await vm.provision(boot.json.luks_quote_nonce);
    expect(res.status).toBe(200);
    expect(res.json.volumes.storage.current).toBe(provisioned.volumes.storage.next);
    expect(res.json.volumes['tdx-cache'].current).toBe(provisioned.volumes['tdx-cache'].next);
    expect(res.json.k3s_encryption_key).toBe(provisioned.k3s_encryption_key);
    const confirm = await vm.confirm(res.json.confirm_nonce, { storage: false, 'tdx-cache': true });
    expect(confirm.json.volumes).toEqual({ storage: { result: 'discarded' }, 'tdx-cache': { result: 'promoted' } });
    await vm.confirm(boot.json.root_confirm_nonce!, { root: true });
  });

  it('/luks/attest and /luks/confirm are refused for a VM that booted gen C', async () => {
    const boot = await vm.boot();
    const res = await vm.provision(boot.json.luks_quote_nonce, { route: 'luks/attest' });
    expect([res.status, res.json.code]).toEqual([401, 'SIGNATURE_MISSING']);
    const confirm = await vm.confirm(boot.json.root_confirm_nonce!, { root: true }, 'luks/confirm');
    expect([confirm.status, confirm.json.code]).toEqual([401, 'SIGNATURE_MISSING']);
  });
});

describe('a lost confirm answer never bricks the disk', () => {
  it('root: the promoted key fails once (no confirm follows), the next boot gets the key that opened before', async () => {
    const vm = new GenCVm('gen-c-lost', miner);
    await vm.newBoot();
    const first = (await vm.boot({ firstBoot: true })).json;
    // The broker promotes; the VM never sees the answer and removes root_next from its disk.
    expect((await vm.confirm(first.root_confirm_nonce!, { root: true })).status).toBe(200);
    const second = (await vm.boot()).json;
    expect(second.key).toBe(first.root_next); // cannot open: the VM powers off, no confirm
    const third = (await vm.boot()).json;
    expect(third.key).toBe(GEN_C_ROOT); // the key that opened the disk when root_next was issued
    const [event] = await query<{ detail: Record<string, unknown> }>(
      `SELECT detail FROM key_release_events WHERE vm_name = $1 AND kind = 'root' ORDER BY created_at DESC, id DESC LIMIT 1`,
      [vm.name],
    );
    expect(event.detail).toMatchObject({ reason: 'fallback', handed_out: 0, next_generation: 3 });
    expect((await vm.confirm(third.root_confirm_nonce!, { root: true })).json.volumes.root.result).toBe('promoted');
    const fourth = (await vm.boot()).json;
    expect(fourth.key).toBe(third.root_next);
    expect((await rootGenerations(vm)).map((g) => g.state)).toEqual(['superseded', 'abandoned', 'current', 'pending']);
  });

  it('a first boot after rotations starts over from the set passphrase; older generations are kept, superseded', async () => {
    const vm = new GenCVm('gen-c-reimaged', miner);
    await vm.newBoot();
    const first = (await vm.boot({ firstBoot: true })).json;
    await vm.confirm(first.root_confirm_nonce!, { root: true });
    const again = (await vm.boot({ firstBoot: true })).json;
    expect(again.key).toBe(GEN_C_ROOT);
    expect((await rootGenerations(vm)).map((g) => g.state)).toEqual(['superseded', 'pending']);
  });
});

describe('release candidates and versions', () => {
  it('an rc image boots only for a proven listed hotkey; others get the generic 403, the audit says why', async () => {
    const stranger = new GenCVm('rc-vm', await randomKeypair(), RC.mrtd);
    await stranger.newBoot();
    const refused = await stranger.boot({ firstBoot: true });
    expect([refused.status, refused.json.code]).toEqual([403, 'MEASUREMENT_MISMATCH']);
    const audit = await lastAudit();
    expect(JSON.stringify(audit.verdict.measurement)).toContain('rc_gate');

    const alice = new GenCVm('rc-vm', await testKeypair('//Alice'), RC.mrtd);
    await alice.newBoot();
    const booted = await alice.boot({ firstBoot: true });
    expect(booted.status).toBe(200);
    expect(booted.json.key).toBe(GEN_C_ROOT);
  });
});

describe('gen B and gen C side by side', () => {
  it('a gen-B image: {key, boot_token, luks_quote_nonce} and null gen-C fields; /luks/attest and /luks/confirm (1.3.x) work for it', async () => {
    const vm = await TestVm.create(app.baseUrl, env.forge, miner.address, 'gen-b-013');
    const res = await vm.boot();
    expect(res.status).toBe(200);
    const answer = res.json as unknown as BootAnswer;
    expect(answer).toMatchObject({ key: ROOT_PASSPHRASE, root_next: null, root_confirm_nonce: null, vm_auth_ss58: null });
    expect(answer.boot_token).toMatch(/^[0-9a-f]{64}$/);
    expect(answer.luks_quote_nonce).toMatch(/^[0-9a-f]{64}$/);

    // The 1.3.x VM's runtime quote: its image's registers with the runtime RTMR3 (IMAGE's runtime set).
    const quote = vm.forge.quote({
      reportData: Buffer.concat([Buffer.from(answer.luks_quote_nonce, 'hex'), Buffer.from(vm.cert.spkiSha256, 'hex')]),
      mrtd: Buffer.from(IMAGE.mrtd, 'hex'),
      rtmrs: {
        rtmr0: Buffer.from(IMAGE.rtmr0, 'hex'),
        rtmr1: Buffer.from(IMAGE.rtmr1, 'hex'),
        rtmr2: Buffer.from(IMAGE.rtmr2, 'hex'),
        rtmr3: Buffer.from(IMAGE.rtmr3, 'hex'),
      },
    });
    const attest = await httpRequest<ProvisionAnswer>(`${app.baseUrl}/servers/${vm.vmName}/luks/attest`, {
      headers: { 'X-Quote-Nonce': answer.luks_quote_nonce, 'X-Chutes-Hotkey': miner.address },
      body: { quote: quote.toString('base64'), volumes: ['storage', 'tdx-cache'] },
      clientCert: vm.cert,
    });
    expect(attest.status).toBe(200);
    expect(attest.json.volumes.storage.current).toBeNull();
    const confirm = await httpRequest<ConfirmAnswer>(`${app.baseUrl}/servers/${vm.vmName}/luks/confirm`, {
      headers: { 'X-Confirm-Nonce': attest.json.confirm_nonce, 'X-Chutes-Hotkey': miner.address },
      body: { volumes: { storage: { rotated: true }, 'tdx-cache': { rotated: true } } },
    });
    expect(confirm.json).toEqual({ status: 'confirmed', volumes: { storage: { result: 'promoted' }, 'tdx-cache': { result: 'promoted' } } });
    const states = await query<{ vm_auth_ss58: string | null; root_ca_pem: string | null }>(
      `SELECT vm_auth_ss58, root_ca_pem FROM vm_boot_states WHERE vm_name = $1`,
      [vm.vmName],
    );
    expect(states[0]).toEqual({ vm_auth_ss58: null, root_ca_pem: null });
  });
});

describe('refusals of the gen-C steps (CHUTES-PROTOCOL §2.2–§2.4), each audited', () => {
  const vm = new GenCVm('gen-c-refusals', {} as KeyringPair);
  let boot: BootAnswer;

  beforeAll(async () => {
    Object.assign(vm, { hotkey: miner });
    await vm.newBoot();
    boot = (await vm.boot({ firstBoot: true })).json;
  });

  it('a gen-C release without a root passphrase and no root key of its own: 403 NO_ROOT_KEY (the real API: 500)', async () => {
    const keyless = new GenCVm('gen-c-keyless', miner, KEYLESS.mrtd);
    await keyless.newBoot();
    const res = await keyless.boot({ firstBoot: true });
    expect([res.status, res.json.code]).toEqual([403, 'NO_ROOT_KEY']);
    expect(await lastAudit()).toMatchObject({ outcome: 'failed', error_code: 'NO_ROOT_KEY' });
    expect(await rootGenerations(keyless)).toEqual([]);
  });

  it('/provision: unknown volume names 422; without a client certificate 401 CLIENT_CERT_REQUIRED', async () => {
    const unknown = await vm.provision(boot.luks_quote_nonce, { volumes: ['storage', 'home'] });
    expect([unknown.status, unknown.json.code]).toEqual([422, 'VALIDATION_FAILED']);
    const next = (await vm.boot()).json;
    const body = JSON.stringify({ quote: vm.quote(next.luks_quote_nonce, true).toString('base64'), volumes: ['storage', 'tdx-cache'] });
    clock.advance(1);
    const noCert = await httpRequest<{ code: string }>(`${app.baseUrl}/servers/${vm.name}/provision`, {
      headers: { ...vm.signed(next.luks_quote_nonce, body), 'X-Quote-Nonce': next.luks_quote_nonce },
      rawBody: body,
    });
    expect([noCert.status, noCert.json.code]).toEqual([401, 'CLIENT_CERT_REQUIRED']);
    expect(await lastAudit()).toMatchObject({ step: 'provision', outcome: 'failed', error_code: 'CLIENT_CERT_REQUIRED' });
  });

  it('/provision with the quote nonce of a boot a later boot replaced: 401 QUOTE_NONCE_INVALID (the real API: 403 "no boot record")', async () => {
    const earlier = (await vm.boot()).json;
    await vm.boot();
    const res = await vm.provision(earlier.luks_quote_nonce);
    expect([res.status, res.json.code]).toEqual([401, 'QUOTE_NONCE_INVALID']);
    expect(await lastAudit()).toMatchObject({ step: 'provision', verdict: { boot: 'superseded' } });
  });

  it('/provision with another VM name than the boot: 401 QUOTE_NONCE_INVALID', async () => {
    const latest = (await vm.boot()).json;
    const other = new GenCVm('gen-c-other-name', miner);
    other.cert = vm.cert;
    const res = await other.provision(latest.luks_quote_nonce);
    expect([res.status, res.json.code]).toEqual([401, 'QUOTE_NONCE_INVALID']);
    expect(await lastAudit()).toMatchObject({ verdict: { nonce: 'wrong_vm' } });
  });

  it('confirm: an unknown nonce 401, an unsigned one 401, a malformed body 422 — nothing changes', async () => {
    const latest = (await vm.boot()).json;
    const before = await rootGenerations(vm);
    const unknown = await vm.confirm('cd'.repeat(32), { root: true });
    expect([unknown.status, unknown.json.code]).toEqual([401, 'CONFIRM_NONCE_INVALID']);
    const body = JSON.stringify({ volumes: { root: { rotated: true } } });
    const unsigned = await httpRequest<{ code: string }>(`${app.baseUrl}/servers/${vm.name}/provision/confirm`, {
      headers: { 'X-Confirm-Nonce': latest.root_confirm_nonce!, 'X-Chutes-Hotkey': miner.address },
      rawBody: body,
    });
    expect([unsigned.status, unsigned.json.code]).toEqual([401, 'SIGNATURE_MISSING']);
    const malformed = JSON.stringify({ volumes: { root: { rotated: 'yes' } } });
    const bad = await httpRequest<{ code: string }>(`${app.baseUrl}/servers/${vm.name}/provision/confirm`, {
      headers: { ...vm.signed(latest.root_confirm_nonce!, malformed), 'X-Confirm-Nonce': latest.root_confirm_nonce! },
      rawBody: malformed,
    });
    expect([bad.status, bad.json.code]).toEqual([422, 'VALIDATION_FAILED']);
    expect(await rootGenerations(vm)).toEqual(before);
    // the nonce still works after the refusals
    expect((await vm.confirm(latest.root_confirm_nonce!, { root: true })).json.volumes.root.result).toBe('promoted');
  });

  it('a confirm of an issue a later boot replaced touches nothing: no_pending', async () => {
    const earlier = (await vm.boot()).json;
    await vm.boot(); // abandons earlier's pending root_next and issues a new one
    const res = await vm.confirm(earlier.root_confirm_nonce!, { root: true });
    expect(res.json.volumes).toEqual({ root: { result: 'no_pending' } });
  });
});
