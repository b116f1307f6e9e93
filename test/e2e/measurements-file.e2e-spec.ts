/**
 * MEASUREMENTS_FILE in the Chutes shapes (issue 14): the broker starts on the Chutes-style
 * fixtures (gen B flat entries with a version shared by two GPU flavours and a placeholder entry,
 * gen C releases with `hardware:` lists and an rc release); the malformed entry is skipped with
 * one warning, a metric and a /readyz detail; VMs boot against their hardware's set; and the file
 * is re-read when it changes, inserting new sets only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { parse as parseYaml } from 'yaml';
import { ManualClock } from '../../src/common/clock/clock';
import { startTestApp, TestApp } from '../support/app';
import { BOOT_NOW, BootEnv, createBootEnv, ROOT_PASSPHRASE, TestVm } from '../support/boot-env';
import { testDatabase } from '../support/database';
import { KeyringPair, randomKeypair } from '../support/hotkey';
import { httpRequest } from '../support/http';
import { signedRequest } from '../support/signed';

const VECTORS = path.join(__dirname, '../vectors/measurements');
const db = testDatabase('measurements_file');
const clock = new ManualClock(BOOT_NOW);
const warnings = jest.spyOn(Logger.prototype, 'warn');
let env: BootEnv;
let app: TestApp;
let vm: TestVm;
let admin: KeyringPair;
let file: string;

type Json = Record<string, unknown> & { code?: string };
type Release = { version: string; mrtd: string; rtmr1: string; rtmr2: string; runtime_rtmr3: string; hardware: { name: string; rtmr0: string }[] };

const genB = fs.readFileSync(path.join(VECTORS, 'chutes-gen-b.yaml'), 'utf8');
const genC = fs.readFileSync(path.join(VECTORS, 'chutes-gen-c.yaml'), 'utf8');
const releases = (parseYaml(genC, { schema: 'failsafe' }) as { measurements: Release[] }).measurements;
/** Both fixtures in one file; the 1.4.0 release names the test's root passphrase file. */
const fixtureText = () =>
  [
    genC.replace('  - version: "1.4.0"\n', '  - version: "1.4.0"\n    root_passphrase_file: root-passphrase\n'),
    genB.slice(genB.indexOf('measurements:\n') + 'measurements:\n'.length),
  ].join('\n');

const buf = (hex: string) => Buffer.from(hex, 'hex');
/** A gen-C boot quote of `release` on hardware `index`: RTMR3 is still zero at boot. */
const bootQuote = (release: Release, index: number) => ({
  mrtd: buf(release.mrtd),
  rtmrs: { rtmr0: buf(release.hardware[index].rtmr0), rtmr1: buf(release.rtmr1), rtmr2: buf(release.rtmr2), rtmr3: Buffer.alloc(48) },
});

const call = (method: string, route: string, body?: unknown) => signedRequest<Json>(admin, clock.now(), method, `${app.baseUrl}${route}`, body);
const readyz = async () => (await httpRequest<{ measurements: Json & { skipped: Json[] } }>(`${app.baseUrl}/readyz`)).json.measurements;
const sets = async () =>
  ((await call('GET', '/admin/measurements')).json.items as Json[]).map((set) => `${String(set.name)} ${String(set.version)}${set.rc ? ' rc' : ''}`);

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Rewrites the file so its size and mtime change (the watcher polls stat). */
function rewrite(text: string): void {
  fs.writeFileSync(file, text);
  const later = new Date(Date.now() + 5_000);
  fs.utimesSync(file, later, later);
}

beforeAll(async () => {
  // The gen-C fixture is release 1.4.0: these tests are about loading it and boot unsigned (gen B);
  // the signed gen-C boot is gen-c.e2e-spec.ts.
  env = await createBootEnv({ GEN_C_MIN_VERSION: '99.0.0' });
  admin = await randomKeypair();
  file = path.join(env.dir, 'tee_measurements.yaml');
  fs.writeFileSync(file, fixtureText());
  app = await startTestApp({ database: db.target, clock, env: { ...env.env, MEASUREMENTS_FILE: file, ADMIN_HOTKEYS: admin.address } });
  vm = await TestVm.create(app.baseUrl, env.forge, env.minerHotkey, 'gen-c-vm');
});

afterAll(async () => {
  await app?.close();
  await db.drop();
  env?.cleanup();
});

