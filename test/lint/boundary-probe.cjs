/**
 * Lints in-memory probe files with the project's eslint.config.mjs (type-aware parsing off: the
 * probes are not on disk) and prints the boundaries/dependencies messages of each as JSON.
 * stdin: [{ "file": "<path from the repository root>", "code": "<source>" }, ...]
 * stdout: [["<message>", ...], ...] in the same order. Run with the repository as cwd.
 * A child process, because jest's module system cannot load an ESM config file.
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { ESLint } = require('eslint');
const tseslint = require('typescript-eslint');

async function main() {
  const probes = JSON.parse(fs.readFileSync(0, 'utf8'));
  const eslint = new ESLint({ cwd: process.cwd(), overrideConfig: [{ files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked }] });
  const out = [];
  for (const { file, code } of probes) {
    const [result] = await eslint.lintText(code, { filePath: path.resolve(file) });
    out.push(result.messages.filter((m) => m.ruleId === 'boundaries/dependencies' || m.fatal).map((m) => m.message));
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});
