/**
 * Utilities: `keygen` (a KEK line for BROKER_KEKS), `hotkey show` (the ss58 address only),
 * `validator show` (the broker's validator ss58, from its key file), and `quote parse|verify`
 * through the broker's public quote tools.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { CliContext, CliIo } from '../context';
import { UsageError } from '../errors';
import { Column, flatten, inline } from '../output';
import { KeyFileError, loadKeyFile } from '../../common/crypto/sr25519-key-file';
import { loadSigner } from '../wallet';
import { withExamples } from './help';

type Json = Record<string, unknown>;

/** The KEK id format of BROKER_KEKS (src/keys/envelope.ts KEK_ID_PATTERN; tools.spec.ts keeps them equal). */
export const KEK_ID = /^[A-Za-z0-9_.-]{1,64}$/;
export const KEK_BYTES = 32;

/** A fresh `id:base64(32 random bytes)` line. */
export function kekLine(id: string): string {
  const key = randomBytes(KEK_BYTES);
  const line = `${id}:${key.toString('base64')}`;
  key.fill(0);
  return line;
}

function kekId(text: string): string {
  if (!KEK_ID.test(text)) throw new InvalidArgumentError('a KEK id is 1 to 64 of A-Z a-z 0-9 _ . -');
  return text;
}

/** `kek-YYYYMMDD`: ids must differ between rotations, and a date says when a key was made. */
export function defaultKekId(now: Date = new Date()): string {
  return `kek-${now.toISOString().slice(0, 10).replace(/-/g, '')}`;
}

const BASE64_TEXT = /^[A-Za-z0-9+/=\s]+$/;

/**
 * A quote file's bytes as base64 for the API: the file is either the raw quote (binary) or base64
 * text. Raw TDX quotes start with a little-endian version (04 00 / 05 00), never base64 text.
 */
export function quoteFileToBase64(content: Buffer): string {
  const text = content.toString('latin1');
  if (content.length > 0 && BASE64_TEXT.test(text)) return text.replace(/\s+/g, '');
  return content.toString('base64');
}

