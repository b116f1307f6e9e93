import { Type } from 'class-transformer';
import { IsArray, IsBoolean, IsIn, IsInt, IsISO8601, IsOptional, IsString, ValidateNested } from 'class-validator';
import { NestedArrayOf } from '../../openapi/api-doc.decorator';

/** Which DCAP trust anchor this instance verifies quotes against. */
export class TrustAnchorReadiness {
  /** True when DCAP_ROOT_CA_FILE replaces the pinned Intel SGX Root CA (tests only). */
  @IsBoolean() overridden: boolean;
  /** The replacing file, when overridden. */
  @IsOptional() @IsString() file?: string;
  /** The replacing certificate's subject, when overridden. */
  @IsOptional() @IsString() subject?: string;
}

/** One MEASUREMENTS_FILE entry (or hardware item) left out, and why. */
export class SkippedMeasurementEntry {
  /** Where it is: `entry 3 (version "1.4.0", hardware 2 "8xb200")`. */
  @IsString() entry: string;
  @IsString() problem: string;
}

/** The last read of MEASUREMENTS_FILE: malformed entries are skipped, not fatal. */
export class MeasurementsFileReadiness {
  @IsString() file: string;
  @IsISO8601() read_at: string;
  /** Sets the file defines (new ones are inserted; existing ones never change). */
  @IsInt() sets: number;
  @IsInt() entries_skipped: number;
  @IsArray() @ValidateNested({ each: true }) @NestedArrayOf(() => SkippedMeasurementEntry) skipped: SkippedMeasurementEntry[];
  /** Set when the last re-read failed as a whole (the sets already stored stay in use). */
  @IsOptional() @IsString() error?: string;
}

export class ReadinessResponse {
  @IsIn(['ok'])
  status: 'ok';

  @ValidateNested()
  @Type(() => TrustAnchorReadiness)
  trust_anchor: TrustAnchorReadiness;

  @IsOptional()
  @ValidateNested()
  @Type(() => MeasurementsFileReadiness)
  measurements?: MeasurementsFileReadiness;
}
