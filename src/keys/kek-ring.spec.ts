import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../config/app-config';
import { GENERATED_KEK_ID, KekConfig, loadKekRing, parseKekList } from './kek-ring';

const b64 = (length: number, fill: number) => Buffer.alloc(length, fill).toString('base64');
const KEY_A = b64(32, 0xa1);
const KEY_B = b64(32, 0xb2);
const KEY_16 = b64(16, 0xc3);

const tmpDirs: string[] = [];
function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-kek-ring-'));
  tmpDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function config(overrides: Partial<KekConfig>): KekConfig {
  return { dataDir: path.join(os.tmpdir(), 'bootkey-kek-ring-unused'), ...overrides };
}

/** The ConfigError `attempt` throws; fails the test when it throws anything else. */
function configErrorOf(attempt: () => unknown): ConfigError {
  try {
    attempt();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('loadKekRing from BROKER_KEKS', () => {
  const good: [string, Partial<KekConfig>, string, string[]][] = [
    ['one KEK, implicitly active', { brokerKeks: `a:${KEY_A}` }, 'a', ['a']],
    ['two KEKs with an active one', { brokerKeks: `a:${KEY_A}, b:${KEY_B}`, brokerActiveKek: 'b' }, 'b', ['a', 'b']],
    ['spaces around id and key', { brokerKeks: ` a : ${KEY_A} ` }, 'a', ['a']],
    ['trailing comma and long id', { brokerKeks: `${'x'.repeat(64)}:${KEY_A},` }, 'x'.repeat(64), ['x'.repeat(64)]],
    ['id with . _ -', { brokerKeks: `kek-2026_01.v1:${KEY_A}` }, 'kek-2026_01.v1', ['kek-2026_01.v1']],
  ];
  it.each(good)('accepts %s', (_case, overrides, active, ids) => {
    const loaded = loadKekRing(config(overrides));
    expect([loaded.source, loaded.ring.active.id, [...loaded.ring.keks.keys()]]).toEqual(['BROKER_KEKS', active, ids]);
    expect(Buffer.from(loaded.ring.keks.get(ids[0])!.key).toString('base64')).toBe(KEY_A);
  });

  const bad: [string, Partial<KekConfig>, RegExp][] = [
    ['bad base64', { brokerKeks: 'a:not*base64!!' }, /^invalid configuration: BROKER_KEKS entry 1 \(KEK "a"\) is not valid base64$/],
    ['unpadded base64', { brokerKeks: `a:${KEY_A.replace(/=+$/, '')}` }, /BROKER_KEKS entry 1 \(KEK "a"\) is not valid base64$/],
    ['non-canonical base64', { brokerKeks: `a:${KEY_A.slice(0, -2)}B=` }, /BROKER_KEKS entry 1 \(KEK "a"\) is not valid base64$/],
    [
      '16-byte key',
      { brokerKeks: `a:${KEY_A},b:${KEY_16}` },
      /^invalid configuration: BROKER_KEKS entry 2 \(KEK "b"\) must decode to exactly 32 bytes \(got 16\)$/,
    ],
    ['duplicate id', { brokerKeks: `a:${KEY_A},a:${KEY_B}`, brokerActiveKek: 'a' }, /^invalid configuration: BROKER_KEKS has KEK id "a" more than once$/],
    [
      'several keys without active',
      { brokerKeks: `a:${KEY_A},b:${KEY_B}` },
      /^invalid configuration: BROKER_ACTIVE_KEK must be set when BROKER_KEKS holds more than one KEK \(ids: a, b\)$/,
    ],
    [
      'active id not in ring',
      { brokerKeks: `a:${KEY_A}`, brokerActiveKek: 'c' },
      /^invalid configuration: BROKER_ACTIVE_KEK names KEK "c", which is not in BROKER_KEKS \(ids: a\)$/,
    ],
    ['entry without id', { brokerKeks: KEY_A }, /^invalid configuration: BROKER_KEKS entry 1 must be id:base64key$/],
    ['invalid id', { brokerKeks: `a b:${KEY_A}` }, /^invalid configuration: BROKER_KEKS entry 1 has an invalid KEK id/],
    ['id too long', { brokerKeks: `${'x'.repeat(65)}:${KEY_A}` }, /BROKER_KEKS entry 1 has an invalid KEK id/],
    ['only separators', { brokerKeks: ' , ,' }, /^invalid configuration: BROKER_KEKS holds no KEK/],
    ['both sources', { brokerKeks: `a:${KEY_A}`, brokerKekFile: '/x' }, /^invalid configuration: BROKER_KEKS and BROKER_KEK_FILE are both set/],
  ];
  it.each(bad)('rejects %s with one line and no key material', (_case, overrides, expected) => {
    const error = configErrorOf(() => loadKekRing(config(overrides)));
    expect(error.message).toMatch(expected);
    expect(error.message).not.toContain('\n');
    for (const key of [KEY_A, KEY_B, KEY_16, KEY_A.slice(0, 12), KEY_B.slice(0, 12)]) expect(error.message).not.toContain(key);
  });
});

describe('loadKekRing from BROKER_KEK_FILE', () => {
  it('reads one entry per line or comma-separated, with # comments', () => {
    const file = path.join(tmpDir(), 'keks');
    fs.writeFileSync(file, `# retired next quarter\nold:${KEY_A}   # still opens old rows\n\n  new:${KEY_B}, third:${b64(32, 3)}\r\n`);
    const loaded = loadKekRing(config({ brokerKekFile: file, brokerActiveKek: 'new' }));
    expect([loaded.source, loaded.ring.active.id, [...loaded.ring.keks.keys()]]).toEqual(['BROKER_KEK_FILE', 'new', ['old', 'new', 'third']]);
  });

  const bad: [string, string, RegExp][] = [
    [
      'a short key, by line',
      `a:${KEY_A}\n\n# c\nb:${KEY_16}\n`,
      /^invalid configuration: BROKER_KEK_FILE line 4 \(KEK "b"\) must decode to exactly 32 bytes \(got 16\)$/,
    ],
    ['only comments', '# nothing yet\n', /^invalid configuration: BROKER_KEK_FILE holds no KEK/],
    ['a duplicate across lines', `a:${KEY_A}\na:${KEY_B}\n`, /BROKER_KEK_FILE has KEK id "a" more than once/],
  ];
  it.each(bad)('rejects %s', (_case, content, expected) => {
    const file = path.join(tmpDir(), 'keks');
    fs.writeFileSync(file, content);
    expect(configErrorOf(() => loadKekRing(config({ brokerKekFile: file }))).message).toMatch(expected);
  });

  it('names an unreadable file', () => {
    const file = path.join(tmpDir(), 'missing');
    expect(configErrorOf(() => loadKekRing(config({ brokerKekFile: file }))).message).toBe(
      `invalid configuration: BROKER_KEK_FILE cannot be read (ENOENT: ${file})`,
    );
  });
});

describe('loadKekRing with no KEK configured', () => {
  it('refuses when DATABASE_URL is set', () => {
    const error = configErrorOf(() => loadKekRing(config({ databaseUrl: 'postgres://db/bootkey' })));
    expect(error.message).toBe(
      'invalid configuration: BROKER_KEKS (or BROKER_KEK_FILE) must be set when DATABASE_URL is set; a generated KEK is only for the embedded database',
    );
  });

  it('refuses BROKER_ACTIVE_KEK alone', () => {
    expect(configErrorOf(() => loadKekRing(config({ brokerActiveKek: 'a' }))).message).toMatch(/BROKER_ACTIVE_KEK is set but neither/);
  });

  it('generates a KEK once into DATA_DIR/kek (mode 0600) and reuses it', () => {
    const dataDir = path.join(tmpDir(), 'nested', 'data');
    const first = loadKekRing(config({ dataDir }));
    expect([first.source, first.created, first.generatedFile, first.ring.active.id]).toEqual(['generated', true, path.join(dataDir, 'kek'), GENERATED_KEK_ID]);
    expect(fs.statSync(first.generatedFile!).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dataDir)).toEqual(['kek']);
    const second = loadKekRing(config({ dataDir }));
    expect(second.created).toBe(false);
    expect(Buffer.from(second.ring.active.key).equals(Buffer.from(first.ring.active.key))).toBe(true);
  });

  it('names the generated file when it was damaged', () => {
    const dataDir = tmpDir();
    fs.writeFileSync(path.join(dataDir, 'kek'), `local:${KEY_16}\n`, { mode: 0o600 });
    expect(configErrorOf(() => loadKekRing(config({ dataDir }))).message).toBe(
      `invalid configuration: generated KEK file ${path.join(dataDir, 'kek')} line 1 (KEK "local") must decode to exactly 32 bytes (got 16)`,
    );
  });
});

describe('parseKekList', () => {
  it('treats newlines as part of an entry when not multiline', () => {
    expect(() => parseKekList(`a:${KEY_A}\nb:${KEY_B}`, 'BROKER_KEKS')).toThrow(/entry 1 \(KEK "a"\) is not valid base64/);
  });
});
