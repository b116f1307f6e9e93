/**
 * Request shapes of the admin measurement-set routes. The body mirrors one `measurements:` entry
 * of MEASUREMENTS_FILE (the Chutes tee_measurements.yaml shape) plus a write-only
 * `root_passphrase`; after this structural check the service runs the same
 * parseMeasurementSetInput as the YAML loader, so both accept exactly the same sets.
 */
import { Transform, Type } from 'class-transformer';
import { IsRootPassphrase } from '../../common/validation/root-passphrase';
import { HasOnlyKeys } from '../../common/validation/only-keys';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { IsSs58 } from '../../common/validation/ss58';

/** 48 bytes as hex, either case (stored lowercase). */
const REGISTER = /^[0-9a-fA-F]{96}$/;
const REGISTER_MESSAGE = '$property must be 96 hex characters (48 bytes)';

/** Same rule as measurement-set.input.ts (which stays the authority); repeated here for the OpenAPI document. */
export const MEASUREMENT_VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
const VERSION_MESSAGE = '$property must be 1..64 characters: letters, digits, . _ + - (a number is read as a string)';

export const ROOT_PASSPHRASE_MAX_LENGTH = 1024;

export class BootRtmrsRequest {
  @Matches(REGISTER, { message: REGISTER_MESSAGE }) rtmr0: string;
  @Matches(REGISTER, { message: REGISTER_MESSAGE }) rtmr1: string;
  @Matches(REGISTER, { message: REGISTER_MESSAGE }) rtmr2: string;
  /** Optional: when given, a boot quote's RTMR3 must equal it too. */
  @IsOptional() @Matches(REGISTER, { message: REGISTER_MESSAGE }) rtmr3?: string;
}

export class RuntimeRtmrsRequest {
  @Matches(REGISTER, { message: REGISTER_MESSAGE }) rtmr0: string;
  @Matches(REGISTER, { message: REGISTER_MESSAGE }) rtmr1: string;
  @Matches(REGISTER, { message: REGISTER_MESSAGE }) rtmr2: string;
  @Matches(REGISTER, { message: REGISTER_MESSAGE }) rtmr3: string;
}

export class CreateMeasurementSetRequest {
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  name: string;

  /** With `name`, the set's identity; sets are immutable per (name, version). A JSON number is read as its decimal string (send "1.10", not 1.10). */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'number' && Number.isFinite(value) ? String(value) : value))
  @Matches(MEASUREMENT_VERSION_PATTERN, { message: VERSION_MESSAGE })
  version: string;

  @Matches(REGISTER, { message: REGISTER_MESSAGE })
  mrtd: string;

  @IsObject()
  @HasOnlyKeys(['rtmr0', 'rtmr1', 'rtmr2', 'rtmr3'])
  @ValidateNested()
  @Type(() => BootRtmrsRequest)
  boot_rtmrs: BootRtmrsRequest;

  @IsObject()
  @HasOnlyKeys(['rtmr0', 'rtmr1', 'rtmr2', 'rtmr3'])
  @ValidateNested()
  @Type(() => RuntimeRtmrsRequest)
  runtime_rtmrs: RuntimeRtmrsRequest;

  /** GPU identifiers (case-insensitive) a registered server's GPUs must be among; default none. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @IsString({ each: true })
  @Length(1, 128, { each: true })
  expected_gpus?: string[];

  /** When set, a registered server must have exactly this many GPUs. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(64)
  gpu_count?: number | null;

  /** A release candidate: matched only for a caller whose valid signature proves a hotkey in authorized_hotkeys; left out of GET /servers/tee/measurements. */
  @IsOptional()
  @IsBoolean()
  rc?: boolean;

  /** The hotkeys an rc set is for; required (non-empty) when rc is true. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(256)
  @IsSs58({ each: true, message: 'authorized_hotkeys must be a list of ss58 addresses' })
  authorized_hotkeys?: string[];

  /**
   * Write-only: the root-disk passphrase released to VMs that match this set; stored sealed and
   * never returned. Without one the set can match but never releases a root key (NO_ROOT_KEY).
   * Same rules as a passphrase file: UTF-8, no leading or trailing whitespace.
   */
  @IsOptional()
  @IsString()
  @Length(1, ROOT_PASSPHRASE_MAX_LENGTH)
  @IsRootPassphrase()
  root_passphrase?: string;
}

export class MeasurementNameQuery {
  /** Picks one set when several share the version (one per GPU flavour). */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  name?: string;
}

export class RetireMeasurementQuery extends MeasurementNameQuery {
  /** `true`: retire nothing; answer which registered servers and recently booted VMs match the set(s). */
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'dry_run must be true or false' })
  dry_run?: 'true' | 'false';
}

export class MeasurementVersionParams {
  @Matches(MEASUREMENT_VERSION_PATTERN, { message: VERSION_MESSAGE })
  version: string;
}
