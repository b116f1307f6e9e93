/**
 * A PCCS (or Intel PCS) client on the v4 API paths, as used by Intel's QPL and dcap-qvl:
 *   {base}/tdx/certification/v4/tcb?fmspc=…            body {tcbInfo, signature}, header TCB-Info-Issuer-Chain
 *   {base}/tdx/certification/v4/qe/identity            body {enclaveIdentity, signature}, header SGX-Enclave-Identity-Issuer-Chain
 *   {base}/sgx/certification/v4/pckcrl?ca=…&encoding=der  DER body, header SGX-PCK-CRL-Issuer-Chain
 *   {base}/sgx/certification/v4/rootcacrl              hex (PCCS) or DER body
 * Several base URLs are tried in order, so one PCCS outage is not a fleet outage.
 */
import { DomainError } from '../../common/errors';
import type { QuoteCollateral } from '../core/dcap';
import { CollateralFetchError, CollateralSource, PckCaType } from './collateral-source';

const DEFAULT_TIMEOUT_MS = 5000;
/** Intel's largest collateral piece (a PCK CRL) is tens of KiB; anything near this is not collateral. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** The exact text of the value of top-level key `key` in a JSON object text (signatures cover it byte for byte). */
export function rawJsonMember(text: string, key: string): string {
  const marker = `"${key}"`;
  let index = text.indexOf(marker);
  if (index < 0) throw new CollateralFetchError(`response has no "${key}"`);
  index = text.indexOf(':', index + marker.length);
  while (index >= 0 && /\s/.test(text[index + 1] ?? '')) index++;
  const start = index + 1;
  if (text[start] !== '{') throw new CollateralFetchError(`"${key}" is not an object`);
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  throw new CollateralFetchError(`"${key}" is not terminated`);
}

function baseOf(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/(sgx|tdx)\/certification\/v4$/, '');
}

export class PccsCollateralSource implements CollateralSource {
  readonly name = 'pccs';

  constructor(
    private readonly baseUrls: string[],
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  async fetch(fmspc: string, ca: PckCaType): Promise<QuoteCollateral> {
    return (await this.fetchAccepted(fmspc, ca, () => undefined)).collateral;
  }

  /**
   * Asks each PCCS in order until one answers with a bundle that `accept` takes: an answer it
   * refuses (by throwing a DomainError or CollateralFetchError: bad signature, wrong platform,
   * older than what we have) counts as that PCCS failing, and the next one is asked.
   */
  async fetchAccepted<T>(fmspc: string, ca: PckCaType, accept: (collateral: QuoteCollateral) => T): Promise<{ collateral: QuoteCollateral; accepted: T }> {
    const failures: string[] = [];
    for (const url of this.baseUrls) {
      try {
        const collateral = await this.fetchFrom(baseOf(url), fmspc, ca);
        return { collateral, accepted: accept(collateral) };
      } catch (error) {
        if (!(error instanceof CollateralFetchError || error instanceof DomainError)) throw error;
        const reason = error instanceof DomainError ? `refused (${error.code}: ${error.message})` : error.message;
        failures.push(`${new URL(url).host}: ${reason}`);
      }
    }
    throw new CollateralFetchError(`no PCCS answered (${failures.join('; ')})`);
  }

  private async fetchFrom(base: string, fmspc: string, ca: PckCaType): Promise<QuoteCollateral> {
    const [tcb, qe, pckCrl, rootCrl] = await Promise.all([
      this.get(`${base}/tdx/certification/v4/tcb?fmspc=${fmspc.toUpperCase()}`),
      this.get(`${base}/tdx/certification/v4/qe/identity`),
      this.get(`${base}/sgx/certification/v4/pckcrl?ca=${ca}&encoding=der`),
      this.get(`${base}/sgx/certification/v4/rootcacrl`),
    ]);
    const tcbText = tcb.body.toString('utf8');
    const qeText = qe.body.toString('utf8');
    return {
      pck_crl_issuer_chain: header(pckCrl.headers, 'sgx-pck-crl-issuer-chain'),
      root_ca_crl: crlHex(rootCrl.body, 'root CA CRL'),
      pck_crl: crlHex(pckCrl.body, 'PCK CRL'),
      tcb_info_issuer_chain: header(tcb.headers, 'tcb-info-issuer-chain', 'sgx-tcb-info-issuer-chain'),
      tcb_info: rawJsonMember(tcbText, 'tcbInfo'),
      tcb_info_signature: signatureHex(tcbText, 'TCB info'),
      qe_identity_issuer_chain: header(qe.headers, 'sgx-enclave-identity-issuer-chain'),
      qe_identity: rawJsonMember(qeText, 'enclaveIdentity'),
      qe_identity_signature: signatureHex(qeText, 'QE identity'),
    };
  }

  private async get(url: string): Promise<{ body: Buffer; headers: Headers }> {
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? `timed out after ${this.timeoutMs} ms` : 'unreachable';
      throw new CollateralFetchError(`${new URL(url).pathname} ${reason}`);
    }
    if (!response.ok) throw new CollateralFetchError(`${new URL(url).pathname} answered ${response.status}`);
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > MAX_RESPONSE_BYTES) throw new CollateralFetchError(`${new URL(url).pathname} answered more than ${MAX_RESPONSE_BYTES} bytes`);
    let body: Buffer;
    try {
      body = Buffer.from(await response.arrayBuffer());
    } catch {
      // A body cut off (or timed out) halfway is this PCCS failing, not the broker.
      throw new CollateralFetchError(`${new URL(url).pathname} answer was cut off`);
    }
    if (body.length > MAX_RESPONSE_BYTES) throw new CollateralFetchError(`${new URL(url).pathname} answered more than ${MAX_RESPONSE_BYTES} bytes`);
    return { body, headers: response.headers };
  }
}

function header(headers: Headers, ...names: string[]): string {
  for (const name of names) {
    const value = headers.get(name);
    if (value) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(value);
      } catch {
        throw new CollateralFetchError(`${name} is not URL-encoded`);
      }
      if (!decoded.includes('-----BEGIN CERTIFICATE-----')) throw new CollateralFetchError(`${name} is not a PEM chain`);
      return decoded;
    }
  }
  throw new CollateralFetchError(`missing header ${names[0]}`);
}

/** CRLs arrive as DER, or as hex text from a PCCS; both become hex. */
function crlHex(body: Buffer, what: string): string {
  const text = body.toString('latin1').trim();
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) return text.toLowerCase();
  if (body[0] === 0x30) return body.toString('hex');
  if (text.startsWith('-----BEGIN X509 CRL-----')) {
    return Buffer.from(text.replace(/-----[A-Z0-9 ]+-----/g, '').replace(/\s+/g, ''), 'base64').toString('hex');
  }
  throw new CollateralFetchError(`${what} is neither DER nor hex`);
}

function signatureHex(text: string, what: string): string {
  let signature: unknown;
  try {
    signature = (JSON.parse(text) as { signature?: unknown }).signature;
  } catch {
    throw new CollateralFetchError(`${what} response is not JSON`);
  }
  if (typeof signature !== 'string' || !/^[0-9a-fA-F]{128}$/.test(signature)) throw new CollateralFetchError(`${what} signature missing or malformed`);
  return signature.toLowerCase();
}
