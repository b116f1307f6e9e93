#!/usr/bin/env node
/*
 * The VM's sr25519 tool in the Chutes client tests (the real image ships a static `sr25519`
 * CLI; CHUTES-PROTOCOL.md §1.1). Written for bootkey's tests with @polkadot/util-crypto:
 *   sr25519 address --seed-file F                  ss58 (prefix 42) of the seed's public key
 *   sr25519 sign --seed-file F --message TEXT      hex signature (128 chars, no 0x) of TEXT
 * The seed file holds 32 bytes as hex (optional 0x, surrounding whitespace ignored). Nothing
 * derived from the seed other than the address and the signature is ever printed.
 */
'use strict';

const fs = require('node:fs');
const { parseArgs } = require('node:util');
const { cryptoWaitReady, encodeAddress, sr25519PairFromSeed, sr25519Sign } = require('@polkadot/util-crypto');

function usage(message) {
  process.stderr.write(`sr25519: ${message}\nusage: sr25519 address --seed-file F | sr25519 sign --seed-file F --message TEXT\n`);
  process.exit(2);
}

function readSeed(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    usage(`cannot read the seed file (${error.code || 'error'})`);
  }
  const hex = text.startsWith('0x') ? text.slice(2) : text;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) usage('the seed file does not hold 32 bytes of hex');
  return Buffer.from(hex, 'hex');
}

async function main() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { 'seed-file': { type: 'string' }, message: { type: 'string' } },
    });
  } catch (error) {
    usage(error.message);
  }
  const { values, positionals } = parsed;
  const [command] = positionals;
  if (positionals.length !== 1 || !['address', 'sign'].includes(command)) usage('one command: address or sign');
  if (!values['seed-file']) usage('--seed-file is required');
  if (command === 'sign' && values.message === undefined) usage('sign needs --message');
  await cryptoWaitReady();
  const seed = readSeed(values['seed-file']);
  const pair = sr25519PairFromSeed(seed);
  seed.fill(0);
  if (command === 'address') {
    process.stdout.write(`${encodeAddress(pair.publicKey, 42)}\n`);
  } else {
    process.stdout.write(`${Buffer.from(sr25519Sign(Buffer.from(values.message, 'utf8'), pair)).toString('hex')}\n`);
  }
  pair.secretKey.fill(0);
}

main().catch((error) => {
  process.stderr.write(`sr25519: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
