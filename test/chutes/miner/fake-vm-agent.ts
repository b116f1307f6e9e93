/**
 * Stand-in for a Chutes VM's attestation proxy (what a registered server serves on :30443), for
 * the Chutes client tests. Written from ../shared/CHUTES-PROTOCOL.md §3 (the VM proxy's validator
 * rule) and §2.7 (the evidence), not from the sek8s code. TEST MATERIAL ONLY: its quotes come
 * from the test forge.
 *
 * `GET /server/attest?nonce=<64 hex>` answers only a validator-signed request, checked in the
 * proxy's order:
 *   1. no allowed validators configured                        -> 500
 *   2. a header missing, or X-Chutes-Hotkey not in the list     -> 401 "go away (missing)"
 *   3. now - X-Chutes-Nonce >= 30 s (no future bound, as the proxy) -> 401 "go away (missing)"
 *   4. X-Chutes-Signature (hex sr25519) over `{hotkey}:{ts}:attest` (the body hash when a body
 *      is sent) does not verify                                -> 401 "Invalid signature"
 * then `{"tdx_quote": <base64>, "nvtrust_evidence": <the evidence array as a JSON string>}`, the
 * quote's REPORTDATA = nonce || SHA-256(SPKI of this proxy's TLS certificate), registers from the
 * config; with a miner seed configured, the response carries the miner's proof headers (over
 * `{miner}:{ts}:tee`) and always `X-Signature` (RSA-SHA256 of the body with the TLS key).
 *
 * Config (DIR/config.json, re-read at every request so a test can change it):
 *   { "allowed_validators": [ss58...], "miner_seed": "0x…"?, "gpus": [uuid...],
 *     "registers": { "mrtd", "rtmr0".."rtmr3" }, "tls": { "cert": FILE, "key": FILE }? }
 * `tls` replaces the TLS certificate and key given on the command line (a gen-C VM's proxy leaf,
 * issued by its per-boot root CA); it is re-read at every new connection.
 * Every request is appended to DIR/requests.jsonl ({path, nonce, hotkey, ts, age_s, status, detail}).
 *
 *   node -r ./test/support/forge/ts-register.cjs test/chutes/miner/fake-vm-agent.ts \
 *        --port P --dir DIR --forge-state DIR --cert FILE --key FILE [--validator-seed-file F]
 */
import { createHash, createSign, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Keyring } from '@polkadot/keyring';
import { hexToU8a } from '@polkadot/util';
import { cryptoWaitReady, signatureVerify } from '@polkadot/util-crypto';
import { openForgeState } from '../../support/forge/forge-state';
import { forgeQuote } from '../../support/forge/quote';

const MAX_AGE_S = 30;

interface AgentConfig {
  allowed_validators?: string[];
  miner_seed?: string;
  gpus?: string[];
  registers?: Record<'mrtd' | 'rtmr0' | 'rtmr1' | 'rtmr2' | 'rtmr3', string>;
  tls?: { cert: string; key: string };
}

interface Verdict {
  status: number;
  detail?: string;
}

