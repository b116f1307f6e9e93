/**
 * What one client may cost the listener, before any request is parsed: how long a request may
 * take to arrive (REQUEST_TIMEOUT_S; its headers at most 10 s of that), and how many connections
 * one client IP may hold open at once (MAX_CONNECTIONS_PER_IP; TRUST_PROXY peers exempt, since
 * they carry many clients). Without these a few hundred slow-body connections from one address
 * held every file descriptor of the process and no VM could boot (issue 12).
 */
import type { Server, Socket } from 'node:net';
import { normalizeIp } from '../client/client-identity';

/** Headers must arrive within this, or within the request timeout when that is shorter. */
export const HEADERS_TIMEOUT_MS = 10_000;
/**
 * Idle keep-alive connections are closed after this; longer than the 60 s idle timeout of common
 * load balancers, so the broker never closes a connection a proxy is about to reuse.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;
/**
 * A socket with no traffic either way for this long is closed: longer than any handler runs
 * (their outbound calls have their own, shorter timeouts), so it only catches clients that
 * stopped reading their answer.
 */
export const IDLE_SOCKET_TIMEOUT_MS = 300_000;
/** How often Node checks connections against the request and header timeouts. */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

export interface ConnectionTimeouts {
  /** For http.createServer / https.createServer (Node's own request and header timeouts). */
  node: { requestTimeout: number; headersTimeout: number; keepAliveTimeout: number; connectionsCheckingInterval: number };
  /** For the TLS listener: a handshake must finish as fast as headers must arrive. */
  tls: { handshakeTimeout: number };
  /** For Fastify, which otherwise sets requestTimeout and connectionTimeout to 0 (none). */
  fastify: { requestTimeout: number; connectionTimeout: number; keepAliveTimeout: number };
}

export function connectionTimeouts(requestTimeoutSeconds: number): ConnectionTimeouts {
  const requestTimeout = requestTimeoutSeconds * 1000;
  const headersTimeout = Math.min(HEADERS_TIMEOUT_MS, requestTimeout);
  return {
    node: { requestTimeout, headersTimeout, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
    tls: { handshakeTimeout: headersTimeout },
    fastify: { requestTimeout, connectionTimeout: IDLE_SOCKET_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS },
  };
}

export interface ConnectionLimit {
  /** Concurrent connections per client IP; 0 = no cap. */
  max: number;
  /** Peers the cap does not apply to (trusted proxies). */
  exempt: (ip: string) => boolean;
  /**
   * Called for every refused connection; `first` is true for the first refusal of an episode
   * (until that IP holds no connection again), so a flood logs once, not once per connection.
   */
  onRefused?: (ip: string, first: boolean) => void;
}

/**
 * Caps concurrent connections per peer IP. Runs on the raw TCP connection (for HTTPS, before the
 * TLS handshake), so a refused connection costs an accept and a close, nothing more.
 */
export function limitConnectionsPerIp(server: Server, limit: ConnectionLimit): void {
  if (limit.max <= 0) return;
  const open = new Map<string, number>();
  const saturated = new Set<string>();
  server.on('connection', (socket: Socket) => {
    const ip = normalizeIp(socket.remoteAddress ?? '');
    if (limit.exempt(ip)) return;
    const count = open.get(ip) ?? 0;
    if (count >= limit.max) {
      const first = !saturated.has(ip);
      saturated.add(ip);
      limit.onRefused?.(ip, first);
      socket.destroy();
      return;
    }
    open.set(ip, count + 1);
    socket.once('close', () => {
      const left = (open.get(ip) ?? 1) - 1;
      if (left > 0) {
        open.set(ip, left);
      } else {
        open.delete(ip);
        saturated.delete(ip);
      }
    });
  });
}
