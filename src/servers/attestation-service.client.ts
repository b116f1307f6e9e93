/**
 * Fetches fresh evidence from a server's own attestation service at registration:
 *   GET https://{host}:{ATTESTATION_PORT}/server/attest?nonce=<64 hex>
 * with the validator signature headers when the broker has a key (validator-key.ts)
 * → JSON `{tdx_quote | quote: base64, nvtrust_evidence | gpu_evidence?: array or JSON string}`.
 * The service's TLS certificate is not CA-checked; instead the SHA-256 of its SPKI is returned
 * so the caller can require it in REPORTDATA[32..64). One budget (ATTESTATION_TIMEOUT_S) bounds
 * the whole exchange, the answer is at most 1 MiB, and redirects are not followed (a 3xx is not
 * evidence).
 */
import * as https from 'node:https';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { DomainError, ErrorCode } from '../common/errors';
import { spkiSha256Hex } from '../common/client/client-identity';
import { decodeQuoteBase64 } from '../attestation/dto/quote.request';

const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface ServerEvidence {
  quote: Buffer;
  gpuEvidence: unknown;
  /** SHA-256 (hex) of the attestation service's TLS key. */
  serverKeyHash: string;
}

export interface EvidenceRequest {
  /** The host as registered (its name is the TLS server name when it is not an IP). */
  host: string;
  /** The vetted address to connect to (host-policy.ts). */
  address: string;
  port: number;
  nonce: string;
  timeoutMs: number;
  /** Validator signature headers; empty when the broker has no validator key. */
  headers: Record<string, string>;
  /** The validator ss58 the headers are signed with, for a refusal's message. */
  validator?: string;
}

const unreachable = (why: string) => new DomainError(ErrorCode.ATTESTATION_SERVICE_UNREACHABLE, `the server's attestation service ${why}`);
const invalid = (why: string) => new DomainError(ErrorCode.ATTESTATION_SERVICE_INVALID, `the server's attestation service answered ${why}`);

/** A 401/403: the VM's proxy did not accept this broker as a validator (ss58 is public, safe to name). */
function refused(status: number, validator: string | undefined): DomainError {
  const why = validator
    ? `validator ${validator} is not accepted by it (the VM must list it among its allowed validators, and both clocks must agree)`
    : 'it answers only signed validator requests, and this broker has no VALIDATOR_KEY_FILE';
  return new DomainError(ErrorCode.ATTESTATION_SERVICE_REFUSED, `the server's attestation service refused the evidence request (HTTP ${status}): ${why}`);
}

export function fetchServerEvidence(evidence: EvidenceRequest): Promise<ServerEvidence> {
  const { host, address, port, nonce, timeoutMs } = evidence;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null, value?: ServerEvidence) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        request.destroy();
        reject(error);
      } else resolve(value!);
    };
    const request = https.request(
      {
        host: address,
        port,
        path: `/server/attest?nonce=${nonce}`,
        method: 'GET',
        servername: isIP(host) ? undefined : host,
        headers: { ...evidence.headers, host: `${host}:${port}`, accept: 'application/json' },
        rejectUnauthorized: false, // bound through REPORTDATA instead of a CA
        agent: false,
      },
      (response) => {
        const certificate = (response.socket as TLSSocket).getPeerX509Certificate?.();
        if (!certificate) return finish(invalid('without a TLS certificate'));
        if (response.statusCode === 401 || response.statusCode === 403) {
          response.resume();
          return finish(refused(response.statusCode, evidence.validator));
        }
        if (response.statusCode !== 200) {
          response.resume();
          return finish(invalid(`HTTP ${response.statusCode}`));
        }
        if (Number(response.headers['content-length'] ?? 0) > MAX_RESPONSE_BYTES) return finish(invalid('with more than 1 MiB'));
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) finish(invalid('with more than 1 MiB'));
          else chunks.push(chunk);
        });
        response.on('end', () => {
          try {
            finish(null, { ...parseEvidence(Buffer.concat(chunks).toString('utf8')), serverKeyHash: spkiSha256Hex(certificate) });
          } catch (error) {
            finish(error as Error);
          }
        });
        response.on('error', () => finish(unreachable('dropped the connection')));
      },
    );
    const timer = setTimeout(() => finish(unreachable(`did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => finish(unreachable(`is unreachable (${error.code ?? 'connection error'})`)));
    request.end();
  });
}

function parseEvidence(text: string): Omit<ServerEvidence, 'serverKeyHash'> {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw invalid('with something that is not JSON');
  }
  const quote = body.quote ?? body.tdx_quote;
  if (typeof quote !== 'string') throw invalid('without a quote');
  try {
    return { quote: decodeQuoteBase64(quote), gpuEvidence: body.nvtrust_evidence ?? body.gpu_evidence ?? null };
  } catch {
    throw invalid('with a quote that is not base64');
  }
}
