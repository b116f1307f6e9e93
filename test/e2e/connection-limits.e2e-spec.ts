/**
 * Issue 12: a slow-body flood from one client held every connection open (no request timeouts,
 * no per-client cap) until the broker ran out of file descriptors and every boot failed. Here
 * the process's socket budget is a small `maxConnections` standing in for RLIMIT_NOFILE; a flood
 * from 127.0.0.2 must neither exhaust it nor stop a real boot from 127.0.0.1, and the slow
 * requests must be cut off after REQUEST_TIMEOUT_S.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ManualClock } from '../../src/common/clock/clock';
import { startTestApp, TestApp } from '../support/app';
import { BOOT_NOW, BootEnv, createBootEnv, ROOT_PASSPHRASE, TestVm } from '../support/boot-env';
import { testDatabase } from '../support/database';
import { httpRequest } from '../support/http';

const REQUEST_TIMEOUT_S = 2;
const CAP = 20;
const FLOOD = 60;
/** Stands in for the file-descriptor limit: more sockets than this and the process refuses all. */
const SOCKET_BUDGET = 50;

const db = testDatabase('connection_limits');
let env: BootEnv;
let app: TestApp;
let port: number;
const sockets: tls.TLSSocket[] = [];

beforeAll(async () => {
  env = await createBootEnv({ REQUEST_TIMEOUT_S: String(REQUEST_TIMEOUT_S), MAX_CONNECTIONS_PER_IP: String(CAP), TRUST_PROXY: '127.0.0.3' });
  app = await startTestApp({ database: db.target, clock: new ManualClock(BOOT_NOW), env: env.env });
  const server = app.app.getHttpServer() as net.Server;
  server.maxConnections = SOCKET_BUDGET;
  port = Number(new URL(app.baseUrl).port);
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await app?.close();
  await db.drop();
  env?.cleanup();
});

interface Client {
  socket: tls.TLSSocket;
  /** The TLS handshake completed (the broker accepted the connection). */
  established: boolean;
  openedAt: number;
  closedAt?: number;
  received: string;
}

/**
 * A TLS client from `localAddress` that, once connected, runs `behave` (e.g. start a request and
 * trickle its body). Resolves when the handshake completes or the connection closes first.
 */
function connect(localAddress: string, behave: (socket: tls.TLSSocket) => void): Promise<Client> {
  return new Promise((resolve) => {
    // TCP from the chosen source address, TLS over it (tls.connect's types lack localAddress).
    const tcp = net.connect({ host: '127.0.0.1', port, localAddress });
    tcp.on('error', () => undefined);
    const socket = tls.connect({ socket: tcp, rejectUnauthorized: false });
    sockets.push(socket);
    const client: Client = { socket, established: false, openedAt: Date.now(), received: '' };
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => (client.received += chunk.toString('latin1')));
    socket.on('secureConnect', () => {
      client.established = true;
      behave(socket);
      resolve(client);
    });
    socket.on('close', () => {
      client.closedAt = Date.now();
      resolve(client);
    });
  });
}

/** A boot attestation whose body never finishes: one byte every 200 ms of a declared 10 000. */
function slowBody(socket: tls.TLSSocket): void {
  socket.write('POST /servers/boot/attestation HTTP/1.1\r\nHost: broker\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{');
  const trickle = setInterval(() => socket.write(' '), 200);
  socket.on('close', () => clearInterval(trickle));
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return condition();
}

describe('a slow-body flood from one address', () => {
  let flood: Client[];
  let silent: Client;

  it(`accepts at most MAX_CONNECTIONS_PER_IP (${CAP}) connections from it and closes the rest at once`, async () => {
    flood = await Promise.all(Array.from({ length: FLOOD }, () => connect('127.0.0.2', slowBody)));
    expect(flood.filter((client) => client.established)).toHaveLength(CAP);
    const refused = flood.filter((client) => !client.established);
    expect(refused).toHaveLength(FLOOD - CAP);
    // Refused before any TLS or HTTP work: no answer at all.
    for (const client of refused) expect(client.received).toBe('');
  });

  it('leaves a real boot from another address working meanwhile', async () => {
    const vm = await TestVm.create(app.baseUrl, env.forge, env.minerHotkey, 'vm-flooded');
    const nonce = await vm.nonce('127.0.0.1');
    const res = await vm.attest(nonce, vm.quote(nonce), { localAddress: '127.0.0.1' });
    expect([res.status, res.json.key]).toEqual([200, ROOT_PASSPHRASE]);
    // The flooding address itself gets no further connection while it holds its cap.
    await expect(httpRequest(`${app.baseUrl}/servers/nonce`, { localAddress: '127.0.0.2' })).rejects.toThrow();
  });

  it('exempts trusted proxies (TRUST_PROXY) from the cap', async () => {
    const keepAlive = (socket: tls.TLSSocket) => socket.write('GET /healthz HTTP/1.1\r\nHost: broker\r\n\r\n');
    const proxied = await Promise.all(Array.from({ length: CAP + 5 }, () => connect('127.0.0.3', keepAlive)));
    expect(proxied.filter((client) => client.established)).toHaveLength(CAP + 5);
    expect(await waitUntil(() => proxied.every((client) => client.received.startsWith('HTTP/1.1 200')), 5000)).toBe(true);
    for (const client of proxied) client.socket.destroy();
  });

  it(`answers the slow requests 408 and closes them after REQUEST_TIMEOUT_S (${REQUEST_TIMEOUT_S} s), and a silent connection after the header timeout`, async () => {
    silent = await connect('127.0.0.4', () => undefined);
    expect(silent.established).toBe(true);
    const established = flood.filter((client) => client.established);
    const all = [...established, silent];
    expect(await waitUntil(() => all.every((client) => client.closedAt !== undefined), (REQUEST_TIMEOUT_S + 4) * 1000)).toBe(true);
    for (const client of all) {
      expect(client.received).toMatch(/^HTTP\/1\.1 408 /);
      expect(client.closedAt! - client.openedAt).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_S * 1000 - 250);
    }
  });

  it('accepts that address again once its connections are gone', async () => {
    const res = await httpRequest<{ nonce: string }>(`${app.baseUrl}/servers/nonce`, { localAddress: '127.0.0.2' });
    expect(res.status).toBe(200);
    const metrics = await httpRequest(`${app.baseUrl}/metrics`);
    expect(metrics.text).toMatch(new RegExp(`^bootkey_connections_refused_total\\{reason="per_ip_limit"\\} ${FLOOD - CAP + 1}$`, 'm'));
  });
});