function authorize(config: AgentConfig, headers: IncomingHttpHeaders, body: Buffer, now: number): Verdict & { hotkey?: string; ts?: string } {
  const allowed = config.allowed_validators ?? [];
  if (allowed.length === 0) return { status: 500, detail: 'Server misconfiguration: allowed_validators not configured' };
  const hotkey = headers['x-chutes-hotkey'];
  const ts = headers['x-chutes-nonce'];
  const signature = headers['x-chutes-signature'];
  if (typeof hotkey !== 'string' || typeof ts !== 'string' || typeof signature !== 'string' || !allowed.includes(hotkey)) {
    return { status: 401, detail: 'go away (missing)', hotkey: typeof hotkey === 'string' ? hotkey : undefined };
  }
  if (!/^[0-9]+$/.test(ts) || now - Number(ts) >= MAX_AGE_S) return { status: 401, detail: 'go away (missing)', hotkey, ts };
  const payload = body.length > 0 ? createHash('sha256').update(body).digest('hex') : 'attest';
  let valid = false;
  try {
    valid = signatureVerify(`${hotkey}:${ts}:${payload}`, hexToU8a(signature.startsWith('0x') ? signature : `0x${signature}`), hotkey).isValid;
  } catch {
    valid = false;
  }
  return valid ? { status: 200, hotkey, ts } : { status: 401, detail: 'Invalid signature', hotkey, ts };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      dir: { type: 'string' },
      'forge-state': { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      'validator-seed-file': { type: 'string' },
    },
  });
  const dir = values.dir!;
  const configFile = path.join(dir, 'config.json');
  const logFile = path.join(dir, 'requests.jsonl');
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const seedHex = (text: string) => {
    const trimmed = text.trim();
    return hexToU8a(trimmed.startsWith('0x') ? trimmed : `0x${trimmed}`);
  };
  if (values['validator-seed-file'] && !fs.existsSync(configFile)) {
    const validator = keyring.addFromSeed(seedHex(fs.readFileSync(values['validator-seed-file'], 'utf8')));
    fs.writeFileSync(configFile, JSON.stringify({ allowed_validators: [validator.address] }));
  }
  const state = await openForgeState(values['forge-state']!);
  const loadTls = (certFile: string, keyFile: string) => {
    const certPem = fs.readFileSync(certFile, 'utf8');
    const keyPem = fs.readFileSync(keyFile, 'utf8');
    const spkiSha256 = createHash('sha256')
      .update(new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' }))
      .digest();
    return { source: `${certFile}\u0000${keyFile}`, certPem, keyPem, spkiSha256 };
  };
  const initial = loadTls(values.cert!, values.key!);
  let tls = initial;

  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const { keyPem, spkiSha256 } = tls;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    const answer = () => {
      const url = new URL(req.url ?? '/', 'https://agent');
      const now = Math.floor(Date.now() / 1000);
      const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as AgentConfig;
      const reply = (status: number, body: unknown, extra: Record<string, string> = {}) => {
        const text = JSON.stringify(body);
        const signer = createSign('sha256');
        signer.update(text);
        res.writeHead(status, { 'content-type': 'application/json', 'x-signature': signer.sign(keyPem, 'base64'), ...extra }).end(text);
      };
      if (url.pathname === '/health' || url.pathname === '/server/health') return reply(200, { status: 'ok' });
      if (!url.pathname.startsWith('/server/')) return reply(404, { detail: 'Not Found' });
      const verdict = authorize(config, req.headers, Buffer.concat(chunks), now);
      const nonce = url.searchParams.get('nonce') ?? '';
      fs.appendFileSync(
        logFile,
        `${JSON.stringify({ path: url.pathname, nonce, hotkey: verdict.hotkey ?? null, ts: verdict.ts ?? null, age_s: verdict.ts ? now - Number(verdict.ts) : null, status: verdict.status, detail: verdict.detail ?? null })}\n`,
      );
      if (verdict.status !== 200) return reply(verdict.status, { detail: verdict.detail });
      if (url.pathname !== '/server/attest') return reply(404, { detail: 'Not Found' });
      if (!/^[0-9a-f]{64}$/.test(nonce)) return reply(400, { detail: 'nonce must be 64 hex characters' });
      const registers = config.registers;
      if (!registers) throw new Error('config.json has no registers');
      const reg = (name: keyof typeof registers) => Buffer.from(registers[name], 'hex');
      const quote = forgeQuote(state.pki, {
        reportData: Buffer.concat([Buffer.from(nonce, 'hex'), spkiSha256]),
        mrtd: reg('mrtd'),
        rtmrs: { rtmr0: reg('rtmr0'), rtmr1: reg('rtmr1'), rtmr2: reg('rtmr2'), rtmr3: reg('rtmr3') },
      });
      const evidence = (config.gpus ?? []).map((uuid) => ({
        gpu_uuid: uuid,
        nonce,
        arch: 'HOPPER',
        certificate: Buffer.from(`test certificate chain of ${uuid}`).toString('base64'),
        evidence: Buffer.from(`test evidence of ${uuid} for ${nonce}`).toString('base64'),
      }));
      const proof: Record<string, string> = {};
      if (config.miner_seed) {
        const miner = keyring.addFromSeed(seedHex(config.miner_seed));
        const ts = String(now);
        proof['x-chutes-hotkey'] = miner.address;
        proof['x-chutes-nonce'] = ts;
        proof['x-chutes-signature'] = Buffer.from(miner.sign(`${miner.address}:${ts}:tee`)).toString('hex');
      }
      reply(200, { tdx_quote: quote.toString('base64'), nvtrust_evidence: JSON.stringify(evidence) }, proof);
    };
    req.on('end', () => {
      try {
        answer();
      } catch (error) {
        process.stderr.write(`fake-vm-agent: ${error instanceof Error ? error.stack : String(error)}\n`);
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: 'agent error' }));
      }
    });
  });
  // Before the TLS layer takes the connection: switch certificates when config.json names others.
  server.prependListener('connection', () => {
    try {
      const wanted = (JSON.parse(fs.readFileSync(configFile, 'utf8')) as AgentConfig).tls;
      const next = wanted ? loadTls(wanted.cert, wanted.key) : initial;
      if (next.source !== tls.source) {
        server.setSecureContext({ cert: next.certPem, key: next.keyPem });
        tls = next;
      }
    } catch (error) {
      process.stderr.write(`fake-vm-agent: cannot switch certificates: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  });
  server.listen(Number(values.port), '127.0.0.1', () => process.stdout.write(`listening on ${values.port}\n`));
}

main().catch((error: unknown) => {
  process.stderr.write(`fake-vm-agent: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
