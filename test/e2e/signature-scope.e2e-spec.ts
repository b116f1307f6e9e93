/**
 * The scope of hotkey signatures on the real server and admin routes (issues 12 and 14): the
 * Chutes (v1) message names no method or path, so a captured signature must not change what it
 * was not made for, while the real miner tools' habit of looping over servers with one header
 * set keeps working; admin routes take only bootkey's v2 message, which names the request.
 */
import { ManualClock } from '../../src/common/clock/clock';
import { startTestApp, TestApp } from '../support/app';
import { BOOT_NOW, BootEnv, createBootEnv, EXPECTED_GPU, IMAGE } from '../support/boot-env';
import { testDatabase } from '../support/database';
import { FakeAttestationService } from '../support/fake-attestation-service';
import { KeyringPair, randomKeypair, signedHeaders, testKeypair, unixSeconds } from '../support/hotkey';
import { httpRequest, HttpOptions, HttpResult } from '../support/http';
import { signedRequest } from '../support/signed';
import { selfSignedCert } from '../support/tls';

const db = testDatabase('signature_scope');
const clock = new ManualClock(BOOT_NOW);
let env: BootEnv;
let app: TestApp;
let fake: FakeAttestationService;
let miner: KeyringPair;
let admin: KeyringPair;

type Json = Record<string, unknown> & { code?: string };

const reg = (hex: string) => Buffer.from(hex, 'hex');

function gpu(uuid: string) {
  return {
    uuid,
    name: 'H100',
    memory: 80 * 1024 ** 3,
    clock_rate: 1980,
    device_index: 0,
    gpu_identifier: EXPECTED_GPU,
    verification_host: '127.0.0.1',
    verification_port: 8443,
  };
}

/** A request sent with exactly these (already signed) headers, as a replaying attacker or a looping tool would. */
function sendWith(
  headers: Record<string, string>,
  method: string,
  route: string,
  options: Omit<HttpOptions, 'method' | 'headers'> = {},
): Promise<HttpResult<Json>> {
  return httpRequest<Json>(`${app.baseUrl}${route}`, { ...options, method, headers });
}

/** Fresh v1 headers for a request without a body (the Chutes message, purpose `tee`). */
function v1(pair: KeyringPair): Record<string, string> {
  return signedHeaders(pair, undefined, unixSeconds(clock.now()));
}

/** A v2-signed request (what the bootkey CLI sends). */
function call(pair: KeyringPair, method: string, route: string, body?: unknown): Promise<HttpResult<Json>> {
  return signedRequest<Json>(pair, clock.now(), method, `${app.baseUrl}${route}`, body);
}

async function serverIds(): Promise<string[]> {
  const list = await call(miner, 'GET', '/servers');
  return (list.json.items as { server_id: string }[]).map((server) => server.server_id).sort();
}

beforeAll(async () => {
  env = await createBootEnv();
  fake = await new FakeAttestationService(env.forge).start();
  fake.quoteOptions = { mrtd: reg(IMAGE.mrtd), rtmrs: { rtmr0: reg(IMAGE.rtmr0), rtmr1: reg(IMAGE.rtmr1), rtmr2: reg(IMAGE.rtmr2), rtmr3: reg(IMAGE.rtmr3) } };
  miner = await testKeypair('//signature-scope-miner');
  admin = await randomKeypair();
  app = await startTestApp({
    database: db.target,
    clock,
    env: { ...env.env, ADMIN_HOTKEYS: admin.address, ALLOW_PRIVATE_HOSTS: 'true', ATTESTATION_PORT: String(fake.port), GPU_EVIDENCE: 'skip' },
  });
  for (const id of ['srv-a', 'srv-b', 'srv-c']) {
    // Registered with the Chutes message over the body, as chutes-miner does.
    const body = { host: '127.0.0.1', id, name: `vm-${id}`, gpus: [gpu(`GPU-${id}`)] };
    const res = await signedRequest<Json>(miner, clock.now(), 'POST', `${app.baseUrl}/servers/`, body, { signature: 'v1' });
    expect([id, res.status, res.json.code]).toEqual([id, 201, undefined]);
  }
});

