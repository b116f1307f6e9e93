import * as net from 'node:net';
import { connectionTimeouts, limitConnectionsPerIp } from './connections';

describe('connectionTimeouts', () => {
  it('takes the request timeout from REQUEST_TIMEOUT_S and caps headers at 10 s (or the request timeout when shorter)', () => {
    expect(connectionTimeouts(30)).toMatchObject({
      node: { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 72_000 },
      tls: { handshakeTimeout: 10_000 },
      fastify: { requestTimeout: 30_000, keepAliveTimeout: 72_000 },
    });
    expect(connectionTimeouts(2)).toMatchObject({ node: { requestTimeout: 2000, headersTimeout: 2000 }, tls: { handshakeTimeout: 2000 } });
    // Fastify's 0 means "none": every timeout must be set.
    for (const value of Object.values(connectionTimeouts(30)).flatMap((group: Record<string, number>) => Object.values(group)))
      expect(value).toBeGreaterThan(0);
  });
});

describe('limitConnectionsPerIp', () => {
  let server: net.Server;
  let port: number;
  const refused: [string, boolean][] = [];
  const clients: net.Socket[] = [];

  beforeAll(async () => {
    server = net.createServer(() => undefined);
    limitConnectionsPerIp(server, { max: 2, exempt: (ip) => ip === '127.0.0.3', onRefused: (ip, first) => refused.push([ip, first]) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const client of clients) client.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Connects from `localAddress`; resolves 'open' if the connection survives 150 ms, else 'closed'. */
  function attempt(localAddress: string): Promise<{ socket: net.Socket; state: 'open' | 'closed' }> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress });
      clients.push(socket);
      socket.on('error', () => undefined);
      const timer = setTimeout(() => resolve({ socket, state: 'open' }), 150);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ socket, state: 'closed' });
      });
    });
  }

  it('closes connections beyond the cap, per address, logs once per episode, and frees a slot when one closes', async () => {
    const first = await Promise.all([attempt('127.0.0.2'), attempt('127.0.0.2')]);
    expect(first.map((c) => c.state)).toEqual(['open', 'open']);
    expect((await attempt('127.0.0.2')).state).toBe('closed');
    expect((await attempt('127.0.0.2')).state).toBe('closed');
    // Another address has its own allowance; an exempt one has none.
    expect((await attempt('127.0.0.4')).state).toBe('open');
    const exempt = await Promise.all([1, 2, 3, 4].map(() => attempt('127.0.0.3')));
    expect(exempt.map((c) => c.state)).toEqual(['open', 'open', 'open', 'open']);
    expect(refused).toEqual([
      ['127.0.0.2', true],
      ['127.0.0.2', false],
    ]);
    first[0].socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await attempt('127.0.0.2')).state).toBe('open');
  });
});
