/**
 * The three ways a CLI run can fail, each with its exit code: the broker refused (1), the
 * invocation or a local file is wrong (2), the broker could not be reached (3).
 */

export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNREACHABLE = 3;

/** A wrong flag, argument or local file. The message is a sentence for a person; it never quotes secrets. */
export class UsageError extends Error {
  readonly exitCode = EXIT_USAGE;
}

/** The broker answered with a 4xx/5xx (or something that is not the answer we asked for). */
export class BrokerRefusedError extends Error {
  readonly exitCode = EXIT_REFUSED;
  constructor(
    readonly status: number,
    /** The stable `code` of the error body, when the answer had one. */
    readonly code: string | undefined,
    /** The `message` of the error body, or a description of the odd answer. */
    readonly serverMessage: string,
    /** The parsed error body (for `--json`), when it was JSON. */
    readonly body: unknown,
  ) {
    super(`HTTP ${status}${code ? ` ${code}` : ''}: ${serverMessage}`);
  }
}

/** No answer: connection refused, DNS failure, timeout, TLS handshake failure. */
export class BrokerUnreachableError extends Error {
  readonly exitCode = EXIT_UNREACHABLE;
  constructor(
    readonly url: string,
    /** A short reason (`connection refused`, `timed out after 30 s`, ...). */
    readonly reason: string,
    /** What to try, when we know. */
    readonly hint?: string,
  ) {
    super(`cannot reach the broker at ${url}: ${reason}`);
  }
}
