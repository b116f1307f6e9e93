/**
 * The server registry and runtime attestation through real HTTPS, with hotkey-signed requests
 * and a fake attestation service that answers forged quotes bound to its own TLS key:
 * register → list → get → rename → runtime nonce → runtime attestation → status → delete.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { ManualClock } from '../../src/common/clock/clock';
import { QuoteAppraisalService } from '../../src/attestation/quote-appraisal.service';
import { startTestApp, TestApp } from '../support/app';
import { BOOT_NOW, BootEnv, createBootEnv, EXPECTED_GPU, IMAGE, TestVm } from '../support/boot-env';
import { testDatabase } from '../support/database';
import { FakeAttestationService } from '../support/fake-attestation-service';
import { whileFailing } from '../support/fault';
import { KeyringPair, testKeypair } from '../support/hotkey';
import { httpRequest } from '../support/http';
import { signedRequest } from '../support/signed';
import { selfSignedCert, TestCert } from '../support/tls';

const db = testDatabase('servers');
const clock = new ManualClock(BOOT_NOW);
let env: BootEnv;
let app: TestApp;
let fake: FakeAttestationService;
let miner: KeyringPair;
let stranger: KeyringPair;
let serverCert: TestCert;

const reg = (hex: string) => Buffer.from(hex, 'hex');
const runtimeQuote = { mrtd: reg(IMAGE.mrtd), rtmrs: { rtmr0: reg(IMAGE.rtmr0), rtmr1: reg(IMAGE.rtmr1), rtmr2: reg(IMAGE.rtmr2), rtmr3: reg(IMAGE.rtmr3) } };

function gpu(uuid: string, identifier = EXPECTED_GPU) {
  return {
    uuid,
    name: 'H100',
    memory: 80 * 1024 ** 3,
    clock_rate: 1980,
    device_index: 0,
    gpu_identifier: identifier,
    verification_host: '127.0.0.1',
    verification_port: 8443,
  };
}

const call = <T = Record<string, unknown>>(pair: KeyringPair, method: string, route: string, body?: unknown, options = {}) =>
  signedRequest<T & { code?: string }>(pair, clock.now(), method, `${app.baseUrl}${route}`, body, options);

beforeAll(async () => {
  env = await createBootEnv();
  fake = await new FakeAttestationService(env.forge).start();
  fake.quoteOptions = runtimeQuote;
  const verifier = path.join(env.dir, 'gpu-verifier.sh');
  // Exit 0 only for evidence that says it is valid: stands in for chutes-nvattest (--nonce N --evidence FILE).
  fs.writeFileSync(verifier, '#!/bin/sh\n[ "$1" = --nonce ] && [ -n "$2" ] && [ "$3" = --evidence ] && grep -q \'"valid":true\' "$4"\n', { mode: 0o755 });
  app = await startTestApp({
    database: db.target,
    clock,
    env: { ...env.env, ALLOW_PRIVATE_HOSTS: 'true', ATTESTATION_PORT: String(fake.port), GPU_EVIDENCE_VERIFIER: verifier, ATTESTATION_TIMEOUT_S: '2' },
  });
  miner = await testKeypair('//servers-miner');
  stranger = await testKeypair('//servers-stranger');
  serverCert = await selfSignedCert('server runtime key');
});

afterAll(async () => {
  await app?.close();
  await fake?.stop();
  await db.drop();
  env?.cleanup();
});

describe('server registry and runtime attestation', () => {
  it('registers a server after checking its fresh evidence, TLS binding and GPUs', async () => {
    const res = await call<{ message: string }>(miner, 'POST', '/servers/', { host: '127.0.0.1', id: 'srv-1', name: 'vm-001', gpus: [gpu('GPU-aaa')] });
    expect([res.status, res.json.code]).toEqual([201, undefined]);
    expect(res.json.message).toMatch(/srv-1/);
    expect(fake.nonces.at(-1)).toMatch(/^[0-9a-f]{64}$/);
    // No VALIDATOR_KEY_FILE here: the fetch goes unsigned (agents that do not check answer it).
    expect(Object.keys(fake.requests.at(-1)!.headers).filter((name) => name.startsWith('x-chutes-'))).toEqual([]);
    const rows: { kind: string; outcome: string; signer: string }[] = await app.app
      .get(DataSource)
      .query(`SELECT kind, outcome, verdict->>'signer' AS signer FROM server_attestations`);
    expect(rows).toEqual([{ kind: 'registration', outcome: 'verified', signer: 'none' }]);
  });

  it("lists and shows only the caller's servers, with ip as well as host", async () => {
    const list = await call<{ items: { server_id: string; host: string; ip: string; gpus: { gpu_identifier: string }[] }[] }>(miner, 'GET', '/servers');
    expect(list.json.items.map((s) => [s.server_id, s.host, s.ip])).toEqual([['srv-1', '127.0.0.1', '127.0.0.1']]);
    expect(list.json.items[0].gpus[0].gpu_identifier).toBe(EXPECTED_GPU);
    expect((await call<{ items: unknown[] }>(stranger, 'GET', '/servers/')).json.items).toEqual([]);
    expect((await call(miner, 'GET', '/servers/srv-1')).json).toMatchObject({
      server_id: 'srv-1',
      name: 'vm-001',
      host: '127.0.0.1',
      ip: '127.0.0.1',
      measurement_version: IMAGE.version,
    });
    expect((await call(stranger, 'GET', '/servers/srv-1')).status).toBe(404);
  });

  it("says verified right after registration: the registration's attestation counts", async () => {
    const status = await call<{ attestation_status: string; last_attestation: Record<string, unknown> }>(miner, 'GET', '/servers/srv-1/attestation/status');
    const [row]: { id: string }[] = await app.app
      .get(DataSource)
      .query(`SELECT id FROM server_attestations WHERE server_id = 'srv-1' AND kind = 'registration'`);
    expect(status.json).toEqual({
      server_id: 'srv-1',
      name: 'vm-001',
      attestation_status: 'verified',
      last_attestation: {
        attestation_id: row.id,
        created_at: clock.now().toISOString(),
        status: 'verified',
        error_code: null,
        measurement_version: IMAGE.version,
      },
    });
  });

  it('registers a server whose body carries unknown fields and whose name is a dotted node name of 253 characters', async () => {
    const name = `node-7.${'a'.repeat(238)}.example`;
    expect(name).toHaveLength(253);
    const body = { host: '127.0.0.1', id: 'srv-long', name, gpus: [{ ...gpu('GPU-long'), future_gpu_field: 1 }], validator: 'x', extra: { nested: true } };
    const res = await call(miner, 'POST', '/servers/', body);
    expect([res.status, res.json.code]).toEqual([201, undefined]);
    const shown = await call<{ name: string; vm_name: string; gpus: Record<string, unknown>[] }>(miner, 'GET', '/servers/srv-long');
    expect([shown.json.name, shown.json.vm_name, shown.json.gpus[0].future_gpu_field]).toEqual([name, name, undefined]);
    for (const bad of [`${name}x`, 'node..7', 'node-7.', '.node-7']) {
      const refused = await call(miner, 'POST', '/servers/', { ...body, id: 'srv-bad', name: bad });
      expect([bad, refused.status, refused.json.code]).toEqual([bad, 422, 'VALIDATION_FAILED']);
    }
    // Removed by its long name (names may be longer than ids).
    const removed = await call(miner, 'DELETE', `/servers/${name}`);
    expect([removed.status, removed.json.server_id]).toEqual([200, 'srv-long']);
  });

  it('renames, refusing a name the caller already uses', async () => {
    expect((await call(miner, 'POST', '/servers', { host: '127.0.0.1', id: 'srv-2', name: 'vm-002', gpus: [gpu('GPU-bbb')] })).status).toBe(201);
    const taken = await call(miner, 'PATCH', '/servers/srv-2?server_name=vm-001');
    expect([taken.status, taken.json.code]).toEqual([409, 'SERVER_NAME_TAKEN']);
    const renamed = await call(miner, 'PATCH', '/servers/srv-2?server_name=vm-two');
    expect([renamed.status, renamed.json.name]).toEqual([200, 'vm-two']);
  });

  it('lists the inventory at GET /miner/servers/ in the Chutes shape, newest first, for v1 (purpose miner) and v2 signatures', async () => {
    // Registered an hour "earlier" under an id that sorts last: only created_at can put it last.
    const now = clock.now();
    clock.set(new Date(now.getTime() - 3600_000));
    expect(
      (await call(miner, 'POST', '/servers', { host: '127.0.0.1', id: 'srv-z', name: 'vm-z', gpus: [gpu('GPU-z1'), { ...gpu('GPU-z0'), device_index: 1 }] }))
        .status,
    ).toBe(201);
    clock.set(now);
    type Inventory = { servers: Record<string, unknown>[] };
    for (const path of ['/miner/servers/', '/miner/servers']) {
      const v1 = await call<Inventory>(miner, 'GET', path, undefined, { signature: 'v1', purpose: 'miner' });
      expect([path, v1.status]).toEqual([path, 200]);
      expect(v1.json.servers.map((server) => server.server_id)).toEqual(['srv-2', 'srv-1', 'srv-z']);
      expect(v1.json.servers[2]).toEqual({
        server_id: 'srv-z',
        name: 'vm-z',
        ip: '127.0.0.1',
        is_tee: true,
        version: IMAGE.version,
        maintenance_pending: false,
        created_at: new Date(now.getTime() - 3600_000).toISOString(),
        updated_at: new Date(now.getTime() - 3600_000).toISOString(),
        gpus: [
          {
            uuid: 'GPU-z1',
            gpu_identifier: EXPECTED_GPU,
            device_index: 0,
            verified_at: new Date(now.getTime() - 3600_000).toISOString(),
            verification_error: null,
          },
          {
            uuid: 'GPU-z0',
            gpu_identifier: EXPECTED_GPU,
            device_index: 1,
            verified_at: new Date(now.getTime() - 3600_000).toISOString(),
            verification_error: null,
          },
        ],
      });
    }
    expect((await call<Inventory>(miner, 'GET', '/miner/servers/')).json.servers).toHaveLength(3);
    expect((await call<Inventory>(stranger, 'GET', '/miner/servers/')).json).toEqual({ servers: [] });
    // The empty-body purpose under /miner is `miner`: a `tee` signature does not verify there.
    const tee = await call(miner, 'GET', '/miner/servers/', undefined, { signature: 'v1', purpose: 'tee' });
    expect([tee.status, tee.json.code]).toEqual([401, 'SIGNATURE_INVALID']);
    expect((await httpRequest(`${app.baseUrl}/miner/servers/`)).status).toBe(401);
    expect((await call(miner, 'DELETE', '/servers/srv-z')).status).toBe(200);
  });

  it.each([
    [
      'a GPU uuid already registered',
      () => ({ host: '127.0.0.1', id: 'srv-x', name: 'vm-x', gpus: [gpu('GPU-aaa')] }),
      undefined,
      409,
      'GPU_ALREADY_REGISTERED',
    ],
    ['an id already registered', () => ({ host: '127.0.0.1', id: 'srv-1', name: 'vm-y', gpus: [gpu('GPU-y')] }), undefined, 409, 'SERVER_EXISTS'],
    [
      'a GPU the set does not expect',
      () => ({ host: '127.0.0.1', id: 'srv-g', name: 'vm-g', gpus: [gpu('GPU-g', 'rtx-4090')] }),
      undefined,
      403,
      'GPU_MISMATCH',
    ],
    [
      'evidence bound to another TLS key',
      () => ({ host: '127.0.0.1', id: 'srv-k', name: 'vm-k', gpus: [gpu('GPU-k')] }),
      'wrong-key',
      401,
      'REPORT_DATA_MISMATCH',
    ],
    [
      'an attestation service answering garbage',
      () => ({ host: '127.0.0.1', id: 'srv-j', name: 'vm-j', gpus: [gpu('GPU-j')] }),
      'garbage',
      502,
      'ATTESTATION_SERVICE_INVALID',
    ],
    [
      'an attestation service that fails',
      () => ({ host: '127.0.0.1', id: 'srv-f', name: 'vm-f', gpus: [gpu('GPU-f')] }),
      'error500',
      502,
      'ATTESTATION_SERVICE_INVALID',
    ],
    [
      'an attestation service that redirects (never followed)',
      () => ({ host: '127.0.0.1', id: 'srv-r', name: 'vm-r', gpus: [gpu('GPU-r')] }),
      'redirect',
      502,
      'ATTESTATION_SERVICE_INVALID',
    ],
    ['an answer over 1 MiB', () => ({ host: '127.0.0.1', id: 'srv-o', name: 'vm-o', gpus: [gpu('GPU-o')] }), 'oversized', 502, 'ATTESTATION_SERVICE_INVALID'],
    ['a bad NodeArgs', () => ({ host: '127.0.0.1', id: 'srv-n', gpus: [{ ...gpu('GPU-n'), device_index: 12 }] }), undefined, 422, 'VALIDATION_FAILED'],
  ] as const)('refuses %s', async (_name, body, mode, status, code) => {
    fake.mode = mode ?? 'ok';
    const res = await call(miner, 'POST', '/servers', body());
    fake.mode = 'ok';
    expect([res.status, res.json.code]).toEqual([status, code]);
  });

  it('refuses GPU evidence the verifier rejects, and debug or wrong-measurement servers', async () => {
    const saved = fake.gpuEvidence;
    for (const evidence of [[{ valid: false }], { valid: true }, 'not json', null]) {
      fake.gpuEvidence = evidence;
      const bad = await call(miner, 'POST', '/servers', { host: '127.0.0.1', id: 'srv-e', name: 'vm-e', gpus: [gpu('GPU-e')] });
      expect([evidence, bad.status, bad.json.code]).toEqual([evidence, 403, 'GPU_EVIDENCE_INVALID']);
    }
    fake.gpuEvidence = saved;
    fake.quoteOptions = { ...runtimeQuote, debug: true };
    const debug = await call(miner, 'POST', '/servers', { host: '127.0.0.1', id: 'srv-d', name: 'vm-d', gpus: [gpu('GPU-d')] });
    fake.quoteOptions = { ...runtimeQuote, rtmrs: { ...runtimeQuote.rtmrs, rtmr3: Buffer.alloc(48, 0x33) } };
    const drift = await call(miner, 'POST', '/servers', { host: '127.0.0.1', id: 'srv-m', name: 'vm-m', gpus: [gpu('GPU-m')] });
    fake.quoteOptions = runtimeQuote;
    expect([debug.status, debug.json.code]).toEqual([403, 'DEBUG_TD']);
    expect([drift.status, drift.json.code]).toEqual([403, 'MEASUREMENT_MISMATCH']);
  });

  it('an unexpected error while storing a registration: 500, nothing stored, exactly one INTERNAL audit row', async () => {
    const dataSource = app.app.get(DataSource);
    // Every check passes; then storing the GPUs fails with a plain SQL error, inside the transaction.
    const res = await whileFailing(dataSource, 'INSERT', 'server_nodes', () =>
      call(miner, 'POST', '/servers', { host: '127.0.0.1', id: 'srv-i', name: 'vm-i', gpus: [gpu('GPU-i')] }),
    );
    expect([res.status, res.json.code]).toEqual([500, 'INTERNAL']);
    const rows: unknown[] = await dataSource.query(`SELECT kind, outcome, error_code, measurement_version FROM server_attestations WHERE server_id = 'srv-i'`);
    expect(rows).toEqual([{ kind: 'registration', outcome: 'failed', error_code: 'INTERNAL', measurement_version: IMAGE.version }]);
    expect(await dataSource.query(`SELECT id FROM servers WHERE id = 'srv-i'`)).toEqual([]);
    expect((await call(miner, 'GET', '/servers/srv-i')).status).toBe(404);
  });

  it('times out a silent attestation service after ATTESTATION_TIMEOUT_S into a clear 502', async () => {
    fake.mode = 'hang';
    const started = Date.now();
    const res = await call<{ message: string }>(miner, 'POST', '/servers', { host: '127.0.0.1', id: 'srv-h', name: 'vm-h', gpus: [gpu('GPU-h')] });
    fake.mode = 'ok';
    expect([res.status, res.json.code]).toEqual([502, 'ATTESTATION_SERVICE_UNREACHABLE']);
    expect(res.json.message).toMatch(/did not answer within 2 s/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });

  it('without VALIDATOR_KEY_FILE, a VM agent that checks validators refuses: 502 ATTESTATION_SERVICE_REFUSED saying so', async () => {
    fake.validatorRule = { allowed: [stranger.address], now: () => clock.now() };
    const res = await call<{ message: string }>(miner, 'POST', '/servers', { host: '127.0.0.1', id: 'srv-v', name: 'vm-v', gpus: [gpu('GPU-v')] });
    fake.validatorRule = undefined;
    expect(fake.requests.at(-1)!.verdict).toBe('missing headers');
    expect([res.status, res.json.code]).toEqual([502, 'ATTESTATION_SERVICE_REFUSED']);
    expect(res.json.message).toMatch(/HTTP 401.*this broker has no VALIDATOR_KEY_FILE/);
  });

  describe('runtime attestation', () => {
    const quoteFor = (nonce: string, cert: TestCert, options = {}) =>
      env.forge
        .quote({ ...runtimeQuote, ...options, reportData: Buffer.concat([Buffer.from(nonce, 'hex'), Buffer.from(cert.spkiSha256, 'hex')]) })
        .toString('base64');
    const runtimeNonce = async (localAddress?: string) =>
      call<{ nonce: string }>(miner, 'GET', '/servers/srv-1/nonce', undefined, { localAddress, clientCert: serverCert });
    const attest = (quote: string, cert = serverCert) =>
      call<{ attestation_id: string; status: string }>(miner, 'POST', '/servers/srv-1/attestation', { quote }, { clientCert: cert });

    it('says never_attested when the server has no attestation row at all (e.g. purged)', async () => {
      const dataSource = app.app.get(DataSource);
      const saved: Record<string, unknown>[] = await dataSource.query(`SELECT * FROM server_attestations WHERE server_id = 'srv-1'`);
      await dataSource.query(`UPDATE server_attestations SET server_id = 'srv-1-aside' WHERE server_id = 'srv-1'`);
      const status = await call(miner, 'GET', '/servers/srv-1/attestation/status');
      await dataSource.query(`UPDATE server_attestations SET server_id = 'srv-1' WHERE server_id = 'srv-1-aside'`);
      expect(saved).toHaveLength(1);
      expect(status.json).toEqual({ server_id: 'srv-1', name: 'vm-001', attestation_status: 'never_attested', last_attestation: null });
    });

    it('issues runtime nonces only to the server itself (403 otherwise)', async () => {
      const elsewhere = await runtimeNonce('127.0.0.2');
      expect([elsewhere.status, elsewhere.json.code]).toEqual([403, 'CALLER_NOT_SERVER']);
      const other = await call(stranger, 'GET', '/servers/srv-1/nonce');
      expect(other.status).toBe(404);
    });

    it('verifies a quote carrying the nonce and the caller key; the status says verified', async () => {
      clock.advance(1); // after the registration's row, so the status shows this attempt
      const issued = await runtimeNonce();
      expect([issued.status, issued.json.code]).toEqual([200, undefined]);
      const { json } = issued;
      const appraise = jest.spyOn(QuoteAppraisalService.prototype, 'appraise');
      const res = await attest(quoteFor(json.nonce, serverCert));
      // The request's hotkey signature proves the miner's hotkey (for rc sets).
      expect(appraise.mock.calls.map(([, , request]) => request.provenHotkey)).toEqual([miner.address]);
      appraise.mockRestore();
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ status: 'verified', attestation_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      const status = await call<{ attestation_status: string; last_attestation: { attestation_id: string } }>(
        miner,
        'GET',
        '/servers/srv-1/attestation/status',
      );
      expect(status.json.attestation_status).toBe('verified');
      expect(status.json.last_attestation.attestation_id).toBe(res.json.attestation_id);
    });

    it.each([
      [
        'a replayed nonce',
        async () => {
          const { json } = await runtimeNonce();
          await attest(quoteFor(json.nonce, serverCert));
          clock.advance(1);
          return attest(quoteFor(json.nonce, serverCert));
        },
        401,
        'NONCE_INVALID',
      ],
      ['a nonce never issued', async () => attest(quoteFor('ab'.repeat(32), serverCert)), 401, 'NONCE_INVALID'],
      [
        'a quote bound to another key',
        async () => {
          const { json } = await runtimeNonce();
          return attest(quoteFor(json.nonce, serverCert), await selfSignedCert('intruder'));
        },
        401,
        'REPORT_DATA_MISMATCH',
      ],
      [
        'boot-only measurements (RTMR3 differs)',
        async () => {
          const { json } = await runtimeNonce();
          return attest(quoteFor(json.nonce, serverCert, { rtmrs: { ...runtimeQuote.rtmrs, rtmr3: Buffer.alloc(48, 7) } }));
        },
        403,
        'MEASUREMENT_MISMATCH',
      ],
      ['a malformed quote', async () => attest('%%%'), 400, 'QUOTE_MALFORMED'],
    ] as const)('refuses %s, and the status says failed', async (_name, attempt, status, code) => {
      clock.advance(1);
      const res = await attempt();
      expect([res.status, res.json.code]).toEqual([status, code]);
      const after = await call<{ attestation_status: string; last_attestation: { error_code: string } }>(miner, 'GET', '/servers/srv-1/attestation/status');
      expect([after.json.attestation_status, after.json.last_attestation.error_code]).toEqual(['failed', code]);
    });

    it('an unexpected error mid-attempt: 500, no attestation id, exactly one INTERNAL audit row; the status says failed', async () => {
      clock.advance(1);
      const dataSource = app.app.get(DataSource);
      const runtimeRows = async (): Promise<{ outcome: string; error_code: string | null }[]> =>
        dataSource.query(
          `SELECT outcome, error_code FROM server_attestations WHERE server_id = 'srv-1' AND kind = 'runtime' ORDER BY created_at DESC, id DESC`,
        );
      const before = (await runtimeRows()).length;
      const { json } = await runtimeNonce();
      // The quote is good; consuming its nonce fails with a plain SQL error.
      const res = await whileFailing(dataSource, 'DELETE', 'nonces', () => attest(quoteFor(json.nonce, serverCert)));
      expect([res.status, res.json.code, res.json.attestation_id]).toEqual([500, 'INTERNAL', undefined]);
      const after = await runtimeRows();
      expect(after).toHaveLength(before + 1);
      expect(after[0]).toEqual({ outcome: 'failed', error_code: 'INTERNAL' });
      const status = await call<{ attestation_status: string; last_attestation: { error_code: string } }>(miner, 'GET', '/servers/srv-1/attestation/status');
      expect([status.json.attestation_status, status.json.last_attestation.error_code]).toEqual(['failed', 'INTERNAL']);
    });
  });

  it("refuses unsigned requests and answers 404 for another miner's server", async () => {
    expect((await httpRequest<{ code: string }>(`${app.baseUrl}/servers`)).status).toBe(401);
    expect((await call(stranger, 'DELETE', '/servers/srv-1')).status).toBe(404);
  });

  it("deletes a server by name and keeps its VM's volume keys (DELETE never destroys them unless asked)", async () => {
    const vm = await TestVm.create(app.baseUrl, env.forge, miner.address, 'vm-001');
    const boot = await vm.boot();
    const keys = await vm.sync(boot.json.boot_token, ['storage', 'tdx-cache'], ['storage', 'tdx-cache']);
    expect(keys.status).toBe(200);
    const res = await call<{ destroyed_volumes: string[]; server_id: string }>(miner, 'DELETE', '/servers/vm-001');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ server_id: 'srv-1', vm_name: 'vm-001', keys_kept: true, destroyed_volumes: [] });
    const left: { state: string }[] = await app.app.get(DataSource).query(`SELECT state FROM luks_volumes WHERE vm_name = 'vm-001'`);
    expect(left.map((row) => row.state)).toEqual(['current', 'current']);
    expect(await app.app.get(DataSource).query(`SELECT kind FROM key_release_events WHERE kind IN ('shred', 'destroy') AND vm_name = 'vm-001'`)).toEqual([]);
    const again = await vm.boot();
    expect((await vm.sync(again.json.boot_token, ['storage', 'tdx-cache'])).json).toEqual(keys.json);
    expect((await call(miner, 'GET', '/servers/srv-1')).status).toBe(404);
  });
});
