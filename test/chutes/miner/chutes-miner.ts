/**
 * Test client: the miner side of the Chutes `/servers` API as chutes-miner drives it, written for
 * bootkey's tests from ../shared/CHUTES-PROTOCOL.md and DESIGN.md (not from chutes-miner's code):
 *
 * - signing as chutes-miner's `sign_request`: headers X-Chutes-Hotkey, X-Chutes-Nonce (unix
 *   seconds) and X-Chutes-Signature (hex sr25519, no `0x`) over `{hotkey}:{ts}:{sha256hex(body)}`
 *   when there is a payload (serialised as Python's `json.dumps` does: `", "` and `": "`
 *   separators, ASCII escapes), else over `{hotkey}:{ts}:{purpose}`;
 * - the tools' loops: name sync sends ONE header set for a PATCH per server; `scorch-remote` lists
 *   `GET /miner/servers/` (purpose `miner`), then sends ONE purpose-`tee` header set for a DELETE per
 *   server; `remote-inventory` is `GET /miner/servers/`; registration is a body-signed
 *   `POST /servers/`.
 *
 * CLI for the shell harness (test/chutes/run.sh), JSON on stdout:
 *   chutes-miner.ts make-hotkey FILE                   a Bittensor-style hotkey file; prints the ss58
 *   chutes-miner.ts register --host H --id ID --name N --gpus UUID,UUID
 *   chutes-miner.ts delete-remote NAME_OR_ID
 *   chutes-miner.ts remote-inventory
 *   common: --url BROKER --ca CA_FILE --hotkey-file FILE
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import { parseArgs } from 'node:util';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { hexToU8a } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';

export interface Validator {
  /** The broker's origin, e.g. https://127.0.0.1:8443 */
  url: string;
  /** PEM of the CA that issued the broker's TLS certificate. */
  ca: string;
}

export interface Reply {
  status: number;
  text: string;
  json: unknown;
}

