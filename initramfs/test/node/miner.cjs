#!/usr/bin/env node
/*
 * The miner's side of the harness: one hotkey-signed request to the broker, signed as the
 * contract says (DESIGN.md "Hotkey-signed", bootkey's v2 message: hotkey, unix-seconds nonce,
 * method, path with query, the broker's origin as audience, SHA-256 of the body), written here
 * from the contract rather than borrowed from the CLI. Prints the HTTP status on the first line
 * of stdout and the response body on the second; exit status 0 whatever the status.
 *
 *   miner.cjs --url URL --ca FILE [--uri //Alice] METHOD PATH [JSON_BODY]
 */
'use strict';

const https = require('node:https');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const { parseArgs } = require('node:util');
const { Keyring } = require('@polkadot/keyring');
const { cryptoWaitReady } = require('@polkadot/util-crypto');

const { values, positionals } = parseArgs({
  options: { url: { type: 'string' }, ca: { type: 'string' }, uri: { type: 'string' } },
  allowPositionals: true,
});
const [method, path, body] = positionals;

async function main() {
  await cryptoWaitReady();
  const pair = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri(values.uri ?? '//Alice');
  const base = new URL(values.url);
  const nonce = String(Math.floor(Date.now() / 1000));
  const bytes = Buffer.from(body ?? '', 'utf8');
  const message = `bootkey-v2:${pair.address}:${nonce}:${method.toUpperCase()}:${path}:${base.origin}:${createHash('sha256').update(bytes).digest('hex')}`;
  const headers = {
    accept: 'application/json',
    'x-chutes-hotkey': pair.address,
    'x-chutes-signature': Buffer.from(pair.sign(message)).toString('hex'),
    'x-chutes-nonce': nonce,
    'x-bootkey-signature-version': '2',
    ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(bytes.length) }),
  };
  const answer = await new Promise((resolve, reject) => {
    const req = https.request(new URL(path, base), { method, headers, ca: fs.readFileSync(values.ca) }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(bytes);
    req.end();
  });
  process.stdout.write(`${answer.status}\n${answer.text}\n`);
}

main().catch((error) => {
  process.stderr.write(`miner: ${error.message}\n`);
  process.exitCode = 1;
});
