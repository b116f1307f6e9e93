/**
 * What every command gets: the global options (broker URL, TLS, timeout, output mode, hotkey
 * source) turned into an Output and a lazily-signing BrokerClient.
 */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { BrokerClient } from './client';
import { UsageError } from './errors';
import { Output, OutputStream } from './output';
import { loadSigner } from './wallet';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
export const DEFAULT_TIMEOUT_S = 60;

/** The process around a run: its streams and environment (real ones, or test doubles). */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  /** For confirmations and `quote parse -`; absent in tests that never read it. */
  stdin?: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
}

export interface GlobalOptions {
  url?: string;
  json?: boolean;
  insecure?: boolean;
  caFile?: string;
  timeout?: string;
  wallet?: string;
  hotkey?: string;
  walletPath?: string;
  seedFile?: string;
}

export class CliContext {
  readonly output: Output;
  private clientInstance?: BrokerClient;

  constructor(
    readonly options: GlobalOptions,
    readonly io: CliIo,
  ) {
    this.output = new Output(io.stdout, io.stderr, Boolean(options.json));
  }

  /** The context of the command being run: its own options merged with the program's. */
  static of(command: Command, io: CliIo): CliContext {
    return new CliContext(command.optsWithGlobals<GlobalOptions>(), io);
  }

  get baseUrl(): string {
    return this.options.url ?? this.io.env.BOOTKEY_URL ?? DEFAULT_URL;
  }

  timeoutMs(): number {
    const text = this.options.timeout ?? String(DEFAULT_TIMEOUT_S);
    const seconds = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || !(seconds > 0) || seconds > 3600)
      throw new UsageError(`--timeout must be a number of seconds between 1 and 3600 (got ${text})`);
    return Math.round(seconds * 1000);
  }

  client(): BrokerClient {
    if (this.clientInstance) return this.clientInstance;
    const { caFile, insecure } = this.options;
    let ca: string | undefined;
    if (caFile !== undefined) {
      try {
        ca = fs.readFileSync(caFile, 'utf8');
      } catch (error) {
        throw new UsageError(`--ca-file ${caFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--ca-file ${caFile} holds no PEM certificate`);
    }
    if (insecure && this.baseUrl.startsWith('https:')) this.output.note("bootkey: warning: --insecure: the broker's TLS certificate is not checked");
    this.clientInstance = new BrokerClient({
      baseUrl: this.baseUrl,
      timeoutMs: this.timeoutMs(),
      ca,
      insecure,
      signer: () => loadSigner(this.options, this.io.env),
    });
    return this.clientInstance;
  }
}
