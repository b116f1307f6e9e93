/** Response shapes of the admin measurement-set routes: built from the set field by field, never the root passphrase. */
import { IsArray, IsBoolean, IsInt, IsISO8601, IsOptional, IsString, Matches, ValidateNested } from 'class-validator';
import { NestedArrayOf } from '../../openapi/api-doc.decorator';
import type { MeasurementSet, RtmrSet } from '../../measurements/measurement-set.types';

const REGISTER = /^[0-9a-f]{96}$/;

export class RtmrsView {
  @Matches(REGISTER) rtmr0: string;
  @Matches(REGISTER) rtmr1: string;
  @Matches(REGISTER) rtmr2: string;
  /** Always present in runtime_rtmrs; in boot_rtmrs only when the set checks it. */
  @IsOptional() @Matches(REGISTER) rtmr3?: string;
}

export class MeasurementSetResponse {
  @IsString() name: string;
  @IsString() version: string;
  @Matches(REGISTER) mrtd: string;
  @ValidateNested() boot_rtmrs: RtmrsView;
  @ValidateNested() runtime_rtmrs: RtmrsView;
  @IsArray() @IsString({ each: true }) expected_gpus: string[];
  @IsOptional() @IsInt() gpu_count: number | null;
  /** A release candidate (matched only for a proven hotkey in authorized_hotkeys). */
  @IsBoolean() rc: boolean;
  @IsArray() @IsString({ each: true }) authorized_hotkeys: string[];
  /** Whether a root passphrase is stored (the passphrase itself is write-only). */
  @IsBoolean() has_root_passphrase: boolean;
  @IsISO8601() created_at: string;
  /** Set once the set is retired (kept for audit, no longer matched); null while active. */
  @IsOptional() @IsISO8601() retired_at: string | null;
}

export class MeasurementSetListResponse {
  /** Every set, retired ones included, oldest first. */
  @IsArray() @ValidateNested({ each: true }) @NestedArrayOf(() => MeasurementSetResponse) items: MeasurementSetResponse[];
}

function rtmrsView(rtmrs: RtmrSet, withRtmr3: boolean): RtmrsView {
  const view: RtmrsView = { rtmr0: rtmrs.rtmr0 ?? '', rtmr1: rtmrs.rtmr1 ?? '', rtmr2: rtmrs.rtmr2 ?? '' };
  if (withRtmr3 || rtmrs.rtmr3 !== undefined) view.rtmr3 = rtmrs.rtmr3 ?? '';
  return view;
}

export function toMeasurementSetResponse(set: MeasurementSet): MeasurementSetResponse {
  return {
    name: set.name,
    version: set.version,
    mrtd: set.mrtd,
    boot_rtmrs: rtmrsView(set.bootRtmrs, false),
    runtime_rtmrs: rtmrsView(set.runtimeRtmrs, true),
    expected_gpus: [...set.expectedGpus],
    gpu_count: set.gpuCount,
    rc: set.rc,
    authorized_hotkeys: [...set.authorizedHotkeys],
    has_root_passphrase: set.sealedRootPassphrase !== null,
    created_at: set.createdAt.toISOString(),
    retired_at: set.retiredAt ? set.retiredAt.toISOString() : null,
  };
}

export class SetIdentityView {
  @IsString() name: string;
  @IsString() version: string;
}

export class ImpactedServerView {
  @IsString() server_id: string;
  @IsString() name: string;
  @IsString() vm_name: string;
  @IsString() miner_hotkey: string;
  @IsString() host: string;
  /** The set its latest verified attestation matched. */
  @IsString() measurement_name: string;
  @IsString() measurement_version: string;
  /** That attestation's time; null when only the registration is left to go by. */
  @IsOptional() @IsISO8601() attested_at: string | null;
}

export class ImpactedVmView {
  @IsString() miner_hotkey: string;
  @IsString() vm_name: string;
  @IsString() measurement_name: string;
  @IsString() measurement_version: string;
  /** Its newest verified boot on that set. */
  @IsISO8601() last_boot_at: string;
  /** A verified boot on another set came after it: the VM has likely moved on already. */
  @IsBoolean() booted_other_set_since: boolean;
}

/** `DELETE /admin/measurements/{version}?dry_run=true`: nothing retired; what would stop matching. */
export class RetirementDryRunResponse {
  @IsBoolean() dry_run: true;
  /** The set(s) the same call without dry_run would retire. */
  @IsArray() @ValidateNested({ each: true }) @NestedArrayOf(() => SetIdentityView) sets: SetIdentityView[];
  /** Registered servers whose latest verified attestation matched one of them. */
  @IsArray() @ValidateNested({ each: true }) @NestedArrayOf(() => ImpactedServerView) servers: ImpactedServerView[];
  /** VMs with a verified boot on one of them in the last `since_days` days. */
  @IsArray() @ValidateNested({ each: true }) @NestedArrayOf(() => ImpactedVmView) vms: ImpactedVmView[];
  @IsISO8601() vms_since: string;
}
