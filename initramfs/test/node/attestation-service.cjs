#!/usr/bin/env node
/*
 * A VM's own attestation service, as the broker calls it when a miner registers the VM as a
 * server: HTTPS on 127.0.0.1, `GET /server/attest?nonce=<64 hex>` answers
 * {quote, nvtrust_evidence: null} with a quote from the repo's forge (loaded once, in process:
 * the broker waits 5 s at most) whose REPORTDATA is the nonce and the SHA-256 of this service's
 * TLS key (its SPKI), with the given registers. Prints the port on stdout once ready.
 *
 *   attestation-service.cjs --cert FILE --key FILE --forge-dir DIR --state-dir DIR
 *                           --mrtd HEX --rtmr0 HEX --rtmr1 HEX --rtmr2 HEX --rtmr3 HEX
 */
'use strict';

const https = require('node:https');
const fs = require('node:fs');
const path = require('node:path');
const { createHash, createPublicKey } = require('node:crypto');
const { parseArgs } = require('node:util');

const { values } = parseArgs({
  options: {
    cert: { type: 'string' },
    key: { type: 'string' },
    'forge-dir': { type: 'string' },
    'state-dir': { type: 'string' },
    mrtd: { type: 'string' },
    rtmr0: { type: 'string' },
    rtmr1: { type: 'string' },
    rtmr2: { type: 'string' },
    rtmr3: { type: 'string' },
  },
});

async function main() {
  require(path.join(values['forge-dir'], 'ts-register.cjs'));
  const { openForgeState } = require(path.join(values['forge-dir'], 'forge-state.ts'));
  const { forgeQuote } = require(path.join(values['forge-dir'], 'quote.ts'));
  const state = await openForgeState(values['state-dir']);
  const key = fs.readFileSync(values.key);
  const spki = createHash('sha256')
    .update(createPublicKey(key).export({ type: 'spki', format: 'der' }))
    .digest();
  const reg = (name) => Buffer.from(values[name], 'hex');
  const server = https.createServer({ cert: fs.readFileSync(values.cert), key }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://vm');
    const nonce = url.searchParams.get('nonce') ?? '';
    if (url.pathname !== '/server/attest' || !/^[0-9a-f]{64}$/.test(nonce)) return void res.writeHead(404).end();
    const quote = forgeQuote(state.pki, {
      reportData: Buffer.concat([Buffer.from(nonce, 'hex'), spki]),
      mrtd: reg('mrtd'),
      rtmrs: { rtmr0: reg('rtmr0'), rtmr1: reg('rtmr1'), rtmr2: reg('rtmr2'), rtmr3: reg('rtmr3') },
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ quote: quote.toString('base64'), nvtrust_evidence: null }));
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
}

main().catch((error) => {
  process.stderr.write(`attestation-service: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
