/**
 * Runs the `bootkey` CLI as a child process, the way people run it. The CLI is compiled once per
 * test process (tsc, only src/cli/main.ts and what it imports) into a temporary directory, and
 * resolves its dependencies from this repository's node_modules through NODE_PATH: about 0.2 s per
 * run instead of a full TypeScript load each time.
 *
 * Children run asynchronously: the broker under test lives in the test's own process, and a
 * synchronous spawn would block it from ever answering.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';

const REPO = path.resolve(__dirname, '../..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

let compiled: { dir: string; entry: string } | undefined;

/** Compiles src/cli/main.ts and its imports (CommonJS, as `npm run build` does); returns main.js. */
export function compileCli(): string {
  if (compiled) return compiled.entry;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-cli-build-'));
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(REPO, 'tsconfig.build.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
  );
  if (!config) throw new Error('cannot read tsconfig.build.json');
  const program = ts.createProgram([path.join(REPO, 'src/cli/main.ts')], { ...config.options, outDir: dir, rootDir: REPO, sourceMap: false, noEmit: false });
  const result = program.emit();
  if (result.emitSkipped) throw new Error('compiling the CLI failed');
  compiled = { dir, entry: path.join(dir, 'src/cli/main.js') };
  return compiled.entry;
}

export function removeCompiledCli(): void {
  if (compiled) fs.rmSync(compiled.dir, { recursive: true, force: true });
  compiled = undefined;
}

export interface RunOptions {
  /** The child's whole environment besides PATH, HOME and NODE_PATH (nothing leaks in from the test's). */
  env?: Record<string, string>;
  /** Directories put before /usr/bin:/bin on PATH (a fake nvidia-smi). */
  pathPrefix?: string[];
  home?: string;
}

/** `bootkey ...args`; resolves with the exit code and both streams (never rejects on a non-zero exit). */
export function runBootkey(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const entry = compileCli();
  const env: Record<string, string> = {
    PATH: [...(options.pathPrefix ?? []), path.dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
    HOME: options.home ?? os.tmpdir(),
    NODE_PATH: path.join(REPO, 'node_modules'),
    ...(options.env ?? {}),
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [entry, ...args], { env, cwd: REPO, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * `bootkey ...args` whose reader of `stream` went away before the CLI wrote to it: the limit case of
 * `bootkey --help | head`. The read end of that pipe is closed right after the spawn, long before the
 * child has loaded (any write to it then fails with EPIPE); the other stream is collected as usual.
 */
export function runBootkeyWithClosedReader(args: string[], stream: 'stdout' | 'stderr'): Promise<CliResult> {
  const entry = compileCli();
  const env = { PATH: [path.dirname(process.execPath), '/usr/bin', '/bin'].join(':'), HOME: os.tmpdir(), NODE_PATH: path.join(REPO, 'node_modules') };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], { env, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    child[stream].destroy();
    const other = stream === 'stdout' ? child.stderr : child.stdout;
    const chunks: Buffer[] = [];
    other.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ code: code ?? -1, stdout: stream === 'stdout' ? '' : text, stderr: stream === 'stderr' ? '' : text });
    });
  });
}
