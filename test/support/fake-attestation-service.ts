/**
 * A fake of a server's own attestation service (what sek8s runs on the VM), over HTTPS on
 * loopback with its own self-signed certificate: `GET /server/attest?nonce=<hex>` answers a
 * forged TDX quote whose REPORTDATA binds the nonce and the SHA-256 of its TLS key — or, on
 * demand, misbehaves (another key, hang, garbage, HTTP 500, a redirect, an oversized answer).
 *
 * With `validatorRule` it enforces what the real attestation proxy demands of a validator
 * (sek8s-common `authorize`, purpose `attest`, written from CHUTES-PROTOCOL.md §3): the three
 * `X-Chutes-*` headers, the hotkey in the allowed list, `now - X-Chutes-Nonce < 30` (no future
 * bound, as the real one), and a valid sr25519 signature over `{hotkey}:{nonce}:attest` — else 401.
 * With `answerShape: 'chutes'` it answers as the real proxy does: `tdx_quote`, and the GPU
 * evidence JSON-encoded into a string.
 * `presentCertificate` swaps its TLS leaf (e.g. one issued by a VM root CA, tls.ts `testCa`), and
 * `responseProof` adds the headers the real proxy adds to a successful answer when it holds the
 * miner's seed (`teeProofHeaders`: sr25519 over `{miner ss58}:{ts}:tee`).
 */
import * as https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signatureVerify } from '@polkadot/util-crypto';
import type { Forge } from './forge';
import type { KeyringPair } from './hotkey';
import type { ForgeQuoteOptions } from './forge/quote';
import { selfSignedCert, TestCert } from './tls';

export type AttestationServiceMode = 'ok' | 'wrong-key' | 'hang' | 'garbage' | 'error500' | 'redirect' | 'oversized';

export interface ValidatorRule {
  /** ss58 addresses allowed as validators (ALLOWED_VALIDATORS). */
  allowed: string[];
  /** The agent's clock (tests run the broker on a manual clock); default the real time. */
  now?: () => Date;
  /** Oldest accepted signature, in seconds; default 30 as sek8s. */
  maxAgeSeconds?: number;
}

/** The response proof headers the real proxy adds: the miner's signature over `{ss58}:{ts}:tee`. */
export function teeProofHeaders(miner: KeyringPair, unixSeconds: number): Record<string, string> {
  const signature = Buffer.from(miner.sign(`${miner.address}:${unixSeconds}:tee`)).toString('hex');
  return { 'X-Chutes-Hotkey': miner.address, 'X-Chutes-Nonce': String(unixSeconds), 'X-Chutes-Signature': signature };
}

/** What the fake saw of one request. */
export interface SeenRequest {
  nonce: string;
  headers: IncomingHttpHeaders;
  /** 'ok', or why the validator rule refused it. */
  verdict: string;
}

export class FakeAttestationService {
  mode: AttestationServiceMode = 'ok';
  /** Quote contents (measurements, debug, ...) the fake VM reports. */
  quoteOptions: ForgeQuoteOptions = {};
  /** The GPU evidence: a JSON array, as chutes-nvattest reads it. */
  gpuEvidence: unknown = [{ valid: true, gpu: 'gpu-0' }];
  /** `bootkey`: `{quote, nvtrust_evidence: <value>}`; `chutes`: `{tdx_quote, nvtrust_evidence: <JSON string>}` as the real proxy. */
  answerShape: 'bootkey' | 'chutes' = 'bootkey';
  validatorRule?: ValidatorRule;
  /** Extra headers of each successful answer (the response proof); none when undefined. */
  responseProof?: () => Record<string, string>;
  readonly nonces: string[] = [];
  readonly requests: SeenRequest[] = [];
  private server?: https.Server;
  private cert!: TestCert;
  private stranger!: TestCert;

  constructor(private readonly forge: Forge) {}

  get port(): number {
    return (this.server?.address() as AddressInfo).port;
  }

  /** SHA-256 (hex) of this service's TLS key, which REPORTDATA[32..64) carries. */
  get keyHash(): string {
    return this.cert.spkiSha256;
  }

  async start(host = '127.0.0.1'): Promise<this> {
    this.cert = await selfSignedCert('fake attestation service', true);
    this.stranger = await selfSignedCert('someone else');
    this.server = https.createServer({ cert: this.cert.certPem, key: this.cert.keyPem }, (req, res) => {
      const url = new URL(req.url ?? '/', 'https://x');
      if (url.pathname !== '/server/attest') return void res.writeHead(404).end();
      const nonce = url.searchParams.get('nonce') ?? '';
      const verdict = this.validatorVerdict(req.headers);
      this.nonces.push(nonce);
      this.requests.push({ nonce, headers: req.headers, verdict });
      if (verdict !== 'ok') return void res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: 'go away (missing)' }));
      if (this.mode === 'hang') return; // never answers
      if (this.mode === 'error500') return void res.writeHead(500).end('boom');
      if (this.mode === 'garbage') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"quote": ');
      if (this.mode === 'redirect') return void res.writeHead(302, { location: `https://127.0.0.1:${this.port}/server/attest?nonce=${nonce}&again=1` }).end();
      if (this.mode === 'oversized') return void res.writeHead(200, { 'content-type': 'application/json' }).end(`{"quote":"${'A'.repeat(1024 * 1024 + 16)}"}`);
      const keyHash = this.mode === 'wrong-key' ? this.stranger.spkiSha256 : this.cert.spkiSha256;
      const quote = this.forge.quote({
        ...this.quoteOptions,
        reportData: Buffer.concat([Buffer.from(nonce.padEnd(64, '0').slice(0, 64), 'hex'), Buffer.from(keyHash, 'hex')]),
      });
      const body =
        this.answerShape === 'chutes'
          ? { tdx_quote: quote.toString('base64'), nvtrust_evidence: JSON.stringify(this.gpuEvidence) }
          : { quote: quote.toString('base64'), nvtrust_evidence: this.gpuEvidence };
      res.writeHead(200, { 'content-type': 'application/json', ...this.responseProof?.() }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, host, resolve));
    return this;
  }

  /** Serves `cert` as its TLS leaf from the next connection on (REPORTDATA then binds its key). */
  presentCertificate(cert: TestCert): void {
    this.cert = cert;
    this.server!.setSecureContext({ cert: cert.certPem, key: cert.keyPem });
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The real proxy's checks, in its order; 'ok' when there is no rule. */
  private validatorVerdict(headers: IncomingHttpHeaders): string {
    const rule = this.validatorRule;
    if (!rule) return 'ok';
    const [hotkey, nonce, signature] = ['x-chutes-hotkey', 'x-chutes-nonce', 'x-chutes-signature'].map((name) => headers[name]);
    if (typeof hotkey !== 'string' || typeof nonce !== 'string' || typeof signature !== 'string') return 'missing headers';
    if (!rule.allowed.includes(hotkey)) return 'not an allowed validator';
    const now = Math.floor((rule.now?.() ?? new Date()).getTime() / 1000);
    if (!/^\d+$/.test(nonce) || now - Number(nonce) >= (rule.maxAgeSeconds ?? 30)) return 'stale';
    try {
      if (!signatureVerify(`${hotkey}:${nonce}:attest`, Buffer.from(signature.replace(/^0x/, ''), 'hex'), hotkey).isValid) return 'bad signature';
    } catch {
      return 'bad signature';
    }
    return 'ok';
  }
}
