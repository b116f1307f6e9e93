import { randomBytes } from 'node:crypto';
import { DomainError, ErrorCode } from '../common/errors';
import { createKekRing, openSecret, sealSecret } from '../keys/envelope';
import { volumeAad } from './volume-aad';

const HOTKEY = '5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX';
const kek = { id: 'k1', key: new Uint8Array(randomBytes(32)) };
const ring = createKekRing([kek], 'k1');

describe('volumeAad', () => {
  it('keeps the pre-generation AAD for generation 1, so existing rows open unchanged', () => {
    expect(volumeAad(HOTKEY, 'vm-1', 'storage', 1)).toBe(`volume|${HOTKEY}|vm-1|storage`);
    expect(volumeAad(HOTKEY, 'vm-1', 'storage', 2)).toBe(`volume|${HOTKEY}|vm-1|storage|2`);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses generation %p', (generation) => {
    expect(() => volumeAad(HOTKEY, 'vm-1', 'storage', generation)).toThrow(/invalid generation/);
  });

  // A ciphertext moved to another row fails to open: another generation of the same volume included.
  const rows: [string, [string, string, string, number]][] = [
    ['generation 1 moved to generation 2', [HOTKEY, 'vm-1', 'storage', 2]],
    ['generation 3 moved to generation 1', [HOTKEY, 'vm-1', 'storage', 1]],
    ['generation 3 moved to generation 4', [HOTKEY, 'vm-1', 'storage', 4]],
    ['another volume', [HOTKEY, 'vm-1', 'tdx-cache', 3]],
    ['another VM', [HOTKEY, 'vm-2', 'storage', 3]],
  ];
  it.each(rows)('%s: does not open', (name, target) => {
    const source = name.startsWith('generation 1') ? 1 : 3;
    const sealed = sealSecret(new TextEncoder().encode('passphrase'), volumeAad(HOTKEY, 'vm-1', 'storage', source), kek);
    let error: unknown;
    try {
      openSecret(sealed, volumeAad(...target), ring);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe(ErrorCode.KEY_UNAVAILABLE);
    expect(new TextDecoder().decode(openSecret(sealed, volumeAad(HOTKEY, 'vm-1', 'storage', source), ring))).toBe('passphrase');
  });
});
