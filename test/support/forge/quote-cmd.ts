/**
 * A quote generator for shell tests, in the style of `tdx-quote-generator`: prints a forged TDX
 * quote (base64) for the given REPORTDATA, or writes its bytes to a file. The test PKI and the
 * collateral live in a state directory, so every invocation signs through the same PKI and a
 * broker under test can be pointed at it (see --print-env). Run `--help` for usage.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TcbStatus } from './collateral';
import { openForgeState } from './forge-state';
import { forgeQuote, ForgeQuoteOptions, RtmrName, toBytes } from './quote';
import { TD_REPORT_10 } from './tdx-constants';
import { TestPki } from './test-pki';

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const REPORT_DATA_SIZE = TD_REPORT_10.REPORT_DATA.size;
const TCB_STATUSES: readonly TcbStatus[] = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
];

export const USAGE = `Usage: quote-cmd --report-data HEX [options]
       quote-cmd --print-env [--state-dir DIR]

Forges an Intel TDX quote signed through a persistent test PKI (never trusted by production).

  --report-data HEX     REPORTDATA, up to 64 bytes; right-padded with zeros
  --out FILE            write the raw quote bytes to FILE (default: base64 on stdout)
  --state-dir DIR       PKI + collateral directory (default: $FORGE_STATE_DIR,
                        else <tmpdir>/bootkey-forge); created on first use
  --mrtd HEX            48 bytes
  --rtmr0 .. --rtmr3 HEX  48 bytes each
  --mrseam HEX          48 bytes
  --td-attributes HEX   8 bytes (default 0000001000000000: SEPT_VE_DISABLE)
  --xfam HEX            8 bytes
  --tee-tcb-svn HEX     16 bytes
  --debug               set the TD DEBUG attribute bit
  --quote-version 4|5   default 4
  --td-report 1.0|1.5   body of a v5 quote (default 1.0)
  --trailing-bytes N    append N zero bytes after the quote, as real generators pad
  --tcb-status STATUS   rewrite the collateral with this TCB status (UpToDate, OutOfDate,
                        SWHardeningNeeded, ...)
  --advisory ID         advisory id on that TCB level (repeatable; implies a rewrite)
  --print-env           print DCAP_ROOT_CA_FILE=... and COLLATERAL_DIR=... for the state
                        directory (shell-sourceable) and exit
  -h, --help            this text

State directory: pki.json (keys, mode 0600), root-ca.pem / root-ca.der (DCAP_ROOT_CA_FILE),
collateral/forged.json (COLLATERAL_DIR; renewed when less than a day from nextUpdate).
Exit status: 0 success, 1 failure, 2 usage error.
`;

class UsageError extends Error {}

interface CommandOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const PROCESS_OUTPUT: CommandOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs the command with these arguments (without node and script); returns the exit status. */
export async function main(argv: string[], output: CommandOutput = PROCESS_OUTPUT, env = process.env): Promise<number> {
  try {
    const args = parseCommandLine(argv);
    if (args.values.help) {
      output.stdout(USAGE);
      return EXIT_OK;
    }
    const printEnv = args.values['print-env'] === true;
    // Validate everything before touching the state directory.
    const options = printEnv ? undefined : quoteOptions(args.values);
    const collateral = collateralRewrite(args.values);
    const stateDir = args.values['state-dir'] ?? env.FORGE_STATE_DIR ?? join(tmpdir(), 'bootkey-forge');
    const state = await openForgeState(stateDir, { collateral });
    if (!options) {
      output.stdout(`DCAP_ROOT_CA_FILE=${state.paths.rootCaPem}\nCOLLATERAL_DIR=${state.paths.collateralDir}\n`);
      return EXIT_OK;
    }
    const quote = forgeQuoteFromArguments(state.pki, options);
    if (args.values.out) writeFileSync(args.values.out, quote);
    else output.stdout(`${quote.toString('base64')}\n`);
    return EXIT_OK;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    output.stderr(`quote-cmd: ${message}\n`);
    if (error instanceof UsageError) {
      output.stderr('Try --help.\n');
      return EXIT_USAGE;
    }
    return EXIT_FAILURE;
  }
}

type ParsedValues = ReturnType<typeof parseCommandLine>['values'];

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'report-data': { type: 'string' },
        out: { type: 'string' },
        'state-dir': { type: 'string' },
        mrtd: { type: 'string' },
        rtmr0: { type: 'string' },
        rtmr1: { type: 'string' },
        rtmr2: { type: 'string' },
        rtmr3: { type: 'string' },
        mrseam: { type: 'string' },
        'td-attributes': { type: 'string' },
        xfam: { type: 'string' },
        'tee-tcb-svn': { type: 'string' },
        debug: { type: 'boolean' },
        'quote-version': { type: 'string' },
        'td-report': { type: 'string' },
        'trailing-bytes': { type: 'string' },
        'tcb-status': { type: 'string' },
        advisory: { type: 'string', multiple: true },
        'print-env': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function collateralRewrite(values: ParsedValues) {
  const status = values['tcb-status'];
  if (status === undefined && values.advisory === undefined) return undefined;
  if (status !== undefined && !TCB_STATUSES.includes(status as TcbStatus)) {
    throw new UsageError(`--tcb-status must be one of ${TCB_STATUSES.join(', ')}`);
  }
  return { tcbStatus: status as TcbStatus | undefined, advisoryIds: values.advisory };
}

function quoteOptions(values: ParsedValues): ForgeQuoteOptions {
  if (values['report-data'] === undefined) throw new UsageError('--report-data is required');
  const rtmrs: Partial<Record<RtmrName, string>> = {};
  for (const name of ['rtmr0', 'rtmr1', 'rtmr2', 'rtmr3'] as const) {
    if (values[name] !== undefined) rtmrs[name] = values[name];
  }
  return {
    reportData: paddedReportData(values['report-data']),
    mrtd: values.mrtd,
    rtmrs,
    mrseam: values.mrseam,
    tdAttributes: values['td-attributes'],
    xfam: values.xfam,
    teeTcbSvn: values['tee-tcb-svn'],
    debug: values.debug ? true : undefined,
    version: oneOf('--quote-version', values['quote-version'] ?? '4', ['4', '5'] as const) === '5' ? 5 : 4,
    tdReport: oneOf('--td-report', values['td-report'] ?? '1.0', ['1.0', '1.5'] as const),
    trailingBytes: nonNegativeInteger('--trailing-bytes', values['trailing-bytes'] ?? '0'),
  };
}

/** Option values come from the command line, so a field the forge rejects is a usage error. */
function forgeQuoteFromArguments(pki: TestPki, options: ForgeQuoteOptions): Buffer {
  try {
    return forgeQuote(pki, options);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function paddedReportData(hex: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = toBytes('--report-data', hex);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (bytes.length > REPORT_DATA_SIZE) throw new UsageError(`--report-data: at most ${REPORT_DATA_SIZE} bytes`);
  return Buffer.concat([bytes, Buffer.alloc(REPORT_DATA_SIZE - bytes.length)]);
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}`);
  return value as T;
}

function nonNegativeInteger(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a non-negative integer`);
  return Number(value);
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}
