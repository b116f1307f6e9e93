/**
 * COLLATERAL_DIR: a site that runs offline drops one bundle per platform as `*.json` (dcap-qvl
 * QuoteCollateralV3 shape); files are indexed by the FMSPC inside their TCB info, not by name.
 * The directory is re-read when its listing or a file's mtime changes, so operators can
 * replace bundles without a restart.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COLLATERAL_FIELDS, QuoteCollateral } from '../core/dcap';
import { CollateralFetchError, CollateralSource, PckCaType, collateralFmspc } from './collateral-source';

export function parseCollateralBundle(text: string, origin: string): QuoteCollateral {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CollateralFetchError(`${origin}: not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new CollateralFetchError(`${origin}: not a JSON object`);
  const record = parsed as Record<string, unknown>;
  const bundle: Record<string, string> = {};
  for (const field of COLLATERAL_FIELDS) {
    const value = record[field];
    // dcap-qvl also writes byte fields as arrays of numbers; accept both, store hex.
    if (Array.isArray(value) && value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
      bundle[field] = Buffer.from(value as number[]).toString('hex');
    } else if (typeof value === 'string' && value.length > 0) {
      bundle[field] = value;
    } else {
      throw new CollateralFetchError(`${origin}: field ${field} is missing or not a string`);
    }
  }
  return bundle as unknown as QuoteCollateral;
}

export class DirectoryCollateralSource implements CollateralSource {
  readonly name = 'directory';
  private signature = '';
  private byFmspc = new Map<string, QuoteCollateral>();
  private problems: string[] = [];

  constructor(private readonly directory: string) {}

  fetch(fmspc: string, _ca: PckCaType): Promise<QuoteCollateral> {
    this.reloadIfChanged();
    const bundle = this.byFmspc.get(fmspc.toLowerCase());
    if (!bundle) return Promise.reject(new CollateralFetchError(`no collateral bundle for FMSPC ${fmspc.toLowerCase()} in COLLATERAL_DIR`));
    return Promise.resolve(bundle);
  }

  /** Files that could not be read as bundles (reported at start, never fatal). */
  loadProblems(): string[] {
    this.reloadIfChanged();
    return [...this.problems];
  }

  private reloadIfChanged(): void {
    let names: string[];
    try {
      names = fs
        .readdirSync(this.directory)
        .filter((name) => name.endsWith('.json'))
        .sort();
    } catch (error) {
      throw new CollateralFetchError(`COLLATERAL_DIR cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const stats = names.map((name) => {
      const stat = fs.statSync(path.join(this.directory, name));
      return `${name}:${stat.mtimeMs}:${stat.size}`;
    });
    const signature = stats.join('|');
    if (signature === this.signature) return;
    const byFmspc = new Map<string, QuoteCollateral>();
    const problems: string[] = [];
    for (const name of names) {
      try {
        const bundle = parseCollateralBundle(fs.readFileSync(path.join(this.directory, name), 'utf8'), name);
        byFmspc.set(collateralFmspc(bundle), bundle);
      } catch (error) {
        problems.push(error instanceof CollateralFetchError ? error.message : `${name}: ${(error as Error).message}`);
      }
    }
    this.byFmspc = byFmspc;
    this.problems = problems;
    this.signature = signature;
  }
}
