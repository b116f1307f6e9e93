/**
 * What the CLI prints: human tables and key/value lists on stdout by default, the broker's raw
 * JSON with `--json`; messages, warnings and the progress spinner on stderr (the spinner only
 * when stderr is a terminal, so scripts and logs never see it).
 */

/** The streams a run writes to (process.stdout/stderr, or buffers in tests). */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

/** Renders a value for a table cell or a key/value line. */
export function cell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cell).join(',');
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  // Objects print as JSON; nothing else comes out of a JSON body.
  return JSON.stringify(value) ?? '-';
}

/** A value inside a sentence: as cell() renders it, but a missing value is empty instead of '-'. */
export function inline(value: unknown): string {
  return value === undefined || value === null || value === '' ? '' : cell(value);
}

/** A plain text table: a header row, then one line per row, columns padded to their widest cell. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => cell(column.value(row))));
  const widths = columns.map((column, index) => Math.max(column.header.length, ...cells.map((line) => line[index].length)));
  const format = (line: string[]) =>
    line
      .map((text, index) => (index === line.length - 1 ? text : text.padEnd(widths[index])))
      .join('  ')
      .trimEnd();
  return [format(columns.map((column) => column.header)), ...cells.map(format)].join('\n') + '\n';
}

/** `key: value` lines with the keys aligned. */
export function renderKeyValues(pairs: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `${`${key}:`.padEnd(width + 1)} ${cell(value)}`.trimEnd()).join('\n') + '\n';
}

/** `5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY` → `5GrwvaEF…utQY`, for table columns (JSON keeps it whole). */
export function shortKey(value: unknown): unknown {
  return typeof value === 'string' && value.length > 16 ? `${value.slice(0, 8)}…${value.slice(-4)}` : value;
}

const SPINNER_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Output {
  constructor(
    private readonly stdout: OutputStream,
    private readonly stderr: OutputStream,
    /** `--json`: print raw server JSON instead of tables. */
    readonly json: boolean,
  ) {}

  /** The broker's JSON as it came (scripts), or `human()` when not in --json mode. */
  result(value: unknown, human: () => void): void {
    if (this.json) this.printJson(value);
    else human();
  }

  printJson(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value ?? null, null, 2)}\n`);
  }

  line(text = ''): void {
    this.stdout.write(`${text}\n`);
  }

  table<T>(rows: readonly T[], columns: readonly Column<T>[], empty: string): void {
    if (rows.length === 0) this.line(empty);
    else this.stdout.write(renderTable(rows, columns));
  }

  keyValues(pairs: readonly (readonly [string, unknown])[]): void {
    this.stdout.write(renderKeyValues(pairs));
  }

  /** A message for a person, on stderr (so stdout stays clean for --json). */
  note(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  /**
   * Shows `label` with a spinner and the seconds waited while `work` runs, on stderr and only when
   * stderr is a terminal; clears the line afterwards.
   */
  async progress<T>(label: string, work: () => Promise<T>): Promise<T> {
    if (!this.stderr.isTTY) return work();
    const started = Date.now();
    let frame = 0;
    const draw = () => {
      const seconds = Math.floor((Date.now() - started) / 1000);
      this.stderr.write(`\r${SPINNER_FRAMES[frame++ % SPINNER_FRAMES.length]} ${label} (${seconds}s)`);
    };
    draw();
    const timer = setInterval(draw, 100);
    try {
      return await work();
    } finally {
      clearInterval(timer);
      this.stderr.write('\r\x1b[2K');
    }
  }
}

/** Nested objects as dotted keys (`boot_rtmrs.rtmr0`), for `show` commands; lists stay whole. */
export function flatten(value: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(value).flatMap(([key, inner]): [string, unknown][] =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? flatten(inner as Record<string, unknown>, `${prefix}${key}.`)
      : [[`${prefix}${key}`, inner]],
  );
}
