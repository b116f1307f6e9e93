#!/usr/bin/env node
/*
 * A TCP front for the broker that answers the first N connections itself, over TLS with the
 * broker's certificate, with 429 + Retry-After (as the broker's rate limiter does), and pipes
 * every later connection untouched to the broker, so mTLS and the client certificate binding
 * still happen end to end. Prints the listening port on stdout.
 *
 *   throttle-proxy.cjs --target PORT --reject N --retry-after S --cert FILE --key FILE
 */
'use strict';

const net = require('node:net');
const tls = require('node:tls');
const fs = require('node:fs');
const { parseArgs } = require('node:util');

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    reject: { type: 'string' },
    'retry-after': { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
  },
});

let remaining = Number(values.reject);
const body = JSON.stringify({ statusCode: 429, error: 'Too Many Requests', message: 'rate limit exceeded', code: 'RATE_LIMITED' });

const refuser = tls.createServer(
  { cert: fs.readFileSync(values.cert), key: fs.readFileSync(values.key), requestCert: true, rejectUnauthorized: false },
  (socket) => {
    socket.once('data', () => {
      socket.end(
        `HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: ${values['retry-after']}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    socket.on('error', () => {});
  },
);

const server = net.createServer((client) => {
  client.on('error', () => {});
  if (remaining > 0) {
    remaining -= 1;
    process.stderr.write(`throttle-proxy: refusing a connection (${remaining} more)\n`);
    refuser.emit('connection', client);
    return;
  }
  const upstream = net.connect(Number(values.target), '127.0.0.1');
  upstream.on('error', () => client.destroy());
  client.pipe(upstream).pipe(client);
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
