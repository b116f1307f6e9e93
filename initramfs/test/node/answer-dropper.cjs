#!/usr/bin/env node
/*
 * A TCP front for the broker that loses answers: connection N follows entry N of --plan
 * ("pass" or "drop"; connections past the plan pass). Bytes are piped untouched (TLS and the
 * client certificate stay end to end: one curl run is one connection), except on a "drop"
 * connection: once the client has sent its second flight (TLS 1.3: its Finished, then the HTTP
 * request), everything the broker sends back (session tickets, the answer) is discarded, and
 * when the first bytes of it arrive — the broker commits before it answers — the client's
 * connection is reset. The request reached the broker; its answer never reaches the VM.
 * Prints the listening port on stdout; one line per dropped answer on stderr.
 *
 *   answer-dropper.cjs --target PORT --plan pass,pass,drop
 */
'use strict';

const net = require('node:net');
const { parseArgs } = require('node:util');

const { values } = parseArgs({ options: { target: { type: 'string' }, plan: { type: 'string' } } });
const plan = (values.plan ?? '').split(',').filter(Boolean);
for (const step of plan) {
  if (step !== 'pass' && step !== 'drop') {
    process.stderr.write(`answer-dropper: unknown plan step ${step}\n`);
    process.exit(2);
  }
}

let connections = 0;

const server = net.createServer((client) => {
  connections += 1;
  const number = connections;
  const step = plan[number - 1] ?? 'pass';
  const upstream = net.connect(Number(values.target), '127.0.0.1');
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  if (step === 'pass') {
    client.pipe(upstream).pipe(client);
    return;
  }
  let clientChunks = 0;
  let dropped = 0;
  client.on('data', (chunk) => {
    clientChunks += 1;
    upstream.write(chunk);
  });
  client.on('end', () => upstream.end());
  upstream.on('data', (chunk) => {
    if (clientChunks < 2) {
      client.write(chunk);
      return;
    }
    dropped += chunk.length;
    if (dropped === chunk.length) {
      // Let the broker finish writing, then cut the VM off without a word.
      setTimeout(() => {
        process.stderr.write(`answer-dropper: connection ${number}: dropped the answer (${dropped} bytes)\n`);
        client.resetAndDestroy();
        upstream.destroy();
      }, 200);
    }
  });
  upstream.on('end', () => {
    if (dropped === 0) client.end();
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
