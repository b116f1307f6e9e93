/** A yes/no question on the terminal, for commands that destroy something. */
import * as readline from 'node:readline';
import type { CliIo } from './context';

/** True for y/yes, false for anything else; undefined when stdin is not a terminal (nobody to ask). */
export async function confirm(io: CliIo, question: string): Promise<boolean | undefined> {
  const stdin = io.stdin;
  if (!stdin?.isTTY) return undefined;
  const rl = readline.createInterface({ input: stdin, output: io.stderr as NodeJS.WritableStream });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