afterAll(async () => {
  await app?.close();
  await fake?.stop();
  await db.drop();
  env?.cleanup();
});

describe('signature scope on the server and admin routes', () => {
  it('a GET /servers signature presented as DELETE /servers/{name} is 401 SIGNATURE_SCOPE, and the server stays', async () => {
    const headers = v1(miner);
    expect((await sendWith(headers, 'GET', '/servers/')).status).toBe(200);
    const removed = await sendWith(headers, 'DELETE', '/servers/vm-srv-a');
    expect([removed.status, removed.json.code]).toEqual([401, 'SIGNATURE_SCOPE']);
    expect(await serverIds()).toEqual(['srv-a', 'srv-b', 'srv-c']);
  });

  it("an admin's v1 signature (the Chutes message) opens no admin route: a measurement set is not retired", async () => {
    const headers = v1(admin);
    const retire = await sendWith(headers, 'DELETE', `/admin/measurements/${IMAGE.version}`);
    expect([retire.status, retire.json.code]).toEqual([401, 'SIGNATURE_SCOPE']);
    const audit = await sendWith(headers, 'GET', '/admin/attestations');
    expect([audit.status, audit.json.code]).toEqual([401, 'SIGNATURE_SCOPE']);
    const set = await call(admin, 'GET', `/admin/measurements/${IMAGE.version}`);
    expect(set.status).toBe(200);
    expect(set.text).not.toMatch(/"retired_at":"/);
  });

  it('a v2 signature for GET /servers/{id} does not work as DELETE of that server', async () => {
    const url = `/servers/srv-c`;
    const headers = signedHeaders(miner, undefined, unixSeconds(clock.now()), { v2: { method: 'GET', path: url } });
    const removed = await sendWith(headers, 'DELETE', url);
    expect([removed.status, removed.json.code]).toEqual([401, 'SIGNATURE_INVALID']);
    expect((await sendWith(headers, 'GET', url)).json).toMatchObject({ server_id: 'srv-c' });
  });

  it('takes `${hotkey}:${ts}:tee` on POST /servers/{id}/attestation, as the real clients sign it, and on no other body-carrying route', async () => {
    const cert = await selfSignedCert('runtime key');
    const attest = await sendWith(v1(miner), 'POST', '/servers/srv-c/attestation', { rawBody: JSON.stringify({ quote: '%%%' }), clientCert: cert });
    // Past authentication: the quote itself is what is refused.
    expect([attest.status, attest.json.code]).toEqual([400, 'QUOTE_MALFORMED']);
    const register = await sendWith(v1(miner), 'POST', '/servers/', { rawBody: JSON.stringify({ host: '127.0.0.1', id: 'srv-t', gpus: [gpu('GPU-t')] }) });
    expect([register.status, register.json.code]).toEqual([401, 'SIGNATURE_INVALID']);
  });

  it('one v1 header set renames two servers, then another removes two, as chutes-miner and scorch-remote loop; each path once', async () => {
    const rename = v1(miner);
    for (const id of ['srv-a', 'srv-b']) {
      const res = await sendWith(rename, 'PATCH', `/servers/${id}?server_name=renamed-${id}`);
      expect([id, res.status, res.json.name]).toEqual([id, 200, `renamed-${id}`]);
    }
    const again = await sendWith(rename, 'PATCH', '/servers/srv-a?server_name=renamed-srv-a');
    expect([again.status, again.json.code]).toEqual([401, 'SIGNATURE_REPLAYED']);

    const remove = v1(miner);
    for (const name of ['renamed-srv-a', 'renamed-srv-b']) {
      const res = await sendWith(remove, 'DELETE', `/servers/${name}`);
      expect([name, res.status]).toEqual([name, 200]);
    }
    expect(await serverIds()).toEqual(['srv-c']);
  });
});
