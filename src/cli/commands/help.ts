/** Shared bits of command definitions: the examples block every --help ends with, and argument parsers. */
import { Command, InvalidArgumentError } from 'commander';

/** Appends `Examples:` to a command's --help; each entry is a `$ bootkey ...` line or a `# comment`. */
export function withExamples(command: Command, examples: readonly string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${examples.map((line) => `  ${line}`).join('\n')}\n`);
}

/** A commander option parser for whole numbers in a range (a bad value is a usage error, exit 2). */
export function wholeNumber(name: string, min: number, max: number): (text: string) => number {
  return (text: string) => {
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new InvalidArgumentError(`${name} must be a whole number ${min}..${max}`);
    return Number(text);
  };
}
