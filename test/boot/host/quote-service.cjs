#!/usr/bin/env node
/*
 * The host side of the boot test's quotes: what a host's quote generation service is to a real
 * TD. QEMU connects its virtio-serial port "org.bootkey.quote" to this unix socket; for each
 * line "QUOTE <128 hex>" from the guest it runs the repo's quote forge (forge-quote.cjs) with the
 * scenario's measurements and answers "OK <hex> <base64 quote>" (or "ERR <hex> <reason>").
 * Every request is appended to --log as a JSON line {time, report_data, ok}.
 *
 *   quote-service.cjs --socket PATH --forge FILE --state-dir DIR --log FILE [--forge-arg ARG]...
 */
'use strict';

const fs = require('node:fs');
const net = require('node:net');
const { execFile } = require('node:child_process');
const { parseArgs } = require('node:util');

const { values } = parseArgs({
  options: {
    socket: { type: 'string' },
    forge: { type: 'string' },
    'state-dir': { type: 'string' },
    log: { type: 'string' },
    'forge-arg': { type: 'string', multiple: true },
  },
});
for (const name of ['socket', 'forge', 'state-dir', 'log']) {
  if (!values[name]) {
    process.stderr.write(`quote-service: --${name} is required\n`);
    process.exit(2);
  }
}

function forge(hex) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [values.forge, '--state-dir', values['state-dir'], '--report-data', hex, ...(values['forge-arg'] ?? [])],
      { timeout: 30000 },
      (error, stdout, stderr) => {
        if (error) resolve({ ok: false, reason: (stderr || error.message).split('\n')[0] });
        else resolve({ ok: true, quote: stdout.trim() });
      },
    );
  });
}

function record(entry) {
  fs.appendFileSync(values.log, `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
}

try {
  fs.unlinkSync(values.socket);
} catch {
  /* not there */
}
const server = net.createServer((conn) => {
  let buffered = '';
  let queue = Promise.resolve();
  conn.on('data', (chunk) => {
    buffered += chunk.toString('latin1');
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).replace(/\r$/, '');
      buffered = buffered.slice(nl + 1);
      queue = queue.then(() => answer(conn, line));
    }
    if (buffered.length > 4096) buffered = '';
  });
  conn.on('error', () => undefined);
});

async function answer(conn, line) {
  const match = /^QUOTE ([0-9a-f]{128})$/.exec(line);
  if (!match) {
    record({ ok: false, reason: 'malformed request' });
    return;
  }
  const hex = match[1];
  const result = await forge(hex);
  record({ report_data: hex, ok: result.ok, ...(result.ok ? {} : { reason: result.reason }) });
  conn.write(result.ok ? `OK ${hex} ${result.quote}\n` : `ERR ${hex} ${result.reason}\n`);
}

server.listen(values.socket, () => process.stdout.write('listening\n'));
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    try {
      fs.unlinkSync(values.socket);
    } catch {
      /* gone */
    }
    process.exit(0);
  });
}
