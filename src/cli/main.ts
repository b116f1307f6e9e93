/**
 * The `bootkey` command: builds the commander program and turns every outcome into an exit
 * code — 0 ok, 1 refused by the broker, 2 usage (flags, arguments, local files), 3 the broker
 * cannot be reached. `bin/bootkey` runs the compiled form of this file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { describeRefusal, describeUnreachable } from './advice';
import { adminCommands } from './commands/admin';
import { withExamples } from './commands/help';
import { serversCommand } from './commands/servers';
import { toolCommands } from './commands/tools';
import { CliIo, DEFAULT_TIMEOUT_S, DEFAULT_URL } from './context';
import { BrokerRefusedError, BrokerUnreachableError, EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_USAGE, UsageError } from './errors';

/** The package version, from the package.json above this file (src/cli or dist/src/cli). */
function packageVersion(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (json.name === 'bootkey') return json.version ?? '0.0.0';
  }
  return '0.0.0';
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('bootkey')
    .description('bootkey: register TDX servers and administer a bootkey broker (boot attestation and LUKS key custody)')
    .version(packageVersion(), '-V, --version')
    .addOption(new Option('--url <url>', `broker URL (env BOOTKEY_URL; default ${DEFAULT_URL})`))
    .option('--json', "print the broker's raw JSON (for scripts)")
    .option('--timeout <seconds>', `request timeout (default ${DEFAULT_TIMEOUT_S})`)
    .option('--ca-file <pem>', 'trust this CA for an https:// broker with a private CA')
    .option('--insecure', "don't check the broker's TLS certificate (test brokers only)")
    .option('--wallet <name>', 'Bittensor wallet name (default "default")')
    .option('--hotkey <name>', 'hotkey name inside the wallet (default "default")')
    .option('--wallet-path <dir>', 'wallets directory (env BT_WALLET_PATH; default ~/.bittensor/wallets)')
    .option('--seed-file <file>', 'hex hotkey seed file, instead of a wallet (or env BOOTKEY_HOTKEY_SEED)')
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .exitOverride()
    .showHelpAfterError('(add --help for usage and examples)')
    .showSuggestionAfterError();
  withExamples(program, [
    '$ export BOOTKEY_URL=https://broker.example:8443',
    '$ bootkey hotkey show                                   # which hotkey signs (wallet default/default)',
    '$ bootkey servers register --host 203.0.113.7 --id srv-01 --name gpu-vm-01',
    '$ bootkey servers status srv-01',
    '$ bootkey --wallet admin measurements add -f tee_measurements.yaml',
  ]);
  program.addHelpText(
    'after',
    [
      'Hotkey: --seed-file, else BOOTKEY_HOTKEY_SEED (hex seed), else the Bittensor wallet file',
      '  <wallet-path>/<wallet>/hotkeys/<hotkey> (JSON with secretSeed and ss58Address).',
      'Exit codes: 0 ok, 1 refused by the broker, 2 usage or a bad local file, 3 broker unreachable.',
      '',
    ].join('\n'),
  );
  for (const command of [serversCommand(io), ...adminCommands(io), ...toolCommands(io)]) program.addCommand(command);
  // Settings given to the program before addCommand do not reach commands built elsewhere.
  const inherit = (command: Command) => {
    command
      .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
      .exitOverride()
      .showHelpAfterError('(add --help for usage and examples)')
      .showSuggestionAfterError();
    command.commands.forEach(inherit);
  };
  program.commands.forEach(inherit);
  return program;
}

/** Runs one invocation (argv as process.argv: node, script, args...) and returns its exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return EXIT_OK;
  } catch (error) {
    return reportError(error, io, Boolean(program.opts().json));
  }
}

function reportError(error: unknown, io: CliIo, json: boolean): number {
  if (error instanceof CommanderError) {
    // commander has already printed its message (or the help / version asked for).
    return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (error instanceof UsageError) {
    io.stderr.write(`bootkey: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof BrokerRefusedError) {
    // Scripts read the error body's `code` from stdout; people read the advice on stderr.
    if (error.body !== undefined && json) io.stdout.write(`${JSON.stringify(error.body, null, 2)}\n`);
    io.stderr.write(`${describeRefusal(error).join('\n')}\n`);
    return EXIT_REFUSED;
  }
  if (error instanceof BrokerUnreachableError) {
    io.stderr.write(`${describeUnreachable(error).join('\n')}\n`);
    return EXIT_UNREACHABLE;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`bootkey: unexpected failure: ${message}\n`);
  return EXIT_REFUSED;
}

/**
 * A reader that stops early (`bootkey --help | head`) closes the pipe; the next write fails with
 * EPIPE, which node raises as an unhandled 'error' event (a stack trace and exit 1). That is the
 * reader's choice, not a failure: on stdout stop at once with 0, as Unix tools do; on stderr the
 * messages have no reader, and the run goes on to end with its own exit code.
 */
function tolerateClosedReaders(): void {
  const onError = (stream: 'stdout' | 'stderr') => (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    if (stream === 'stdout') process.exit(EXIT_OK);
  };
  process.stdout.on('error', onError('stdout'));
  process.stderr.on('error', onError('stderr'));
}

/** The process entry point (also what bin/bootkey calls). */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  tolerateClosedReaders();
  const code = await runCli(argv, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
  process.exitCode = code;
}

if (require.main === module) void main();
