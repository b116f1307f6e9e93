/**
 * Load shedding (issue 16): with MAX_INFLIGHT requests in flight the next one is answered 503
 * OVERLOADED with Retry-After before any work (its body is never read, so a malformed one is
 * not even a 422), while /healthz, /readyz and /metrics keep answering. A slot is freed when
 * its answer is sent or its client hangs up. New boots (GET /servers/nonce) are refused from 3/4
 * of the slots, and Retry-After grows with the clients refused lately. A test-only route that
 * waits for a gate stands in for a slow request path (a slow database, a slow handler).
 */
import * as http from 'node:http';
import { Controller, Get, Module } from '@nestjs/common';
import { ApiDoc } from '../../src/openapi/api-doc.decorator';
import { startTestApp, TestApp } from '../support/app';
import { testDatabase } from '../support/database';
import { httpRequest } from '../support/http';

/** Requests to /_slow wait here until the test opens the gate. */
let gate: { promise: Promise<void>; open: () => void };
let waiting = 0;
function closeGate(): void {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  gate = { promise, open };
}

@Controller('_slow')
class SlowController {
  @Get()
  @ApiDoc({ summary: 'test: waits for the test to open a gate', tag: 'test', auth: 'none' })
  async hold(): Promise<{ ok: true }> {
    waiting++;
    try {
      await gate.promise;
    } finally {
      waiting--;
    }
    return { ok: true };
  }
}

@Module({ controllers: [SlowController] })
class SlowModule {}

const db = testDatabase('load_shedding');
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ database: db.target, env: { MAX_INFLIGHT: '4', RATE_LIMIT_ANON_PER_MIN: '0' }, extraModules: [SlowModule] });
});

afterAll(async () => {
  gate?.open();
  await app?.close();
  await db.drop();
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A request to the slow path on its own connection; `abort` hangs up before the answer. */
function holdSlot(): { done: Promise<number>; abort: () => void } {
  const req = http.get(`${app.baseUrl}/_slow`, { agent: false });
  const done = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve(0) : reject(error)));
  });
  return { done, abort: () => req.destroy() };
}

