/** The HTTP surface every later feature relies on: errors, validation, limits, ops, OpenAPI. */
import { httpRequest } from '../support/http';
import { startTestApp, TestApp } from '../support/app';
import { testDatabase } from '../support/database';
import { ProbeModule } from '../support/probe.module';

const db = testDatabase('foundation');
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ database: db.target, extraModules: [ProbeModule] });
});

afterAll(async () => {
  await app?.close();
  await db.drop();
});

describe('foundation over HTTP', () => {
  it('issues boot nonces: 64 lowercase hex, ISO expiry ~10 min ahead, same route with a trailing slash', async () => {
    for (const path of ['/servers/nonce', '/servers/nonce/']) {
      const res = await httpRequest<{ nonce: string; expires_at: string }>(`${app.baseUrl}${path}`);
      expect(res.status).toBe(200);
      expect(res.json.nonce).toMatch(/^[0-9a-f]{64}$/);
      const ttl = (Date.parse(res.json.expires_at) - Date.now()) / 1000;
      expect(ttl).toBeGreaterThan(590);
      expect(ttl).toBeLessThanOrEqual(600);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('answers an unknown route with a JSON 404', async () => {
    const res = await httpRequest(`${app.baseUrl}/no/such/route`);
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ statusCode: 404, error: 'Not Found', message: 'route not found', code: 'NOT_FOUND' });
  });

  it('answers invalid bodies with 422 naming the fields, never echoing the values', async () => {
    const res = await httpRequest<{ code: string; message: string; statusCode: number }>(`${app.baseUrl}/_probe/identity`, {
      body: { name: 'x'.repeat(17), tag: 'SECRETVALUE', extra: 1 },
    });
    expect(res.status).toBe(422);
    expect(res.json.code).toBe('VALIDATION_FAILED');
    expect(res.json.message).toMatch(/name/);
    expect(res.json.message).toMatch(/tag/);
    // Unknown fields are ignored, never named as a fault (newer clients add fields).
    expect(res.json.message).not.toMatch(/extra/);
    expect(res.text).not.toContain('SECRETVALUE');
  });

  it('ignores unknown body fields, while wrong types and missing fields stay 422', async () => {
    const extra = await httpRequest<{ name: string; extra?: unknown }>(`${app.baseUrl}/_probe/identity`, {
      body: { name: 'probe', tag: 'abcd', first_boot: true, nested: { a: [1, 2] } },
    });
    expect([extra.status, extra.json.name]).toEqual([201, 'probe']);
    for (const body of [
      { name: 5, tag: 'abcd', extra: 1 },
      { tag: 'abcd', extra: 1 },
      { name: 'probe', tag: 'ABCD', extra: 1 },
    ]) {
      const res = await httpRequest<{ code: string; message: string }>(`${app.baseUrl}/_probe/identity`, { body });
      expect([JSON.stringify(body), res.status, res.json.code]).toEqual([JSON.stringify(body), 422, 'VALIDATION_FAILED']);
    }
  });

  it('refuses bodies over 64 KiB with 413 and malformed JSON with 400', async () => {
    const big = await httpRequest<{ code: string }>(`${app.baseUrl}/_probe/identity`, { rawBody: `{"name":"${'a'.repeat(70 * 1024)}"}` });
    expect(big.status).toBe(413);
    expect(big.json.code).toBe('BODY_TOO_LARGE');
    const bad = await httpRequest<{ code: string; statusCode: number }>(`${app.baseUrl}/_probe/identity`, { rawBody: '{"name": ' });
    expect(bad.status).toBe(400);
    expect(bad.json.statusCode).toBe(400);
    expect(Object.keys(bad.json).sort()).toEqual(['code', 'error', 'message', 'statusCode']);
  });

  it('refuses JSON nested deeper than 32 levels with 422 before validation (arrays count), on every JSON route', async () => {
    const deep = (depth: number, open: string, close: string) => `{"name":"probe","tag":"abcd","x":${open.repeat(depth - 1)}1${close.repeat(depth - 1)}}`;
    for (const [label, body] of [
      ['20,000 arrays', deep(20_000, '[', ']')],
      ['10,000 objects (as deep as fits in 64 KiB)', deep(10_000, '{"a":', '}')],
      ['33 levels', deep(33, '[', ']')],
    ]) {
      for (const path of ['/_probe/identity', '/servers/boot/attestation']) {
        const res = await httpRequest<{ code: string; message: string; statusCode: number }>(`${app.baseUrl}${path}`, {
          rawBody: body,
          headers: { 'x-chutes-nonce': '00'.repeat(32) },
        });
        expect([label, path, res.status, res.json.code, res.json.message]).toEqual([
          label,
          path,
          422,
          'VALIDATION_FAILED',
          'JSON nested deeper than 32 levels',
        ]);
      }
    }
    // 32 levels is allowed through to validation (which ignores the unknown field); brackets in strings do not count.
    const atLimit = await httpRequest<{ name: string }>(`${app.baseUrl}/_probe/identity`, { rawBody: deep(32, '[', ']') });
    expect([atLimit.status, atLimit.json.name]).toEqual([201, 'probe']);
    const inString = await httpRequest<{ name: string }>(`${app.baseUrl}/_probe/identity`, { body: { name: '[[[[', tag: 'abcd' }, headers: {} });
    expect(inString.status).toBe(201);
  });

  it('serves liveness, readiness with a database round-trip, and Prometheus metrics', async () => {
    expect((await httpRequest(`${app.baseUrl}/healthz`)).json).toEqual({ status: 'ok' });
    expect((await httpRequest(`${app.baseUrl}/readyz`)).json).toEqual({ status: 'ok', trust_anchor: { overridden: false } });
    const metrics = await httpRequest(`${app.baseUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(/bootkey_http_requests_total\{method="GET",route="\/servers\/nonce",status="200"\} [1-9]/);
    expect(metrics.text).toContain('bootkey_quote_verification_seconds_bucket');
    expect(metrics.text).toMatch(/^bootkey_dcap_root_ca_overridden 0$/m);
  });

  it('documents every registered route in /openapi.json', async () => {
    const res = await httpRequest<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(`${app.baseUrl}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe('3.1.0');
    const registered = app.routes
      .filter((route) => route.method !== 'HEAD' && route.method !== 'OPTIONS')
      .map((route) => `${route.method.toLowerCase()} ${route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
    expect(registered.length).toBeGreaterThanOrEqual(5);
    const documented = Object.entries(res.json.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`));
    for (const route of registered) expect(documented).toContain(route);
    // Every operation states who may call it, and says what the guards enforce.
    const security = (path: string, method: string) => (res.json.paths[path][method] as { security: unknown }).security;
    for (const [path, methods] of Object.entries(res.json.paths))
      for (const method of Object.keys(methods)) expect([path, method, security(path, method)]).toEqual([path, method, expect.any(Array)]);
    expect(security('/servers', 'get')).toEqual([{ hotkeySignature: [] }]);
    expect(security('/servers/boot/attestation', 'post')).toEqual([]);
    expect(security('/servers/{vm_name}/luks', 'post')).toEqual([{ bootToken: [] }]);
    expect(JSON.stringify(res.json.paths['/readyz'].get)).toMatch(/"trust_anchor".*"overridden"/);
    const probe = res.json.paths['/_probe/identity'].post as { requestBody: { content: Record<string, { schema: { required: string[] } }> } };
    expect(probe.requestBody.content['application/json'].schema.required.sort()).toEqual(['name', 'tag']);
  });
});
