/**
 * A booting VM against a real broker stack, the way bootkey's initramfs does it: every request a
 * new TLS connection (unless keep-alive is asked for) with the VM's ephemeral client certificate,
 * from the VM's own address; nonce → a quote forged for that nonce and the VM's key → attestation
 * → sync of the volumes, rekeying them on first boot. Used by
 * `npm run bench:storm` and `npm run test:deploy`.
 */
import * as https from 'node:https';
import type { KeyObject } from 'node:crypto';
import { IMAGE } from './boot-env';
import { forgeQuote } from './forge/quote';
import type { TestPki } from './forge/test-pki';
import type { TestCert } from './tls';

export const VOLUMES = ['storage', 'tdx-cache'];

export interface VmIdentity {
  index: number;
  vmName: string;
  hotkey: string;
  /** Source address of every connection (a VM's own IP; loopback 127.10.0.0/15 and up). */
  localAddress: string;
  cert: TestCert;
  /** The attestation key of the VM's host (shared by the VMs of one host, as a real QE's is). */
  attestationKey: KeyObject;
}

/** VM number `index`'s loopback address: 127.10.0.0 + index (never the broker's 127.0.0.1). */
export function vmAddress(index: number): string {
  return `127.${10 + (index >> 16)}.${(index >> 8) & 255}.${index & 255}`;
}

export interface Answer<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: T;
}

export interface StackTarget {
  /** Base URL of a broker or of the front. */
  url: string;
  /** PEM the broker's (or front's) certificate must chain to. */
  caPem: string;
  /** Keep one connection for a boot's requests instead of one per request. */
  keepalive?: boolean;
  /**
   * Sync with `previous: true` as bootkey's v2 initramfs does (answers carry each volume's older
   * generations); off by default until every broker this runs against accepts the field.
   */
  syncPrevious?: boolean;
}

/** The outcome of one boot attempt (one nonce). */
export interface BootAttempt {
  ok: boolean;
  /** Which request failed: nonce, attestation or sync. */
  step?: 'nonce' | 'attestation' | 'sync';
  status?: number;
  code?: string;
  /** Retry-After of a refusal, in seconds. */
  retryAfterS?: number;
  /** A transport failure (connection refused or reset). */
  networkError?: string;
  key?: string;
  volumes?: Record<string, unknown>;
  /** Wall time of the attempt, ms. */
  ms: number;
  /** Statuses of sync answers that were refused for load and retried with the same token. */
  retriedSyncs?: number[];
}

export class StackVm {
  private agent?: https.Agent;

  constructor(
    private readonly target: StackTarget,
    private readonly pki: TestPki,
    readonly identity: VmIdentity,
  ) {}

  request<T = unknown>(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: unknown,
    options: { cert?: TestCert | null } = {},
  ): Promise<Answer<T>> {
    const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const cert = options.cert === null ? undefined : (options.cert ?? this.identity.cert);
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${this.target.url}${path}`,
        {
          method,
          headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
          ca: this.target.caPem,
          cert: cert?.certPem,
          key: cert?.keyPem,
          localAddress: this.identity.localAddress,
          agent: this.agent ?? false,
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: json as T });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** A quote for `nonce`: REPORTDATA = nonce || SHA-256(this VM's SPKI), registers of IMAGE. */
  quote(nonce: string, cert: TestCert = this.identity.cert): Buffer {
    return forgeQuote(this.pki, {
      reportData: Buffer.concat([Buffer.from(nonce, 'hex'), Buffer.from(cert.spkiSha256, 'hex')]),
      mrtd: Buffer.from(IMAGE.mrtd, 'hex'),
      rtmrs: {
        rtmr0: Buffer.from(IMAGE.rtmr0, 'hex'),
        rtmr1: Buffer.from(IMAGE.rtmr1, 'hex'),
        rtmr2: Buffer.from(IMAGE.rtmr2, 'hex'),
        rtmr3: Buffer.from(IMAGE.rtmr3, 'hex'),
      },
      attestationKey: this.identity.attestationKey,
    });
  }

  /** One boot: nonce → attestation → sync (rekeying `rekey`). Never throws. */
  async boot(rekey: string[] = VOLUMES): Promise<BootAttempt> {
    const start = performance.now();
    if (this.target.keepalive) this.agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const refused = (step: BootAttempt['step'], answer: Answer<{ code?: string }>): BootAttempt => ({
      ok: false,
      step,
      status: answer.status,
      code: answer.json?.code,
      retryAfterS: retryAfter(answer.headers['retry-after']),
      ms: performance.now() - start,
    });
    let step: BootAttempt['step'] = 'nonce';
    try {
      const nonce = await this.request<{ nonce: string; code?: string }>('GET', '/servers/nonce');
      if (nonce.status !== 200) return refused(step, nonce);
      step = 'attestation';
      const attested = await this.request<{ key: string; boot_token: string; code?: string }>(
        'POST',
        '/servers/boot/attestation',
        { 'x-chutes-nonce': nonce.json.nonce },
        { quote: this.quote(nonce.json.nonce).toString('base64'), miner_hotkey: this.identity.hotkey, vm_name: this.identity.vmName },
      );
      if (attested.status !== 200) return refused(step, attested);
      step = 'sync';
      const sync = () =>
        this.request<Record<string, unknown> & { code?: string }>(
          'POST',
          `/servers/${this.identity.vmName}/luks`,
          { 'x-chutes-hotkey': this.identity.hotkey, 'x-boot-token': attested.json.boot_token },
          { volumes: VOLUMES, rekey, ...(this.target.syncPrevious ? { previous: true } : {}) },
        );
      let synced = await sync();
      const retriedSyncs: number[] = [];
      // As the initramfs: a sync refused for load is retried with the same token.
      for (let retry = 0; retry < 5 && (synced.status === 503 || synced.status === 429); retry++) {
        retriedSyncs.push(synced.status);
        await sleepMs(jitter((retryAfter(synced.headers['retry-after']) ?? 1) * 1000));
        synced = await sync();
      }
      if (synced.status !== 200) return { ...refused(step, synced), retriedSyncs };
      return { ok: true, key: attested.json.key, volumes: synced.json, ms: performance.now() - start, retriedSyncs };
    } catch (error) {
      return { ok: false, step, networkError: (error as NodeJS.ErrnoException).code ?? (error as Error).message, ms: performance.now() - start };
    } finally {
      this.agent?.destroy();
      this.agent = undefined;
    }
  }
}

function retryAfter(value: string | string[] | undefined): number | undefined {
  const n = Number(Array.isArray(value) ? value[0] : value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** `ms` ± 50 %, so refused clients do not come back in step. */
export function jitter(ms: number): number {
  return ms * (0.5 + Math.random());
}

export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
