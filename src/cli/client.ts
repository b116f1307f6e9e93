/**
 * The CLI's HTTP client: JSON requests to the broker, hotkey-signed over the exact bytes it sends
 * (DESIGN.md "Hotkey-signed"), with a timeout, an optional private CA, and failures sorted into
 * "the broker refused" (BrokerRefusedError) and "no answer" (BrokerUnreachableError).
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { BrokerRefusedError, BrokerUnreachableError, UsageError } from './errors';
import type { Signer } from './wallet';

export const HOTKEY_HEADER = 'X-Chutes-Hotkey';
export const SIGNATURE_HEADER = 'X-Chutes-Signature';
export const NONCE_HEADER = 'X-Chutes-Nonce';
export const VERSION_HEADER = 'X-Bootkey-Signature-Version';

/** What a v2 signature names besides the signer and the time. */
export interface SignedTarget {
  /** Upper-case HTTP method. */
  method: string;
  /** The path and query as sent, below the --url prefix (what the broker's router sees). */
  pathWithQuery: string;
  /** The origin of --url (`https://keys.example.com`): the broker's SIGNATURE_AUDIENCE. */
  audience: string;
  /** The exact body bytes; undefined for none. */
  body?: Uint8Array;
}

/**
 * The signed message, always bootkey's v2:
 * `bootkey-v2:${hotkey}:${nonce}:${METHOD}:${pathWithQuery}:${audience}:${sha256hex(body)}` (the
 * hash of zero bytes without a body). It names the request, so a captured signature fits no
 * other route, method or broker. Written from the contract, not imported from the server, so a
 * drift on either side fails client.spec.ts.
 */
export function signingMessage(hotkey: string, nonce: string, target: SignedTarget): string {
  const bodyHash = createHash('sha256')
    .update(target.body ?? new Uint8Array(0))
    .digest('hex');
  return `bootkey-v2:${hotkey}:${nonce}:${target.method.toUpperCase()}:${target.pathWithQuery}:${target.audience}:${bodyHash}`;
}

/** The four signature headers for the request `target`. */
export function signatureHeaders(signer: Signer, target: SignedTarget, nowSeconds: number): Record<string, string> {
  const nonce = String(nowSeconds);
  const signature = Buffer.from(signer.sign(signingMessage(signer.address, nonce, target))).toString('hex');
  return { [HOTKEY_HEADER]: signer.address, [SIGNATURE_HEADER]: signature, [NONCE_HEADER]: nonce, [VERSION_HEADER]: '2' };
}

export interface ClientOptions {
  /** The broker's base URL (`http://127.0.0.1:8080`, `https://broker.example/prefix`). */
  baseUrl: string;
  timeoutMs: number;
  /** PEM of extra trusted CAs (`--ca-file`). */
  ca?: string;
  /** Skip TLS certificate checks (`--insecure`). */
  insecure?: boolean;
  /** Called once, on the first signed request (so unsigned commands never need a hotkey). */
  signer?: () => Promise<Signer>;
  /** Unix seconds for X-Chutes-Nonce; the real clock unless a test says otherwise. */
  now?: () => number;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** Sign with the hotkey (default true). */
  signed?: boolean;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Node's error codes that mean "no answer", each with a short reason. */
const UNREACHABLE_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the broker running, and is --url right?)',
  ENOTFOUND: 'host name not found (DNS)',
  EAI_AGAIN: 'host name lookup failed temporarily (DNS)',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'the connection was closed',
  ECONNABORTED: 'the connection was aborted',
};

const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

class RequestTimeout extends Error {}

export class BrokerClient {
  private signerPromise?: Promise<Signer>;

  constructor(private readonly options: ClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new UsageError(`--url ${options.baseUrl} is not a URL (expected e.g. http://127.0.0.1:8080)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must start with http:// or https:// (got ${url.protocol})`);
  }

  /** The address requests will be signed with (loads the hotkey). */
  async signerAddress(): Promise<string> {
    return (await this.signer()).address;
  }

  private signer(): Promise<Signer> {
    if (!this.options.signer) return Promise.reject(new UsageError('this command needs a hotkey, and none was configured'));
    this.signerPromise ??= this.options.signer();
    return this.signerPromise;
  }

  /** The full URL of `path` (which starts with `/`) under the base URL, with a query string. */
  url(path: string, query: RequestOptions['query'] = {}): string {
    const base = this.options.baseUrl.replace(/\/+$/, '');
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const search = params.toString();
    return `${base}${path}${search ? `?${search}` : ''}`;
  }