describe('MEASUREMENTS_FILE in the Chutes shapes', () => {
  const skippedEntry = 'entry 5 (version "2", name "next-image")';

  it('starts on the fixtures, skipping the malformed entry with one warning line naming it and the problem', async () => {
    const lines = warnings.mock.calls.map(([message]) => String(message)).filter((line) => line.includes('skipped'));
    expect(lines).toEqual([`MEASUREMENTS_FILE ${file} ${skippedEntry} skipped: boot_rtmrs.rtmr0 must be 96 hex characters (48 bytes)`]);
    expect(await sets()).toEqual(expect.arrayContaining(['8xh200 1.4.0', '8xb200 1.4.0', '8xh200 1.4.1 rc', '8xh200 1', '8xb200 1']));
    expect(await sets()).toHaveLength(5);
  });

  it('counts the skipped entry in bootkey_measurement_entries_skipped and lists it in /readyz', async () => {
    expect(await readyz()).toEqual({
      file,
      read_at: BOOT_NOW.toISOString(),
      sets: 5,
      entries_skipped: 1,
      skipped: [{ entry: skippedEntry, problem: 'boot_rtmrs.rtmr0 must be 96 hex characters (48 bytes)' }],
    });
    expect((await httpRequest(`${app.baseUrl}/metrics`)).text).toMatch(/^bootkey_measurement_entries_skipped 1$/m);
  });

  it("boots a gen-C VM against its own hardware set (RTMR3 zero at boot), with the release's root passphrase", async () => {
    for (const index of [0, 1]) {
      clock.advance(1);
      const res = await vm.boot(bootQuote(releases[0], index));
      expect([index, res.status, res.json.key]).toEqual([index, 200, ROOT_PASSPHRASE]);
      const [row]: { measurement_name: string; measurement_version: string }[] = await app.app
        .get(DataSource)
        .query(`SELECT measurement_name, measurement_version FROM boot_attestations ORDER BY created_at DESC, id DESC LIMIT 1`);
      expect(row).toEqual({ measurement_name: releases[0].hardware[index].name, measurement_version: '1.4.0' });
    }
  });

  it("never matches an rc set for anyone (the hotkey-proven rc gate is not open), and refuses another hardware's RTMR0", async () => {
    clock.advance(1);
    const rc = await vm.boot(bootQuote(releases[1], 0));
    expect([rc.status, rc.json.code]).toEqual([403, 'MEASUREMENT_MISMATCH']);
    const mixed = bootQuote(releases[0], 0);
    mixed.rtmrs.rtmr3 = Buffer.alloc(48, 1);
    clock.advance(1);
    expect((await vm.boot(mixed)).status).toBe(403);
  });

  it('re-reads the file when it changes: new sets inserted, existing ones never changed, the skip count follows the file', async () => {
    const h200Before = (await call('GET', '/admin/measurements/1.4.0?name=8xh200')).json;
    const changed = fixtureText()
      // A changed register for an existing set: logged, not applied.
      .replace(releases[0].rtmr2, 'ab'.repeat(48))
      // The placeholder entry fixed into a real one.
      .replace(/rtmr0: "REPLACE_WITH[^"]*"/, `rtmr0: "${'cd'.repeat(48)}"`);
    rewrite(
      `${changed}\n  - version: "1.5.0"\n    mrtd: "${'e1'.repeat(48)}"\n    rtmr1: "${'e2'.repeat(48)}"\n    rtmr2: "${'e3'.repeat(48)}"\n    runtime_rtmr3: "${'e4'.repeat(48)}"\n    hardware:\n      - { name: 8xh200, rtmr0: "${'e5'.repeat(48)}", expected_gpus: [h200], gpu_count: 8 }\n`,
    );
    const after = await until(sets, (names) => names.includes('8xh200 1.5.0'));
    expect(after).toEqual(expect.arrayContaining(['8xh200 1.5.0', 'next-image 2']));
    expect(after).toHaveLength(7);
    expect((await call('GET', '/admin/measurements/1.4.0?name=8xh200')).json).toEqual(h200Before);
    expect(warnings.mock.calls.some(([message]) => /8xh200 1\.4\.0 is already registered and differs in bootRtmrs, runtimeRtmrs/.test(String(message)))).toBe(
      true,
    );
    expect(await readyz()).toMatchObject({ sets: 7, entries_skipped: 0, skipped: [] });
    expect((await httpRequest(`${app.baseUrl}/metrics`)).text).toMatch(/^bootkey_measurement_entries_skipped 0$/m);
  });

  it('a file broken while running is reported in /readyz; the stored sets keep matching', async () => {
    rewrite('measurements: [\n');
    const ready = await until(readyz, (measurements) => typeof measurements.error === 'string');
    expect(ready.error).toMatch(/MEASUREMENTS_FILE .* cannot be read as YAML/);
    clock.advance(1);
    expect((await vm.boot(bootQuote(releases[0], 1))).json.key).toBe(ROOT_PASSPHRASE);
    rewrite(fixtureText());
    expect(await until(readyz, (measurements) => measurements.error === undefined)).toMatchObject({ entries_skipped: 1 });
  });
});
