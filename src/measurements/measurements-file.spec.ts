import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../config/app-config';
import { readPassphraseFile } from './measurements-file';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-passphrase-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fileWith(name: string, content: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

describe('readPassphraseFile', () => {
  it.each([
    ['no newline', 'correct horse', 'correct horse'],
    ['one trailing newline trimmed', 'correct horse\n', 'correct horse'],
    ['one trailing CRLF trimmed', 'correct horse\r\n', 'correct horse'],
    ['UTF-8 beyond ASCII kept byte for byte', 'pässwörd ✓ 🔑\n', 'pässwörd ✓ 🔑'],
    ['inner spaces and newlines kept', 'two words\nsecond line\n', 'two words\nsecond line'],
  ])('accepts %s', (_name, content, expected) => {
    expect(readPassphraseFile(fileWith('ok', Buffer.from(content, 'utf8')), 'LUKS_ROOT_PASSPHRASE_FILE').toString('utf8')).toBe(expected);
  });

  it.each([
    ['binary (not UTF-8)', Buffer.from([0x8f, 0xff, 0x00, 0xc3, 0x28, 0x0a]), /is not valid UTF-8/],
    ['an overlong UTF-8 encoding', Buffer.from([0x70, 0xc0, 0xaf, 0x70]), /is not valid UTF-8/],
    ['empty', Buffer.alloc(0), /is empty/],
    ['a single newline', Buffer.from('\n'), /is empty/],
    ['two trailing newlines', Buffer.from('correct horse\n\n'), /leading or trailing whitespace/],
    ['a trailing space', Buffer.from('correct horse \n'), /leading or trailing whitespace/],
    ['a leading tab', Buffer.from('\tcorrect horse\n'), /leading or trailing whitespace/],
    ['a trailing carriage return alone', Buffer.from('correct horse\r'), /leading or trailing whitespace/],
    ['a byte-order mark', Buffer.from('\ufeffcorrect horse\n', 'utf8'), /leading or trailing whitespace/],
    ['a trailing no-break space', Buffer.from('correct horse\u00a0\n', 'utf8'), /leading or trailing whitespace/],
    ['whitespace only', Buffer.from('   \n'), /leading or trailing whitespace/],
  ])('refuses a file with %s in one line naming the variable and the file', (_name, content, problem) => {
    const file = fileWith('bad', content);
    let error: unknown;
    try {
      readPassphraseFile(file, 'LUKS_ROOT_PASSPHRASE_FILE');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(problem);
    expect(message).toContain('LUKS_ROOT_PASSPHRASE_FILE');
    expect(message).toContain(file);
    expect(message).not.toContain('\n');
    expect(message).not.toContain('correct horse');
  });

  it('says when the file cannot be read', () => {
    expect(() => readPassphraseFile(path.join(dir, 'missing'), 'LUKS_ROOT_PASSPHRASE_FILE')).toThrow(/LUKS_ROOT_PASSPHRASE_FILE cannot be read \(ENOENT/);
  });
});
