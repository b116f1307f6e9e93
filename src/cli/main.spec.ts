import type { Command } from 'commander';
import { CliIo } from './context';
import { buildProgram, runCli } from './main';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function io(env: NodeJS.ProcessEnv = {}): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, env, stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } };
}

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const streams = io(env);
  const code = await runCli(['node', 'bootkey', ...args], streams);
  return { code, stdout: streams.out.join(''), stderr: streams.err.join('') };
}

/** Every command path of the program: [], ['servers'], ['servers', 'register'], ... */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return [prefix, ...command.commands.flatMap((sub) => commandPaths(sub, [...prefix, sub.name()]))];
}

describe('bootkey --help', () => {
  const paths = commandPaths(buildProgram(io()));

  it('covers every command of the brief', () => {
    const names = paths.map((p) => p.join(' '));
    for (const expected of [
      'servers register',
      'servers list',
      'servers show',
      'servers rename',
      'servers remove',
      'servers status',
      'measurements add',
      'measurements list',
      'measurements show',
      'measurements retire',
      'miners allow',
      'miners block',
      'miners remove',
      'audit',
      'keys rotate',
      'keygen',
      'hotkey show',
      'quote parse',
      'quote verify',
    ]) {
      expect(names).toContain(expected);
    }
  });

  it.each(paths.map((p) => [p.join(' ') || '(program)', p]))('%s has examples', async (_name, path) => {
    const result = await run([...path, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\nExamples:\n {2}(\$ |#)/);
  });
});

describe('exit codes without a broker', () => {
  it('--version is 0', async () => {
    expect(await run(['--version'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
  });

  it.each([
    ['an unknown command', ['serverz'], /unknown command 'serverz'/],
    ['a missing required option', ['servers', 'register', '--id', 'x'], /required option '--host <host>' not specified/],
    ['a missing argument', ['servers', 'show'], /missing required argument 'server-id'/],
    ['a bad choice', ['audit', '--kind', 'reboot'], /Allowed choices are boot, runtime/],
    ['a bad number', ['audit', '--limit', '0'], /--limit must be a whole number 1..500/],
    ['a bad timeout', ['--timeout', 'soon', 'servers', 'list'], /--timeout must be a number of seconds/],
    ['a bad URL', ['--url', 'ftp://x', 'servers', 'list'], /--url must start with http:\/\/ or https:\/\//],
    ['a group without a command', ['servers'], /Usage: bootkey servers/],
    ['removal without --yes and no terminal', ['servers', 'remove', 'vm-1'], /pass --yes to confirm/],
    ['no hotkey at all', ['--wallet-path', '/nonexistent', 'servers', 'list'], /hotkey file \/nonexistent\/default\/hotkeys\/default does not exist/],
  ])('%s is a usage error (2)', async (_name, args, expected) => {
    const result = await run(args, { BOOTKEY_URL: 'http://127.0.0.1:9' });
    expect(result.stderr).toMatch(expected);
    expect(result.code).toBe(2);
  });

  it('an unreachable broker is 3, with what to do', async () => {
    const result = await run(['quote', 'parse', __filename], { BOOTKEY_URL: 'http://127.0.0.1:9' });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^bootkey: cannot reach the broker at http:\/\/127\.0\.0\.1:9: connection refused/);
    expect(result.stderr).toMatch(/what to do: check --url \(or BOOTKEY_URL\)/);
  });

  it('keygen needs no broker and no hotkey', async () => {
    const result = await run(['keygen', '--id', 'k1']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^k1:[A-Za-z0-9+/]{43}=\n$/);
  });

  it('hotkey show prints the ss58 address and nothing of the seed', async () => {
    const seed = '5e'.repeat(32);
    const result = await run(['hotkey', 'show'], { BOOTKEY_HOTKEY_SEED: seed });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^5[1-9A-HJ-NP-Za-km-z]{47}\n$/);
    expect(result.stdout + result.stderr).not.toContain('5e5e5e5e');
    expect(JSON.parse((await run(['--json', 'hotkey', 'show'], { BOOTKEY_HOTKEY_SEED: seed })).stdout)).toEqual({
      ss58_address: result.stdout.trim(),
      source: 'BOOTKEY_HOTKEY_SEED',
    });
  });
});
