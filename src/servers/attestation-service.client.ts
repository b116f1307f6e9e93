/**
 * Fetches fresh evidence from a server's own attestation service at registration:
 *   GET https://{host}:{ATTESTATION_PORT}/server/attest?nonce=<64 hex>
 * with the signature headers of the signer the caller chose (the VM's vm_auth key, the validator
 * key, or none) → JSON `{tdx_quote | quote: base64, nvtrust_evidence | gpu_evidence?: array or JSON
 * string}`, plus the proxy's optional response proof headers. The service's TLS leaf is not checked
 * by the TLS stack: the caller may check it against the VM root CA (`checkLeaf`, before anything
 * else of the answer is read), and the SHA-256 of its SPKI is returned so the caller can require
 * it in REPORTDATA[32..64). One budget (ATTESTATION_TIMEOUT_S) bounds
 * the whole exchange, the answer is at most 1 MiB, and redirects are not followed (a 3xx is not
 * evidence).
 */
import * as https from 'node:https';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { DomainError, ErrorCode } from '../common/errors';
import { spkiSha256Hex } from '../common/client/client-identity';
import { decodeQuoteBase64 } from '../attestation/dto/quote.request';
import type { ResponseProof } from './proxy-checks';

const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface ServerEvidence {
  quote: Buffer;
  gpuEvidence: unknown;
  /** SHA-256 (hex) of the attestation service's TLS key. */
  serverKeyHash: string;
  /** The answer's response proof headers, unchecked; null when it has none of them. */
  proof: ResponseProof | null;
}

/** Who signed the fetch: the VM's per-boot vm_auth key, the broker's validator key, or nobody. */
export interface EvidenceSigner {
  kind: 'vm_auth' | 'validator' | 'none';
  /** Its ss58 (public), for a refusal's message. */
  address?: string;
}

export interface EvidenceRequest {
  /** The host as registered (its name is the TLS server name when it is not an IP). */
  host: string;
  /** The vetted address to connect to (host-policy.ts). */
  address: string;
  port: number;
  nonce: string;
  timeoutMs: number;
  /** Signature headers; empty when unsigned. */
  headers: Record<string, string>;
  signer: EvidenceSigner;
  /** Called with the service's TLS leaf before its answer is looked at; throwing refuses the answer. */
  checkLeaf?: (leaf: X509Certificate) => void;
}

const unreachable = (why: string) => new DomainError(ErrorCode.ATTESTATION_SERVICE_UNREACHABLE, `the server's attestation service ${why}`);
const invalid = (why: string) => new DomainError(ErrorCode.ATTESTATION_SERVICE_INVALID, `the server's attestation service answered ${why}`);

/** A 401/403: the VM's proxy did not accept this broker as a validator (ss58 is public, safe to name). */
function refused(status: number, signer: EvidenceSigner): DomainError {
  const why =
    signer.kind === 'vm_auth'
      ? `the vm_auth key ${signer.address} made at the VM's latest boot is not accepted by it (the VM must be running that boot and have installed its validator-auth, and both clocks must agree)`
      : signer.kind === 'validator'
        ? `validator ${signer.address} is not accepted by it (the VM must list it among its allowed validators, and both clocks must agree)`
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
        try {
          evidence.checkLeaf?.(certificate);
        } catch (error) {
          return finish(error as Error);
        }
        if (response.statusCode === 401 || response.statusCode === 403) {
          response.resume();
          return finish(refused(response.statusCode, evidence.signer));
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
            finish(null, {
              ...parseEvidence(Buffer.concat(chunks).toString('utf8')),
              serverKeyHash: spkiSha256Hex(certificate),
              proof: proofHeaders(response.headers),
            });
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

function proofHeaders(headers: IncomingHttpHeaders): ResponseProof | null {
  const [hotkey, nonce, signature] = ['x-chutes-hotkey', 'x-chutes-nonce', 'x-chutes-signature'].map((name) => headers[name]);
  if (hotkey === undefined && nonce === undefined && signature === undefined) return null;
  // A partial or repeated header is kept as an unusable proof (recorded as malformed), not as none.
  const text = (value: string | string[] | undefined) => (typeof value === 'string' ? value : '');
  return { hotkey: text(hotkey), nonce: text(nonce), signature: text(signature) };
}

function parseEvidence(text: string): Pick<ServerEvidence, 'quote' | 'gpuEvidence'> {
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
