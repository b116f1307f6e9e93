/**
 * A fake of a server's own attestation service (what sek8s runs on the VM), over HTTPS on
 * loopback with its own self-signed certificate: `GET /server/attest?nonce=<hex>` answers a
 * forged TDX quote whose REPORTDATA binds the nonce and the SHA-256 of its TLS key — or, on
 * demand, misbehaves (another key, hang, garbage, HTTP 500).
 */
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Forge } from './forge';
import type { ForgeQuoteOptions } from './forge/quote';
import { selfSignedCert, TestCert } from './tls';

export type AttestationServiceMode = 'ok' | 'wrong-key' | 'hang' | 'garbage' | 'error500';

export class FakeAttestationService {
  mode: AttestationServiceMode = 'ok';
  /** Quote contents (measurements, debug, ...) the fake VM reports. */
  quoteOptions: ForgeQuoteOptions = {};
  gpuEvidence: unknown = { valid: true, gpus: ['gpu-0'] };
  readonly nonces: string[] = [];
  private server?: https.Server;
  private cert!: TestCert;
  private stranger!: TestCert;

  constructor(private readonly forge: Forge) {}

  get port(): number {
    return (this.server?.address() as AddressInfo).port;
  }

  async start(host = '127.0.0.1'): Promise<this> {
    this.cert = await selfSignedCert('fake attestation service', true);
    this.stranger = await selfSignedCert('someone else');
    this.server = https.createServer({ cert: this.cert.certPem, key: this.cert.keyPem }, (req, res) => {
      const url = new URL(req.url ?? '/', 'https://x');
      if (url.pathname !== '/server/attest') return void res.writeHead(404).end();
      const nonce = url.searchParams.get('nonce') ?? '';
      this.nonces.push(nonce);
      if (this.mode === 'hang') return; // never answers
      if (this.mode === 'error500') return void res.writeHead(500).end('boom');
      if (this.mode === 'garbage') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"quote": ');
      const keyHash = this.mode === 'wrong-key' ? this.stranger.spkiSha256 : this.cert.spkiSha256;
      const quote = this.forge.quote({ ...this.quoteOptions, reportData: Buffer.concat([Buffer.from(nonce.padEnd(64, '0').slice(0, 64), 'hex'), Buffer.from(keyHash, 'hex')]) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ quote: quote.toString('base64'), nvtrust_evidence: this.gpuEvidence }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, host, resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
