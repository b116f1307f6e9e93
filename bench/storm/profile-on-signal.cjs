/*
 * Preloaded (node -r) into a broker the storm bench profiles: the first SIGWINCH starts V8's CPU
 * profiler (what `node --cpu-prof` runs, same 1 ms sampling), the second stops it and writes
 * BOOTKEY_PROFILE_DIR/broker-<pid>.cpuprofile. So the profile covers the storm only, not start-up
 * (module loading, migrations), and the broker needs no exit to write it.
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const inspector = require('node:inspector');

const dir = process.env.BOOTKEY_PROFILE_DIR || '.';
let session;

process.on('SIGWINCH', () => {
  if (!session) {
    session = new inspector.Session();
    session.connect();
    session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 1000 }, () => session.post('Profiler.start')));
    return;
  }
  const current = session;
  session = undefined;
  current.post('Profiler.stop', (error, result) => {
    if (!error) {
      const file = path.join(dir, `broker-${process.pid}.cpuprofile`);
      fs.writeFileSync(file, JSON.stringify(result.profile));
      process.stderr.write(`profile written: ${file}\n`);
    }
    current.disconnect();
  });
});