  /**
   * What a request to `url` signs: the target exactly as Node will send it (URL-normalised), with
   * the --url path prefix taken off, since a proxy that serves the broker under a prefix strips
   * it before the broker sees the path.
   */
  private signedTarget(method: Method, url: string, body: Uint8Array | undefined): SignedTarget {
    const base = new URL(this.options.baseUrl);
    const target = new URL(url);
    const prefix = base.pathname.replace(/\/+$/, '');
    const path = target.pathname.startsWith(prefix) ? target.pathname.slice(prefix.length) : target.pathname;
    return { method, pathWithQuery: `${path}${target.search}`, audience: base.origin, body };
  }

  get<T>(path: string, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  post<T>(path: string, body?: unknown, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('POST', path, { ...options, body });
  }

  put<T>(path: string, body?: unknown, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('PUT', path, { ...options, body });
  }

  patch<T>(path: string, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('PATCH', path, options);
  }

  delete<T>(path: string, options: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return this.request<T>('DELETE', path, options);
  }

  /**
   * Sends one request and returns the parsed JSON answer (undefined for an empty one). The body
   * is serialised once; those bytes are both hashed for the signature and sent.
   */
  async request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.url(path, options.query);
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body), 'utf8');
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(body.length);
    }
    if (options.signed ?? true) {
      const now = this.options.now ?? (() => Math.floor(Date.now() / 1000));
      Object.assign(headers, signatureHeaders(await this.signer(), this.signedTarget(method, url, body), now()));
    }
    const answer = await this.send(method, url, headers, body);
    return this.interpret<T>(answer);
  }

  private send(method: Method, url: string, headers: Record<string, string>, body: Buffer | undefined): Promise<{ status: number; text: string }> {
    const target = new URL(url);
    const transport = target.protocol === 'https:' ? https : http;
    const tls = target.protocol === 'https:' ? { ca: this.options.ca, rejectUnauthorized: !this.options.insecure } : {};
    const timeoutMs = this.options.timeoutMs;
    return new Promise((resolve, reject) => {
      const request = transport.request(target, { method, headers, agent: false, ...tls }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        response.on('error', (error) => fail(error));
      });
      // One deadline for the whole exchange (connect, the broker's own work, the answer).
      const timer = setTimeout(() => request.destroy(new RequestTimeout()), timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(this.unreachable(url, error));
      };
      request.on('error', fail);
      request.end(body);
    });
  }

  private unreachable(url: string, error: Error): BrokerUnreachableError {
    const origin = new URL(url).origin;
    if (error instanceof RequestTimeout) {
      return new BrokerUnreachableError(origin, `no answer within ${this.options.timeoutMs / 1000} s`, 'raise --timeout if the broker is slow, or check --url');
    }
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (TLS_TRUST_CODES.has(code)) {
      return new BrokerUnreachableError(
        origin,
        `its TLS certificate is not trusted (${code})`,
        "pass the broker's CA with --ca-file, or --insecure for a test broker",
      );
    }
    if (code.startsWith('ERR_SSL') || code.startsWith('EPROTO')) {
      return new BrokerUnreachableError(origin, `the TLS handshake failed (${code})`, 'check whether the broker speaks http:// or https://');
    }
    return new BrokerUnreachableError(origin, UNREACHABLE_REASONS[code] ?? (code ? `${code}: ${error.message}` : error.message));
  }

  private interpret<T>(answer: { status: number; text: string }): T {
    let json: unknown;
    let isJson = false;
    if (answer.text.length > 0) {
      try {
        json = JSON.parse(answer.text);
        isJson = true;
      } catch {
        isJson = false;
      }
    }
    if (answer.status >= 200 && answer.status < 300) {
      if (answer.text.length === 0) return undefined as T;
      if (!isJson)
        throw new BrokerRefusedError(answer.status, undefined, 'the broker answered with something that is not JSON (is --url a bootkey broker?)', undefined);
      return json as T;
    }
    const errorBody = isJson && typeof json === 'object' && json !== null ? (json as { code?: unknown; message?: unknown }) : undefined;
    const code = typeof errorBody?.code === 'string' ? errorBody.code : undefined;
    const rawMessage = errorBody?.message;
    const message = Array.isArray(rawMessage)
      ? rawMessage.join('; ')
      : typeof rawMessage === 'string'
        ? rawMessage
        : `HTTP ${answer.status} ${http.STATUS_CODES[answer.status] ?? ''}`.trim();
    throw new BrokerRefusedError(answer.status, code, message, isJson ? json : undefined);
  }
}
