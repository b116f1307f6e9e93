#!/usr/bin/env node
/*
 * The test's independent view of the broker: attests as a VM (fresh nonce, forged quote bound
 * to this client certificate, mTLS) and syncs the volume list without rekeying, so the harness
 * learns the keys the broker holds for (hotkey, vm) without trusting the scripts under test.
 * Prints {"root_key": ..., "volumes": {...}} on stdout (the harness keeps it in memory only).
 *
 *   broker-client.cjs --url URL --ca FILE --cert FILE --key FILE --spki-sha256 HEX
 *                     --hotkey SS58 --vm NAME --volumes a,b --forge CMD --forge-state DIR
 *                     [--forge-arg ARG]... [--rekey a,b] [--previous]
 *
 * --rekey: rekey those volumes (what an intruder claiming this VM's identity would do).
 * --previous: sync with `previous: true`; "volumes" still holds the current keys, and
 * "previous" the earlier generations the broker keeps for each volume (newest first).
 */
'use strict';

const https = require('node:https');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { parseArgs } = require('node:util');

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    ca: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    'spki-sha256': { type: 'string' },
    hotkey: { type: 'string' },
    vm: { type: 'string' },
    volumes: { type: 'string' },
    forge: { type: 'string' },
    'forge-state': { type: 'string' },
    'forge-arg': { type: 'string', multiple: true },
    rekey: { type: 'string' },
    previous: { type: 'boolean' },
  },
});

function request(method, path, headers, body) {
  const url = new URL(path, values.url);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: fs.readFileSync(values.ca),
        cert: fs.readFileSync(values.cert),
        key: fs.readFileSync(values.key),
        headers: { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text));
        });
      },
    );
    req.on('error', reject);
    if (body) req.write(JSON.stringify(body));
    req.end();
  });
}

async function main() {
  const { nonce } = await request('GET', '/servers/nonce', {});
  const quote = execFileSync(process.execPath, [
    values.forge,
    '--state-dir',
    values['forge-state'],
    '--report-data',
    nonce + values['spki-sha256'],
    ...(values['forge-arg'] ?? []),
  ])
    .toString('utf8')
    .trim();
  const attested = await request('POST', '/servers/boot/attestation', { 'x-chutes-nonce': nonce }, { quote, miner_hotkey: values.hotkey, vm_name: values.vm });
  const answer = await request(
    'POST',
    `/servers/${values.vm}/luks`,
    { 'x-chutes-hotkey': values.hotkey, 'x-boot-token': attested.boot_token },
    { volumes: values.volumes.split(','), rekey: values.rekey ? values.rekey.split(',') : [], ...(values.previous ? { previous: true } : {}) },
  );
  if (!values.previous) {
    process.stdout.write(JSON.stringify({ root_key: attested.key, volumes: answer }) + '\n');
    return;
  }
  const volumes = {};
  const previous = {};
  for (const [name, entry] of Object.entries(answer)) {
    volumes[name] = entry.current;
    previous[name] = entry.previous;
  }
  process.stdout.write(JSON.stringify({ root_key: attested.key, volumes, previous }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`broker-client: ${error.message}\n`);
  process.exitCode = 1;
});
