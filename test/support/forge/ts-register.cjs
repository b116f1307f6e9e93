/*
 * A transpile-only TypeScript require hook, so the forge's commands run with plain node when
 * ts-node is not installed: `node -r ./test/support/forge/ts-register.cjs some-file.ts`.
 * It steps aside if another hook (ts-node, jest) already handles .ts files.
 */

'use strict';

const fs = require('node:fs');
const ts = require('typescript');

const COMPILER_OPTIONS = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  inlineSourceMap: true,
};

if (!require.extensions['.ts']) {
  require.extensions['.ts'] = function compileTypeScript(tsModule, filename) {
    const source = fs.readFileSync(filename, 'utf8');
    const { outputText } = ts.transpileModule(source, { fileName: filename, compilerOptions: COMPILER_OPTIONS });
    tsModule._compile(outputText, filename);
  };
}

module.exports = {};
