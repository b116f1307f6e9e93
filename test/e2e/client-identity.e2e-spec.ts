/**
 * Client identity through real TLS: the key hash comes from the client certificate of the
 * handshake; X-Client-Cert and X-Forwarded-For count only from a TRUST_PROXY peer.
 */
import { httpRequest } from '../support/http';
import { startTestApp, TestApp } from '../support/app';
import { testDatabase } from '../support/database';
import { ProbeModule } from '../support/probe.module';
import { selfSignedCert, serverCertFiles, TestCert } from '../support/tls';

type Identity = { ip: string; key_hash: string | null };

const dbTls = testDatabase('identity_tls');
const dbProxy = testDatabase('identity_proxy');
let tlsApp: TestApp;
let proxiedApp: TestApp;
let client: TestCert;
let other: TestCert;

beforeAll(async () => {
  const files = await serverCertFiles();
  client = await selfSignedCert('vm-001 ephemeral');
  other = await selfSignedCert('someone else');
  tlsApp = await startTestApp({
    database: dbTls.target,
    env: { TLS_CERT_FILE: files.certFile, TLS_KEY_FILE: files.keyFile },
    extraModules: [ProbeModule],
  });
  // Behind a TLS-terminating proxy at 127.0.0.1 that may present a client certificate of its own.
  proxiedApp = await startTestApp({
    database: dbProxy.target,
    env: { TLS_CERT_FILE: files.certFile, TLS_KEY_FILE: files.keyFile, TRUST_PROXY: '127.0.0.1' },
    extraModules: [ProbeModule],
  });
});

afterAll(async () => {
  await tlsApp?.close();
  await proxiedApp?.close();
  await dbTls.drop();
  await dbProxy.drop();
});

const probe = { name: 'probe', tag: 'abcd' };

describe('client identity over real TLS', () => {
  it('hashes the SPKI of the client certificate presented in the handshake', async () => {
    const res = await httpRequest<Identity>(`${tlsApp.baseUrl}/_probe/identity`, { body: probe, clientCert: client });
    expect(res.status).toBe(201);
    expect(res.json.key_hash).toBe(client.spkiSha256);
    expect(res.json.ip).toBe('127.0.0.1');
  });

  it('asks for but does not require a client certificate', async () => {
    const res = await httpRequest<Identity>(`${tlsApp.baseUrl}/_probe/identity`, { body: probe });
    expect(res.status).toBe(201);
    expect(res.json.key_hash).toBeNull();
    const nonce = await httpRequest<{ nonce: string }>(`${tlsApp.baseUrl}/servers/nonce`);
    expect(nonce.json.nonce).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores X-Client-Cert and X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const headers = { 'x-client-cert': encodeURIComponent(other.certPem), 'x-forwarded-for': '203.0.113.50' };
    const withCert = await httpRequest<Identity>(`${tlsApp.baseUrl}/_probe/identity`, { body: probe, clientCert: client, headers });
    expect(withCert.json).toMatchObject({ key_hash: client.spkiSha256, ip: '127.0.0.1' });
    const withoutCert = await httpRequest<Identity>(`${tlsApp.baseUrl}/_probe/identity`, { body: probe, headers });
    expect(withoutCert.json).toMatchObject({ key_hash: null, ip: '127.0.0.1' });
  });

  it('believes X-Client-Cert (URL-encoded PEM) and X-Forwarded-For from a trusted proxy', async () => {
    const res = await httpRequest<Identity>(`${proxiedApp.baseUrl}/_probe/identity`, {
      body: probe,
      headers: { 'x-client-cert': encodeURIComponent(other.certPem), 'x-forwarded-for': '203.0.113.50' },
    });
    expect(res.json).toEqual({ ip: '203.0.113.50', key_hash: other.spkiSha256, name: 'probe' });
  });

  it("prefers X-Client-Cert over the trusted proxy's own client certificate, and never counts the proxy's as the client's", async () => {
    const proxyCert = client;
    const forwarded = await httpRequest<Identity>(`${proxiedApp.baseUrl}/_probe/identity`, {
      body: probe,
      clientCert: proxyCert,
      headers: { 'x-client-cert': encodeURIComponent(other.certPem), 'x-forwarded-for': '203.0.113.50:40123' },
    });
    expect(forwarded.json).toEqual({ ip: '203.0.113.50', key_hash: other.spkiSha256, name: 'probe' });
    const none = await httpRequest<Identity>(`${proxiedApp.baseUrl}/_probe/identity`, {
      body: probe,
      clientCert: proxyCert,
      headers: { 'x-forwarded-for': '[2001:db8::5]:443' },
    });
    expect(none.json).toEqual({ ip: '2001:db8::5', key_hash: null, name: 'probe' });
  });

  it('trusts only the listed proxy address: from 127.0.0.2 the headers are ignored and the handshake counts', async () => {
    const res = await httpRequest<Identity>(`${proxiedApp.baseUrl}/_probe/identity`, {
      body: probe,
      clientCert: client,
      localAddress: '127.0.0.2',
      headers: { 'x-client-cert': encodeURIComponent(other.certPem), 'x-forwarded-for': '203.0.113.50' },
    });
    expect(res.json).toEqual({ ip: '127.0.0.2', key_hash: client.spkiSha256, name: 'probe' });
  });
});
