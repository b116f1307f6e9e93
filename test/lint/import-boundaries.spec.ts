/**
 * The import-boundary rule of eslint.config.mjs, run through ESLint's Node API on small probe files
 * placed (in memory only) in each layer, so a settings typo or a plugin upgrade cannot make the rule
 * silently stop reporting. Targets are real files: an import that does not resolve is not checked,
 * and a case must not pass for that reason. ESLint runs in a child process (boundary-probe.cjs):
 * jest's module system cannot load the ESM config file.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '../..');

/** [case, importing file, import source, the repository file that source resolves to (null: a package)]. */
type Case = [string, string, string, string | null];

const REFUSED: Case[] = [
  ['core → @nestjs/common', 'src/attestation/core/probe.ts', '@nestjs/common', null],
  ['core → typeorm', 'src/attestation/core/dcap/probe.ts', 'typeorm', null],
  ['core → pg', 'src/attestation/core/probe.ts', 'pg', null],
  ['core → node:fs', 'src/attestation/core/probe.ts', 'node:fs', null],
  ['core → fs', 'src/attestation/core/probe.ts', 'fs', null],
  ['core → node:net', 'src/attestation/core/probe.ts', 'node:net', null],
  ['core → node:http', 'src/attestation/core/probe.ts', 'node:http', null],
  ['core → node:https', 'src/attestation/core/probe.ts', 'node:https', null],
  ['core → common outside errors', 'src/attestation/core/probe.ts', '../../common/clock/clock', 'src/common/clock/clock.ts'],
  ['core → attestation outside core', 'src/attestation/core/quote/probe.ts', '../../attestation.module', 'src/attestation/attestation.module.ts'],
  ['core → config', 'src/attestation/core/probe.ts', '../../config/app-config', 'src/config/app-config.ts'],
  ['errors → common', 'src/common/errors/probe.ts', '../clock/clock', 'src/common/clock/clock.ts'],
  ['common → config', 'src/common/probe.ts', '../config/app-config', 'src/config/app-config.ts'],
  ['common → database', 'src/common/http/probe.ts', '../../database/database.module', 'src/database/database.module.ts'],
  ['common → a feature', 'src/common/probe.ts', '../keys/keys.module', 'src/keys/keys.module.ts'],
  ['config → database', 'src/config/probe.ts', '../database/database.module', 'src/database/database.module.ts'],
  ['config → attestation core', 'src/config/probe.ts', '../attestation/core/quote', 'src/attestation/core/quote/index.ts'],
  ['config → a feature', 'src/config/probe.ts', '../boot/boot.module', 'src/boot/boot.module.ts'],
  ['database → a feature', 'src/database/probe.ts', '../nonces/nonce.module', 'src/nonces/nonce.module.ts'],
  ['database → app.factory', 'src/database/probe.ts', '../app.factory', 'src/app.factory.ts'],
  ['a feature → app.module', 'src/servers/probe.ts', '../app.module', 'src/app.module.ts'],
  ['luks → boot', 'src/luks/probe.ts', '../boot/boot.module', 'src/boot/boot.module.ts'],
  ['boot → luks', 'src/boot/probe.ts', '../luks/luks.module', 'src/luks/luks.module.ts'],
  ['cli → a feature', 'src/cli/probe.ts', '../keys/keys.module', 'src/keys/keys.module.ts'],
  ['cli → config', 'src/cli/probe.ts', '../config/app-config', 'src/config/app-config.ts'],
  ['migrations → src', 'migrations/probe.ts', '../src/database/database.module', 'src/database/database.module.ts'],
];

const ALLOWED: Case[] = [
  ['core → node:crypto', 'src/attestation/core/probe.ts', 'node:crypto', null],
  ['core → core', 'src/attestation/core/dcap/probe.ts', '../quote', 'src/attestation/core/quote/index.ts'],
  ['core → common/errors', 'src/attestation/core/probe.ts', '../../common/errors', 'src/common/errors/index.ts'],
  ['common → common/errors', 'src/common/probe.ts', './errors', 'src/common/errors/index.ts'],
  ['common → a package', 'src/common/probe.ts', '@nestjs/common', null],
  ['config → common', 'src/config/probe.ts', '../common/clock/clock', 'src/common/clock/clock.ts'],
  ['database → config', 'src/database/probe.ts', '../config/app-config', 'src/config/app-config.ts'],
  ['a feature → attestation core', 'src/measurements/probe.ts', '../attestation/core/quote', 'src/attestation/core/quote/index.ts'],
  ['a feature → database', 'src/nonces/probe.ts', '../database/database.module', 'src/database/database.module.ts'],
  ['a feature → another feature', 'src/servers/probe.ts', '../keys/keys.module', 'src/keys/keys.module.ts'],
  ['app → a feature', 'src/probe.ts', './boot/boot.module', 'src/boot/boot.module.ts'],
  ['cli → common', 'src/cli/probe.ts', '../common/errors', 'src/common/errors/index.ts'],
  ['a core spec → @nestjs/common (specs are not shipped)', 'src/attestation/core/probe.spec.ts', '@nestjs/common', null],
  ['a test helper → anything', 'test/support/probe.ts', '../../src/app.factory', 'src/app.factory.ts'],
];

const CASES = [...REFUSED, ...ALLOWED];
let reported: Map<string, string[]>;

beforeAll(() => {
  const probes = CASES.map(([, file, source]) => ({ file, code: `import * as probe from '${source}';\nexport { probe };\n` }));
  const output = execFileSync(process.execPath, [path.join(__dirname, 'boundary-probe.cjs')], { cwd: REPO, input: JSON.stringify(probes), encoding: 'utf8' });
  const messages = JSON.parse(output) as string[][];
  reported = new Map(CASES.map(([name], index) => [name, messages[index]]));
});

describe('import boundaries (eslint.config.mjs)', () => {
  it.each(CASES.filter(([, , , target]) => target !== null))('%s: the imported file exists', (_name, _file, _source, target) => {
    expect(fs.existsSync(path.join(REPO, target!))).toBe(true);
  });

  it.each(REFUSED)('refuses %s', (name) => {
    expect(reported.get(name)).toEqual([expect.stringMatching(/no policy allowing|not allowed/)]);
  });

  it.each(ALLOWED)('allows %s', (name) => {
    expect(reported.get(name)).toEqual([]);
  });
});
