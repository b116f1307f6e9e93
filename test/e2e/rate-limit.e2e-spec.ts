/** Anonymous endpoints are limited per client IP (RATE_LIMIT_ANON_PER_MIN), with Retry-After. */
import { httpRequest } from '../support/http';
import { startTestApp, TestApp } from '../support/app';
import { testDatabase } from '../support/database';

const db = testDatabase('rate_limit');
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ database: db.target, env: { RATE_LIMIT_ANON_PER_MIN: '3' } });
});

afterAll(async () => {
  await app?.close();
  await db.drop();
});

it('answers 429 with Retry-After past the limit, per client IP, across anonymous routes', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await httpRequest(`${app.baseUrl}/servers/nonce`)).status);
  const parse = await httpRequest<{ code: string }>(`${app.baseUrl}/attestation/quote/parse`, { body: { quote: 'AAAA' } });
  expect(statuses).toEqual([200, 200, 200]);
  expect([parse.status, parse.json.code]).toEqual([429, 'RATE_LIMITED']);
  const limited = await httpRequest<{ code: string }>(`${app.baseUrl}/servers/nonce`);
  expect(limited.status).toBe(429);
  const retryAfter = Number(limited.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  // Another client address has its own budget; operations endpoints are not limited.
  expect((await httpRequest(`${app.baseUrl}/servers/nonce`, { localAddress: '127.0.0.3' })).status).toBe(200);
  expect((await httpRequest(`${app.baseUrl}/healthz`)).status).toBe(200);
  const metrics = await httpRequest(`${app.baseUrl}/metrics`);
  expect(metrics.text).toMatch(/bootkey_http_requests_total\{method="GET",route="\/servers\/nonce",status="429"\} 1/);
});
