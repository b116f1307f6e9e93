import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { cryptoWaitReady, signatureVerify } from '@polkadot/util-crypto';
import { isWithinWindow, parseSignatureHeaders, signedMessage, signedMessageV2 } from '../auth/signed-request';
import { serverCertFiles } from '../../test/support/tls';
import { BrokerClient, signingMessage } from './client';
import { BrokerRefusedError, BrokerUnreachableError } from './errors';
import { loadSigner, Signer } from './wallet';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

type Responder = (seen: Seen, res: http.ServerResponse) => void;

let signer: Signer;
let server: http.Server;
let baseUrl: string;
let seen: Seen[] = [];
let respond: Responder;

function listen(target: http.Server): Promise<string> {
  return new Promise((resolve) => target.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(target.address() as AddressInfo).port}`)));
}

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
    seen.push(entry);
    respond(entry, res);
  });
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function client(options: Partial<ConstructorParameters<typeof BrokerClient>[0]> = {}): BrokerClient {
  return new BrokerClient({ baseUrl, timeoutMs: 5000, signer: () => Promise.resolve(signer), ...options });
}

beforeAll(async () => {
  await cryptoWaitReady();
  signer = await loadSigner({}, { BOOTKEY_HOTKEY_SEED: '42'.repeat(32) });
  server = http.createServer(handler);
  baseUrl = `http://${await listen(server)}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

beforeEach(() => {
  seen = [];
  respond = (_seen, res) => json(res, 200, { ok: true });
});

/**
 * The server's own check of a request: its header parser, its v2 message builder (with the
 * path the broker's router sees, below `prefix`, and this broker's origin), sr25519 verification.
 */
function serverAccepts(request: Seen, prefix = '', audience = new URL(baseUrl).origin): boolean {
  const headers = parseSignatureHeaders(request.headers);
  const pathWithQuery = request.url.startsWith(prefix) ? request.url.slice(prefix.length) : request.url;
  const message = signedMessageV2({ hotkey: headers.hotkey, nonce: headers.nonce, method: request.method, pathWithQuery, audience, rawBody: request.body });
  return (
    headers.version === 2 &&
    headers.hotkey === signer.address &&
    isWithinWindow(headers.nonceSeconds, new Date(), 5) &&
    signatureVerify(message, headers.signature, headers.hotkey).isValid
  );
}

describe('signing', () => {
  const target = { method: 'POST', pathWithQuery: '/servers/?x=1', audience: 'https://keys.example.com' };
  it.each([
    ['no body', undefined],
    ['an empty body', new Uint8Array(0)],
    ['a JSON body', Buffer.from('{"host":"h","id":"1"}')],
    ['non-ASCII', Buffer.from('{"name":"ünïcode ✓"}')],
  ])('builds the same v2 message as the server for %s', (_name, body) => {
    expect(signingMessage(signer.address, '1700000000', { ...target, body })).toBe(
      signedMessageV2({ hotkey: signer.address, nonce: '1700000000', ...target, rawBody: body }),
    );
  });

  it('never signs the Chutes (v1) message, which names no request', () => {
    const message = signingMessage(signer.address, '1700000000', { ...target, method: 'get' });
    expect(message).toBe(
      `bootkey-v2:${signer.address}:1700000000:GET:/servers/?x=1:https://keys.example.com:${'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'}`,
    );
    expect(message).not.toBe(signedMessage(signer.address, '1700000000', undefined));
  });

  it('signs the exact bytes it sends, as the server verifies them (POST, PUT, and body-less GET, PATCH, DELETE)', async () => {
    const c = client();
    await c.post('/servers/', { host: 'h', id: 'x', name: 'ünïcode', gpus: [{ memory: 1.5e10 }] });
    await c.put('/admin/miners/abc', { status: 'allowed' });
    await c.get('/servers/');
    await c.patch('/servers/x', { query: { server_name: 'new name' } });
    await c.delete('/servers/x');
    expect(seen.map((s) => [s.method, s.url, serverAccepts(s)])).toEqual([
      ['POST', '/servers/', true],
      ['PUT', '/admin/miners/abc', true],
      ['GET', '/servers/', true],
      ['PATCH', '/servers/x?server_name=new+name', true],
      ['DELETE', '/servers/x', true],
    ]);
    expect(JSON.parse(seen[0].body.toString('utf8'))).toEqual({ host: 'h', id: 'x', name: 'ünïcode', gpus: [{ memory: 1.5e10 }] });
    expect(seen[0].headers['content-type']).toBe('application/json');
    expect(seen[2].headers['content-type']).toBeUndefined();
  });

  it('a tampered body no longer verifies (the test above is not vacuous)', async () => {
    await client().post('/servers/', { id: 'a' });
    expect(serverAccepts({ ...seen[0], body: Buffer.from('{"id":"b"}') })).toBe(false);
  });

  it('sends unsigned requests without loading a hotkey', async () => {
    const noHotkey = client({ signer: async () => Promise.reject(new Error('must not be called')) });
    await noHotkey.post('/attestation/quote/parse', { quote: 'AA==' }, { signed: false });
    expect(seen[0].headers['x-chutes-signature']).toBeUndefined();
  });

  it('keeps a base URL path prefix and ignores its trailing slash; signs the path below the prefix', async () => {
    await client({ baseUrl: `${baseUrl}/bootkey/` }).get('/servers/', { query: { a: '1', b: undefined } });
    expect(seen[0].url).toBe('/bootkey/servers/?a=1');
    expect([serverAccepts(seen[0], '/bootkey'), serverAccepts(seen[0])]).toEqual([true, false]);
  });

  it('names the origin of --url as the audience: another broker does not accept the signature', async () => {
    await client().get('/servers/');
    expect([serverAccepts(seen[0]), serverAccepts(seen[0], '', 'https://other.example.com'), serverAccepts(seen[0], '', '-')]).toEqual([true, false, false]);
    expect(seen[0].headers['x-bootkey-signature-version']).toBe('2');
  });

  it('signs method and path: the same headers do not verify for another method or path', async () => {
    await client().delete('/servers/x');
    expect([serverAccepts(seen[0]), serverAccepts({ ...seen[0], method: 'GET' }), serverAccepts({ ...seen[0], url: '/servers/y' })]).toEqual([
      true,
      false,
      false,
    ]);
  });
});

describe('answers', () => {
  it('returns the JSON of a 2xx, and undefined for an empty one', async () => {
    expect(await client().get('/x')).toEqual({ ok: true });
    respond = (_s, res) => res.writeHead(204).end();
    expect(await client().delete('/x')).toBeUndefined();
  });

  it('turns an error body into BrokerRefusedError with its status, code and message', async () => {
    const body = { statusCode: 404, error: 'Not Found', message: 'no server x', code: 'SERVER_NOT_FOUND' };
    respond = (_s, res) => json(res, 404, body);
    await expect(client().get('/servers/x')).rejects.toMatchObject({ status: 404, code: 'SERVER_NOT_FOUND', serverMessage: 'no server x', body });
    respond = (_s, res) => json(res, 422, { statusCode: 422, message: ['a is bad', 'b is bad'], code: 'VALIDATION_FAILED' });
    await expect(client().get('/x')).rejects.toMatchObject({ status: 422, serverMessage: 'a is bad; b is bad' });
  });

  it('a non-JSON answer is a refusal without a code', async () => {
    respond = (_s, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
    await expect(client().get('/x')).rejects.toMatchObject({ status: 502, code: undefined, serverMessage: 'HTTP 502 Bad Gateway' });
    respond = (_s, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>');
    await expect(client().get('/x')).rejects.toBeInstanceOf(BrokerRefusedError);
  });
});

describe('unreachable', () => {
  it('connection refused', async () => {
    const closed = http.createServer();
    const address = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const error = await client({ baseUrl: `http://${address}` })
      .get('/x')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerUnreachableError);
    expect((error as BrokerUnreachableError).reason).toMatch(/^connection refused/);
  });

  it('no answer within the timeout', async () => {
    respond = () => undefined; // never answers
    const error = await client({ timeoutMs: 300 })
      .get('/x')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerUnreachableError);
    expect((error as BrokerUnreachableError).reason).toBe('no answer within 0.3 s');
    server.closeAllConnections();
  });

  it('an https broker with an untrusted certificate, then trusted with its CA, then with --insecure', async () => {
    const tls = await serverCertFiles();
    const secure = https.createServer({ cert: fs.readFileSync(tls.certFile), key: fs.readFileSync(tls.keyFile) }, handler);
    const url = `https://${await listen(secure)}`;
    try {
      const error = await client({ baseUrl: url })
        .get('/x')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BrokerUnreachableError);
      expect(error).toMatchObject({ hint: expect.stringContaining('--ca-file') });
      expect(await client({ baseUrl: url, ca: tls.cert.certPem }).get('/x')).toEqual({ ok: true });
      expect(await client({ baseUrl: url, insecure: true }).get('/x')).toEqual({ ok: true });
    } finally {
      await new Promise((resolve) => secure.close(resolve));
      fs.rmSync(tls.dir, { recursive: true, force: true });
    }
  });

  it('refuses a URL that is not http(s) as a usage error', () => {
    expect(() => client({ baseUrl: 'ftp://x' })).toThrow(/--url must start with http:\/\/ or https:\/\//);
    expect(() => client({ baseUrl: 'not a url' })).toThrow(/is not a URL/);
  });
});
