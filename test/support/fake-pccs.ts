/**
 * A fake PCCS on loopback speaking the Intel PCS v4 protocol (paths, issuer-chain headers,
 * DER CRLs, hex root CA CRL), serving chosen collateral — and misbehaving on demand.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { QuoteCollateral } from '../../src/attestation/core/dcap';
import { toPcsResponseBodies } from './forge/collateral';

export type PccsMode = 'ok' | 'error500' | 'hang' | 'garbage';

export class FakePccs {
  mode: PccsMode = 'ok';
  readonly requests: string[] = [];
  private server?: http.Server;
  private readonly hanging = new Set<http.ServerResponse>();

  /** `collateral` answers every path; `others` only add TCB info for their own FMSPCs. */
  constructor(
    public collateral: QuoteCollateral,
    public others: QuoteCollateral[] = [],
  ) {}

  get url(): string {
    const address = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}/sgx/certification/v4/`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${url.pathname}${url.search}`);
    if (this.mode === 'hang') {
      this.hanging.add(res);
      return;
    }
    if (this.mode === 'error500') {
      res.writeHead(500).end('internal error');
      return;
    }
    if (this.mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"tcbInfo": [not json');
      return;
    }
    const c = this.collateral;
    const bodies = toPcsResponseBodies(c);
    const chain = (pem: string) => encodeURIComponent(pem);
    switch (url.pathname) {
      case '/tdx/certification/v4/tcb': {
        const wanted = url.searchParams.get('fmspc')?.toLowerCase();
        const match = [c, ...this.others].find((bundle) => (JSON.parse(bundle.tcb_info) as { fmspc: string }).fmspc.toLowerCase() === wanted);
        if (!match) {
          res.writeHead(404).end();
          return;
        }
        res
          .writeHead(200, { 'content-type': 'application/json', 'TCB-Info-Issuer-Chain': chain(match.tcb_info_issuer_chain) })
          .end(toPcsResponseBodies(match).tcbInfo);
        return;
      }
      case '/tdx/certification/v4/qe/identity':
        res
          .writeHead(200, { 'content-type': 'application/json', 'SGX-Enclave-Identity-Issuer-Chain': chain(c.qe_identity_issuer_chain) })
          .end(bodies.qeIdentity);
        return;
      case '/sgx/certification/v4/pckcrl':
        res
          .writeHead(200, { 'content-type': 'application/pkix-crl', 'SGX-PCK-CRL-Issuer-Chain': chain(c.pck_crl_issuer_chain) })
          .end(Buffer.from(c.pck_crl, 'hex'));
        return;
      case '/sgx/certification/v4/rootcacrl':
        res.writeHead(200, { 'content-type': 'text/plain' }).end(c.root_ca_crl);
        return;
      default:
        res.writeHead(404).end();
    }
  }
}