async function metric(name: string): Promise<number> {
  const res = await httpRequest(`${app.baseUrl}/metrics`);
  const line = res.text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

/** Waits until the shedding episodes of earlier tests no longer count (two quiet windows). */
const backlogForgotten = () => new Promise((resolve) => setTimeout(resolve, 2100));

describe('MAX_INFLIGHT=4 with three slow requests in flight (3/4 of the slots)', () => {
  let held: ReturnType<typeof holdSlot>[];

  beforeAll(async () => {
    closeGate();
    held = [holdSlot(), holdSlot(), holdSlot()];
    await waitUntil(() => waiting === 3);
  });

  afterAll(async () => {
    gate.open();
    await Promise.all(held.map((h) => h.done));
    await waitUntil(() => waiting === 0);
    await backlogForgotten();
  });

  it('refuses a new boot (GET /servers/nonce) but admits other work into the last slot', async () => {
    const nonce = await httpRequest<{ code: string }>(`${app.baseUrl}/servers/nonce`);
    expect([nonce.status, nonce.json.code, nonce.headers['retry-after']]).toEqual([503, 'OVERLOADED', '1']);
    // The fourth slot is still there for a boot under way: this one is admitted and judged (422).
    const attest = await httpRequest<{ code: string }>(`${app.baseUrl}/servers/boot/attestation`, { headers: { 'x-chutes-nonce': 'zz' }, body: { quote: 42 } });
    expect(attest.status).toBe(422);
    const fourth = holdSlot();
    held.push(fourth);
    await waitUntil(() => waiting === 4);
    const fifth = await httpRequest<{ code: string }>(`${app.baseUrl}/servers/boot/attestation`, { headers: { 'x-chutes-nonce': 'zz' }, body: { quote: 42 } });
    expect([fifth.status, fifth.json.code]).toEqual([503, 'OVERLOADED']);
  });
});

describe('MAX_INFLIGHT=4 with four slow requests in flight', () => {
  let held: ReturnType<typeof holdSlot>[];

  beforeAll(async () => {
    closeGate();
    held = [holdSlot(), holdSlot(), holdSlot(), holdSlot()];
    await waitUntil(() => waiting === 4);
  });

  it('answers a third request 503 OVERLOADED with Retry-After, in the error contract', async () => {
    const res = await httpRequest<{ code: string }>(`${app.baseUrl}/servers/nonce`);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'the broker is at capacity; retry in 1 s', code: 'OVERLOADED' });
  });

  it('refuses before any work: a malformed body is not even read (503, not 422)', async () => {
    const res = await httpRequest<{ code: string }>(`${app.baseUrl}/servers/boot/attestation`, { headers: { 'x-chutes-nonce': 'zz' }, body: { quote: 42 } });
    expect([res.status, res.json.code]).toEqual([503, 'OVERLOADED']);
    const unknown = await httpRequest<{ code: string }>(`${app.baseUrl}/no/such/route`);
    expect([unknown.status, unknown.json.code]).toEqual([503, 'OVERLOADED']);
  });

  it('still answers /healthz, /readyz and /metrics', async () => {
    expect((await httpRequest(`${app.baseUrl}/healthz`)).status).toBe(200);
    expect((await httpRequest(`${app.baseUrl}/readyz`)).status).toBe(200);
    expect((await httpRequest(`${app.baseUrl}/healthz/`)).status).toBe(200);
    expect(await metric('bootkey_requests_in_flight')).toBe(4);
    expect(await metric('bootkey_requests_shed_total')).toBe(5);
  });

  it('Retry-After grows with the clients refused lately (none completed meanwhile), within 1..60 s', async () => {
    const seen: number[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await httpRequest<{ message: string }>(`${app.baseUrl}/servers/nonce`);
      expect(res.status).toBe(503);
      const seconds = Number(res.headers['retry-after']);
      expect(res.json.message).toBe(`the broker is at capacity; retry in ${seconds} s`);
      seen.push(seconds);
    }
    // One more second per MAX_INFLIGHT (or per best completions/s, if higher) ÷ 3 refused clients.
    expect(Math.max(...seen)).toBeGreaterThan(seen[0]);
    expect(seen.every((seconds) => seconds >= 1 && seconds <= 60)).toBe(true);
  });

  it('admits requests again once the slow ones are answered', async () => {
    gate.open();
    expect(await Promise.all(held.map((h) => h.done))).toEqual([200, 200, 200, 200]);
    await waitUntil(() => waiting === 0);
    const res = await httpRequest(`${app.baseUrl}/servers/nonce`);
    expect(res.status).toBe(200);
  });
});

describe('a client that hangs up', () => {
  it('frees its slot', async () => {
    closeGate();
    const first = holdSlot();
    const others = [holdSlot(), holdSlot(), holdSlot()];
    await waitUntil(() => waiting === 4);
    expect((await httpRequest(`${app.baseUrl}/servers/nonce`)).status).toBe(503);
    first.abort();
    await first.done;
    // The handler still waits at the gate, but the connection is gone: the slot is free (a
    // malformed attestation is admitted and judged, 422; a new boot still waits for 3/4).
    let status = 0;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      status = (await httpRequest(`${app.baseUrl}/servers/boot/attestation`, { headers: { 'x-chutes-nonce': 'zz' }, body: { quote: 42 } })).status;
      if (status === 422) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status).toBe(422);
    expect((await httpRequest(`${app.baseUrl}/servers/nonce`)).status).toBe(503);
    gate.open();
    expect(await Promise.all(others.map((h) => h.done))).toEqual([200, 200, 200]);
  });
});

describe('the OpenAPI document', () => {
  it('lists 503 OVERLOADED with Retry-After on shed routes, and not on health, readiness or metrics', async () => {
    type Op = { responses: Record<string, { description: string; headers?: Record<string, unknown> }> };
    const doc = await httpRequest<{ paths: Record<string, Record<string, Op>> }>(`${app.baseUrl}/openapi.json`);
    const attest = doc.json.paths['/servers/boot/attestation'].post.responses['503'];
    expect(attest.description).toContain('OVERLOADED');
    expect(attest.headers).toHaveProperty('Retry-After');
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect(doc.json.paths[path].get.responses['503']?.description ?? '').not.toContain('OVERLOADED');
    }
  });
});
