/**
 * What a root passphrase may be, wherever it comes from (LUKS_ROOT_PASSPHRASE_FILE, a set's
 * root_passphrase_file, the admin API, the CLI): non-empty UTF-8 text without leading or
 * trailing whitespace. It travels to the VM as a JSON string and on to cryptsetup byte for byte,
 * so bytes that are not UTF-8 would arrive altered (U+FFFD), and a stray space, newline or
 * byte-order mark is almost always an editing accident that would lock the disk.
 */
import { ValidateBy, ValidationOptions } from 'class-validator';

/** Why `text` cannot be a root passphrase ("is empty", ...), or undefined when it can. */
export function rootPassphraseProblem(text: string): string | undefined {
  if (text.length === 0) return 'is empty';
  // Lone UTF-16 surrogates (JSON "\ud800") have no UTF-8 encoding.
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) return 'is not valid UTF-8';
  // \s covers Unicode spaces, line terminators and U+FEFF (a byte-order mark).
  if (/^\s|\s$/.test(text)) return 'has leading or trailing whitespace';
  return undefined;
}

/**
 * A passphrase file's bytes → its text: one trailing "\n" or "\r\n" is not part of the
 * passphrase; the rest must be valid UTF-8 (a byte-order mark is kept, and then refused as
 * whitespace). Returns the text or the problem; never throws with the content in a message.
 */
export function decodeRootPassphraseFile(bytes: Uint8Array): { passphrase: string } | { problem: string } {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end -= end > 1 && bytes[end - 2] === 0x0d ? 2 : 1;
  let passphrase: string;
  try {
    passphrase = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(0, end));
  } catch {
    return { problem: 'is not valid UTF-8' };
  }
  const problem = rootPassphraseProblem(passphrase);
  return problem ? { problem } : { passphrase };
}

/** class-validator rule for a `root_passphrase` field (the message names the field, never the value). */
export function IsRootPassphrase(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isRootPassphrase',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && rootPassphraseProblem(value) === undefined,
        defaultMessage: (args) => {
          const value: unknown = args?.value;
          return `$property ${typeof value === 'string' ? (rootPassphraseProblem(value) ?? 'is invalid') : 'must be a string'}`;
        },
      },
    },
    options,
  );
}
