/**
 * Refuses JSON nested too deeply before anything walks it: class-transformer and the validator
 * recurse once per level, so a body of 20,000 brackets overflowed the stack (a 500). The check
 * scans the raw bytes once, without parsing or recursing; brackets inside strings do not count.
 */
import { DomainError, ErrorCode } from '../errors';

/** DESIGN.md "Input leniency": JSON nested deeper than this is 422. Arrays count as nesting. */
export const MAX_JSON_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x5b, 0x7b]); // [ {
const CLOSERS = new Set([0x5d, 0x7d]); // ] }

/** True when `bytes` (JSON text, well-formed or not) opens more than `max` arrays/objects at once. */
export function jsonNestingExceeds(bytes: Uint8Array, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (OPENERS.has(byte)) {
      if (++depth > max) return true;
    } else if (CLOSERS.has(byte)) {
      depth--;
    }
  }
  return false;
}

/** The 422 for a too-deep body, or undefined when its nesting is within bounds. */
export function jsonDepthError(bytes: Uint8Array): DomainError | undefined {
  return jsonNestingExceeds(bytes) ? new DomainError(ErrorCode.VALIDATION_FAILED, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`) : undefined;
}

/** For a body parser: answers `done` with that 422 and returns true when the body is too deep. */
export function refuseTooDeepJson(bytes: Uint8Array, done: (error: Error) => void): boolean {
  const error = jsonDepthError(bytes);
  if (error) done(error);
  return error !== undefined;
}
