/** Hotkey-signed HTTP(S) requests for tests: the signature covers exactly the bytes sent. */
import type { KeyringPair } from './hotkey';
import { signedHeaders, unixSeconds } from './hotkey';
import { httpRequest, HttpOptions, HttpResult } from './http';

export function signedRequest<T = unknown>(
  pair: KeyringPair,
  now: Date,
  method: string,
  url: string,
  body?: unknown,
  options: Omit<HttpOptions, 'method' | 'body' | 'rawBody'> = {},
): Promise<HttpResult<T>> {
  const raw = body === undefined ? undefined : JSON.stringify(body);
  return httpRequest<T>(url, {
    ...options,
    method,
    rawBody: raw,
    headers: { ...(options.headers ?? {}), ...signedHeaders(pair, raw, unixSeconds(now)) },
  });
}