async function readQuoteFile(file: string, io: CliIo): Promise<string> {
  let content: Buffer;
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin ?? process.stdin) chunks.push(Buffer.from(chunk as Buffer));
    content = Buffer.concat(chunks);
  } else {
    try {
      content = fs.readFileSync(file);
    } catch (error) {
      throw new UsageError(`quote file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (content.length === 0) throw new UsageError(`quote file ${file} is empty`);
  return quoteFileToBase64(content);
}

const DIFFERENCE_COLUMNS: Column<Json>[] = [
  { header: 'REGISTER', value: (d) => d.register },
  { header: 'MATCH', value: (d) => (d.match ? 'yes' : 'NO') },
  { header: 'EXPECTED', value: (d) => d.expected },
  { header: 'ACTUAL', value: (d) => d.actual },
];

function printVerify(ctx: CliContext, report: Json): void {
  const out = ctx.output;
  const yesNo = (value: unknown) => (value ? 'yes' : 'no');
  const collateral = report.collateral as Json | null | undefined;
  out.keyValues([
    ['dcap verified', report.dcap_verified ? 'yes' : `no (${inline(report.error_code) || 'unknown'})`],
    ['tcb status', report.tcb_status],
    ['tcb accepted', yesNo(report.tcb_accepted)],
    ['advisories', report.advisory_ids],
    ['debug td', yesNo(report.debug)],
    ['fmspc', report.fmspc],
    ['collateral', collateral ? `${inline(collateral.origin)}${collateral.stale ? ' (stale)' : ''}, next update ${inline(collateral.next_update)}` : undefined],
    ['boot acceptable', yesNo(report.boot_acceptable)],
  ]);
  const measurements = (report.measurements ?? {}) as Record<string, Json>;
  for (const phase of ['boot', 'runtime']) {
    const match = measurements[phase];
    if (!match) continue;
    const set = `${inline(match.name)} ${inline(match.version)}`.trim();
    out.line(`${phase} measurements: ${match.matched ? `match ${set}` : match.name ? `no match (nearest: ${set})` : 'no match (no active measurement set)'}`);
    const differences = match.differences;
    if (!match.matched && Array.isArray(differences) && differences.length > 0) out.table(differences as Json[], DIFFERENCE_COLUMNS, '');
  }
}

export function toolCommands(io: CliIo): Command[] {
  const keygen = withExamples(
    new Command('keygen')
      .description('print a new key-encryption key as an id:base64 line for BROKER_KEKS (32 random bytes); keep it secret')
      .option('--id <id>', 'the KEK id (default kek-YYYYMMDD)', kekId),
    ['$ bootkey keygen --id kek-2026-03 >> kek-file   # BROKER_KEK_FILE takes one line per KEK', '$ export BROKER_KEKS="$(bootkey keygen --id primary)"'],
  ).action((options: { id?: string }, command: Command) => {
    const ctx = CliContext.of(command, io);
    const id = options.id ?? defaultKekId();
    const line = kekLine(id);
    ctx.output.result({ id, line }, () => ctx.output.line(line));
  });

  const hotkey = new Command('hotkey').description('the hotkey this CLI signs with');
  withExamples(hotkey, ['$ bootkey hotkey show']);
  withExamples(hotkey.command('show').description('print the ss58 address of the configured hotkey (never the seed)'), [
    '$ bootkey hotkey show',
    '$ bootkey hotkey show --wallet miner --hotkey hk1',
    '$ BOOTKEY_HOTKEY_SEED=0x… bootkey hotkey show',
  ]).action(async (_options: unknown, command: Command) => {
    const ctx = CliContext.of(command, io);
    const signer = await loadSigner(ctx.options, io.env);
    ctx.output.result({ ss58_address: signer.address, source: signer.source }, () => ctx.output.line(signer.address));
  });

  const validator = new Command('validator').description("the broker's validator key (VALIDATOR_KEY_FILE), which signs its evidence requests to VMs");
  withExamples(validator, ['$ bootkey validator show --key-file /etc/bootkey/validator.json']);
  withExamples(
    validator
      .command('show')
      .description("print the ss58 address of the broker's validator key, read from the key file itself (no broker needed; never the seed)")
      .option('--key-file <file>', 'the key file: a hex sr25519 seed or a Bittensor hotkey JSON file (default: env VALIDATOR_KEY_FILE)'),
    [
      '$ VALIDATOR_KEY_FILE=/etc/bootkey/validator.json bootkey validator show',
      '$ bootkey validator show --key-file ~/.bittensor/wallets/validator/hotkeys/default',
    ],
  ).action(async (options: { keyFile?: string }, command: Command) => {
    const ctx = CliContext.of(command, io);
    const file = options.keyFile ?? io.env.VALIDATOR_KEY_FILE;
    if (!file) throw new UsageError("no validator key file: pass --key-file or set VALIDATOR_KEY_FILE (the broker's own setting)");
    let address: string;
    try {
      address = (await loadKeyFile(file, options.keyFile ? '--key-file' : 'VALIDATOR_KEY_FILE')).address;
    } catch (error) {
      if (error instanceof KeyFileError) throw new UsageError(error.message);
      throw error;
    }
    ctx.output.result({ ss58_address: address, file }, () => ctx.output.line(address));
  });

  const quote = new Command('quote').description("inspect a TDX quote with the broker's public tools (no hotkey needed)");
  withExamples(quote, ['$ bootkey quote parse quote.bin', '$ bootkey quote verify quote.b64']);
  withExamples(
    quote
      .command('parse')
      .description("a quote's fields (header, MRTD, RTMRs, REPORTDATA, TD attributes, FMSPC); no verification")
      .argument('<file>', 'raw quote bytes or base64 text; - for stdin'),
    ['$ bootkey quote parse quote.bin', '$ bootkey quote parse quote.b64 --json | jq -r .mrtd'],
  ).action(async (file: string, _options: unknown, command: Command) => {
    const ctx = CliContext.of(command, io);
    const body = { quote: await readQuoteFile(file, io) };
    const fields = await ctx.client().post<Json>('/attestation/quote/parse', body, { signed: false });
    ctx.output.result(fields, () => ctx.output.keyValues(flatten(fields)));
  });
  withExamples(
    quote
      .command('verify')
      .description('DCAP-verify a quote and say which measurement set it matches (or which registers differ)')
      .argument('<file>', 'raw quote bytes or base64 text; - for stdin'),
    ['$ bootkey quote verify quote.bin', '$ bootkey quote verify quote.bin --json | jq .boot_acceptable'],
  ).action(async (file: string, _options: unknown, command: Command) => {
    const ctx = CliContext.of(command, io);
    const body = { quote: await readQuoteFile(file, io) };
    const report = await ctx.client().post<Json>('/attestation/quote/verify', body, { signed: false });
    ctx.output.result(report, () => printVerify(ctx, report));
  });

  return [keygen, hotkey, validator, quote];
}
