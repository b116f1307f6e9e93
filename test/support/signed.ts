/**
 * Hotkey-signed HTTP(S) requests for tests: the signature covers exactly the bytes sent. By
 * default bootkey's v2 message for this method and path (what the CLI signs; accepted on every
 * signed route); `signature: 'v1'` signs the Chutes message real miner tools send.
 */
import type { KeyringPair } from './hotkey';
import { signedHeaders, unixSeconds } from './hotkey';
import { httpRequest, HttpOptions, HttpResult } from './http';

export interface SignedRequestOptions extends Omit<HttpOptions, 'method' | 'body' | 'rawBody'> {
  /** Message format; default 'v2'. */
  signature?: 'v1' | 'v2';
  /** v2 audience; default `-`. */
  audience?: string;
  /** v1 empty-body purpose; default `tee`. */
  purpose?: string;
}

export function signedRequest<T = unknown>(
  pair: KeyringPair,
  now: Date,
  method: string,
  url: string,
  body?: unknown,
  options: SignedRequestOptions = {},
): Promise<HttpResult<T>> {
  const { signature = 'v2', audience, purpose, ...http } = options;
  const raw = body === undefined ? undefined : JSON.stringify(body);
  const target = new URL(url);
  const v2 = signature === 'v2' ? { method, path: `${target.pathname}${target.search}`, audience } : undefined;
  return httpRequest<T>(url, {
    ...http,
    method,
    rawBody: raw,
    headers: { ...(http.headers ?? {}), ...signedHeaders(pair, raw, unixSeconds(now), { v2, purpose }) },
  });
}
