#!/usr/bin/env node
/*
 * Executable entry point of the forge's quote command (see quote-cmd.ts, or run with --help):
 *   test/support/forge/forge-quote.cjs --report-data HEX [--out FILE] [--state-dir DIR] ...
 * Works with plain node: TypeScript is transpiled on load by ts-register.cjs.
 */

'use strict';

require('./ts-register.cjs');

require('./quote-cmd.ts')
  .main(process.argv.slice(2))
  .then((status) => {
    process.exitCode = status;
  });