/** A float as Python writes it (`1980.0`), for payload fields the real miner holds as floats. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Python's `json.dumps(value)` with its defaults (separators `", "`/`": "`, ensure_ascii). */
export function pythonJsonDumps(value: unknown): string {
  if (value instanceof PyFloat) return Number.isInteger(value.value) ? `${value.value}.0` : String(value.value);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.map(([k, v]) => `${pythonJsonDumps(k)}: ${pythonJsonDumps(v)}`).join(', ')}}`;
}

export async function hotkeyFromSeed(seedHex: string): Promise<KeyringPair> {
  await cryptoWaitReady();
  const hex = seedHex.trim().startsWith('0x') ? seedHex.trim() : `0x${seedHex.trim()}`;
  return new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromSeed(hexToU8a(hex));
}

/** A Bittensor wallet hotkey file (`{"secretSeed": "0x…", "ss58Address": …}`), as chutes-miner loads one. */
export async function loadHotkeyFile(file: string): Promise<KeyringPair> {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { secretSeed?: string };
  if (!parsed.secretSeed) throw new Error(`${file} has no secretSeed`);
  return hotkeyFromSeed(parsed.secretSeed);
}

export async function makeHotkeyFile(file: string): Promise<KeyringPair> {
  const seed = `0x${randomBytes(32).toString('hex')}`;
  const pair = await hotkeyFromSeed(seed);
  fs.writeFileSync(file, JSON.stringify({ secretSeed: seed, ss58Address: pair.address, accountId: `0x${Buffer.from(pair.publicKey).toString('hex')}` }), {
    mode: 0o600,
  });
  return pair;
}

export function unixSeconds(): string {
  return String(Math.floor(Date.now() / 1000));
}

/**
 * One signed header set, as `sign_request`: with a payload, the body is its `json.dumps` and the
 * signature covers its SHA-256; without one, the signature covers `purpose`.
 */
export function signRequest(pair: KeyringPair, payload?: unknown, purpose?: string, nonce = unixSeconds()): { headers: Record<string, string>; body?: string } {
  const headers: Record<string, string> = { 'X-Chutes-Hotkey': pair.address, 'X-Chutes-Nonce': nonce };
  let body: string | undefined;
  let tail: string;
  if (payload !== undefined) {
    body = typeof payload === 'string' ? payload : pythonJsonDumps(payload);
    headers['Content-Type'] = 'application/json';
    tail = createHash('sha256').update(body, 'utf8').digest('hex');
  } else {
    if (!purpose) throw new Error('a request without a payload needs a purpose');
    tail = purpose;
  }
  headers['X-Chutes-Signature'] = Buffer.from(pair.sign(`${pair.address}:${nonce}:${tail}`)).toString('hex');
  return { headers, body };
}

export function send(validator: Validator, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  const url = new URL(path, validator.url);
  return new Promise((resolve, reject) => {
    const request = https.request(url, { method, ca: validator.ca, headers: { accept: 'application/json', ...headers }, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: response.statusCode ?? 0, text, json });
      });
      response.on('error', reject);
    });
    request.setTimeout(150_000, () => request.destroy(new Error(`${method} ${path}: no answer`)));
    request.on('error', reject);
    if (body !== undefined) request.write(body);
    request.end();
  });
}

/** NodeArgs as chutes-miner reports a GPU (clock_rate is a float there). */
export function nodeArgs(uuid: string, deviceIndex: number, host: string): Record<string, unknown> {
  return {
    uuid,
    name: 'NVIDIA H200',
    memory: 150754820096,
    major: 9,
    minor: 0,
    processors: 132,
    sxm: true,
    clock_rate: new PyFloat(1980),
    max_threads_per_processor: 2048,
    concurrent_kernels: true,
    ecc: true,
    device_index: deviceIndex,
    gpu_identifier: 'h200',
    verification_host: host,
    verification_port: 32000 + deviceIndex,
  };
}

export interface ServerArgs {
  host: string;
  id: string;
  name?: string;
  gpus: Record<string, unknown>[];
  [extra: string]: unknown;
}

/** `POST /servers/`, body-signed. */
export function registerServer(validator: Validator, pair: KeyringPair, server: ServerArgs): Promise<Reply> {
  const { headers, body } = signRequest(pair, server);
  return send(validator, 'POST', '/servers/', headers, body);
}

/** `chutes-miner remote-inventory`: `GET /miner/servers/` with purpose `miner`. */
export function remoteInventory(validator: Validator, pair: KeyringPair, purpose = 'miner'): Promise<Reply> {
  return send(validator, 'GET', '/miner/servers/', signRequest(pair, undefined, purpose).headers);
}

/** One server removed: `DELETE /servers/{name or id}` with purpose `tee`. */
export function deleteRemote(validator: Validator, pair: KeyringPair, nameOrId: string): Promise<Reply> {
  return send(validator, 'DELETE', `/servers/${encodeURIComponent(nameOrId)}`, signRequest(pair, undefined, 'tee').headers);
}

/** The name-sync loop: ONE purpose-`tee` header set for `PATCH /servers/{id}?server_name=` per server. */
export async function syncNames(
  validator: Validator,
  pair: KeyringPair,
  renames: { id: string; name: string }[],
  headers = signRequest(pair, undefined, 'tee').headers,
): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (const { id, name } of renames) {
    replies.push(await send(validator, 'PATCH', `/servers/${encodeURIComponent(id)}?server_name=${encodeURIComponent(name)}`, headers));
  }
  return replies;
}

/** `chutes-miner scorch-remote`: list, then ONE purpose-`tee` header set for a DELETE per server. */
export async function scorchRemote(validator: Validator, pair: KeyringPair): Promise<{ listing: Reply; deletes: { name: string; reply: Reply }[] }> {
  const listing = await remoteInventory(validator, pair);
  const deletes: { name: string; reply: Reply }[] = [];
  if (listing.status !== 200) return { listing, deletes };
  const servers = (listing.json as { servers?: { name?: string; server_id?: string }[] }).servers ?? [];
  const { headers } = signRequest(pair, undefined, 'tee');
  for (const server of servers) {
    const name = server.name ?? server.server_id ?? '';
    deletes.push({ name, reply: await send(validator, 'DELETE', `/servers/${encodeURIComponent(name)}`, headers) });
  }
  return { listing, deletes };
}

async function cli(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      ca: { type: 'string' },
      'hotkey-file': { type: 'string' },
      host: { type: 'string' },
      id: { type: 'string' },
      name: { type: 'string' },
      gpus: { type: 'string' },
    },
  });
  const [command, arg] = positionals;
  if (command === 'make-hotkey') {
    process.stdout.write(`${(await makeHotkeyFile(arg)).address}\n`);
    return 0;
  }
  if (!values.url || !values.ca || !values['hotkey-file']) throw new Error('--url, --ca and --hotkey-file are required');
  const validator: Validator = { url: values.url, ca: fs.readFileSync(values.ca, 'utf8') };
  const pair = await loadHotkeyFile(values['hotkey-file']);
  let reply: Reply;
  if (command === 'register') {
    const host = values.host ?? '127.0.0.1';
    const gpus = (values.gpus ?? '')
      .split(',')
      .filter(Boolean)
      .map((uuid, index) => nodeArgs(uuid, index, host));
    reply = await registerServer(validator, pair, { host, id: values.id ?? '', name: values.name, gpus });
  } else if (command === 'delete-remote') {
    reply = await deleteRemote(validator, pair, arg);
  } else if (command === 'remote-inventory') {
    reply = await remoteInventory(validator, pair);
  } else {
    throw new Error(`unknown command ${command}`);
  }
  process.stdout.write(`${JSON.stringify({ status: reply.status, body: reply.json ?? reply.text })}\n`);
  return reply.status >= 200 && reply.status < 300 ? 0 : 1;
}

if (require.main === module) {
  cli(process.argv.slice(2)).then(
    (status) => {
      process.exitCode = status;
    },
    (error: unknown) => {
      process.stderr.write(`chutes-miner: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
