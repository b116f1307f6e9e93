#!/usr/bin/env node
/*
 * A TLS front that drops one answer, for the Chutes client tests (the lost root-confirm answer of
 * CHUTES-PROTOCOL.md §7.2 item 1): a TCP pass-through to the broker on 127.0.0.1, so TLS is
 * untouched and the broker still sees the VM's client certificate.
 *
 *   node drop-answer-proxy.cjs --target PORT --drop N     (prints its own port, then serves)
 *
 * Every connection is passed through both ways, except the N-th (1-based): the client's bytes all
 * reach the broker, but once the client has sent its first TLS record of content type 23 (in TLS
 * 1.3 its encrypted Finished flight, in TLS 1.2 its first application data; either way the
 * server's handshake is complete by then), nothing more from the broker is forwarded — session
 * tickets and the HTTP answer included. When the broker has been silent for QUIET_MS after its
 * last swallowed byte, both sides are closed: the broker has processed the request, the client
 * sees the connection end without an answer (curl: HTTP 000). Each connection is logged on
 * stderr: "conn N: passed" or "conn N: answer dropped (...)".
 */
'use strict';

const net = require('node:net');
const { setTimeout, clearTimeout } = require('node:timers');
const { parseArgs } = require('node:util');

const QUIET_MS = 1500;
const APPLICATION_DATA = 23;

const { values } = parseArgs({ options: { target: { type: 'string' }, drop: { type: 'string' } } });
const target = Number(values.target);
const drop = Number(values.drop);
if (!Number.isInteger(target) || !Number.isInteger(drop) || drop < 1) {
  process.stderr.write('usage: drop-answer-proxy.cjs --target PORT --drop N\n');
  process.exit(2);
}

/** Watches a TLS byte stream record by record; calls onType(type) for each record header. */
function recordWatcher(onType) {
  let pending = Buffer.alloc(0);
  let skip = 0;
  return (chunk) => {
    let data = chunk;
    if (skip > 0) {
      const n = Math.min(skip, data.length);
      skip -= n;
      data = data.subarray(n);
    }
    pending = Buffer.concat([pending, data]);
    while (skip === 0 && pending.length >= 5) {
      onType(pending[0]);
      const length = pending.readUInt16BE(3);
      const available = pending.length - 5;
      if (available >= length) {
        pending = pending.subarray(5 + length);
      } else {
        skip = length - available;
        pending = Buffer.alloc(0);
      }
    }
  };
}

let connections = 0;
const server = net.createServer((client) => {
  connections += 1;
  const number = connections;
  const dropping = number === drop;
  const broker = net.connect(target, '127.0.0.1');
  let clientBytes = 0;
  let swallowed = 0;
  let cut = false;
  let quiet;
  const close = (why) => {
    clearTimeout(quiet);
    client.destroy();
    broker.destroy();
    if (dropping) {
      process.stderr.write(`conn ${number}: answer dropped (${why}; client sent ${clientBytes} bytes, ${swallowed} bytes of the broker not forwarded)\n`);
    }
  };
  const watch = recordWatcher((type) => {
    if (type === APPLICATION_DATA) cut = true;
  });
  client.on('data', (chunk) => {
    clientBytes += chunk.length;
    if (dropping) watch(chunk);
    broker.write(chunk);
  });
  broker.on('data', (chunk) => {
    if (!dropping || !cut) {
      client.write(chunk);
      return;
    }
    swallowed += chunk.length;
    clearTimeout(quiet);
    quiet = setTimeout(() => close('the broker went quiet'), QUIET_MS);
  });
  client.on('end', () => broker.end());
  broker.on('end', () => (dropping ? close('the broker closed') : client.end()));
  client.on('error', () => broker.destroy());
  broker.on('error', () => client.destroy());
  if (!dropping) client.on('close', () => process.stderr.write(`conn ${number}: passed\n`));
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
