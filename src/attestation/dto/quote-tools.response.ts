/** Response shapes of the public quote tools (documentation DTOs: built explicitly, never from entities). */
import { NestedArrayOf } from '../../openapi/api-doc.decorator';
import { IsArray, IsBoolean, IsIn, IsInt, IsISO8601, IsObject, IsOptional, IsString, Matches, ValidateNested } from 'class-validator';

const HEX = /^[0-9a-f]*$/;

export class QuoteHeaderView {
  @IsInt() version: number;
  @IsInt() attestation_key_type: number;
  @IsString() tee_type: string;
  @IsInt() qe_svn: number;
  @IsInt() pce_svn: number;
  @Matches(HEX) qe_vendor_id: string;
  @IsBoolean() qe_vendor_is_intel: boolean;
  @Matches(HEX) user_data: string;
}

export class QuoteParseResponse {
  @ValidateNested() header: QuoteHeaderView;
  @IsInt() body_type: number;
  @IsIn(['1.0', '1.5']) td_report_version: string;
  @Matches(HEX) tee_tcb_svn: string;
  @Matches(HEX) mrseam: string;
  @Matches(HEX) mrsignerseam: string;
  @Matches(HEX) seam_attributes: string;
  @Matches(HEX) td_attributes: string;
  @IsBoolean() debug: boolean;
  @Matches(HEX) xfam: string;
  @Matches(HEX) mrtd: string;
  @Matches(HEX) mrconfigid: string;
  @Matches(HEX) mrowner: string;
  @Matches(HEX) mrownerconfig: string;
  @Matches(HEX) rtmr0: string;
  @Matches(HEX) rtmr1: string;
  @Matches(HEX) rtmr2: string;
  @Matches(HEX) rtmr3: string;
  @Matches(HEX) report_data: string;
  @IsOptional() @Matches(HEX) tee_tcb_svn2: string | null;
  @IsOptional() @Matches(HEX) mrservicetd: string | null;
  @IsOptional() @Matches(HEX) fmspc: string | null;
  @IsInt() pck_cert_count: number;
  @IsInt() quote_size: number;
  @IsInt() trailing_bytes: number;
}

export class RegisterVerdictView {
  @IsIn(['mrtd', 'rtmr0', 'rtmr1', 'rtmr2', 'rtmr3']) register: string;
  @Matches(HEX) expected: string;
  @Matches(HEX) actual: string;
  @IsBoolean() match: boolean;
}

export class MeasurementMatchView {
  @IsBoolean() matched: boolean;
  /** The matched set, or the nearest one when nothing matched (null when no set is registered). */
  @IsOptional() @IsString() name: string | null;
  @IsOptional() @IsString() version: string | null;
  /** Only on a miss: each register of the nearest set, expected vs actual. */
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @NestedArrayOf(() => RegisterVerdictView) differences?: RegisterVerdictView[];
}

export class MeasurementMatchesView {
  @ValidateNested() boot: MeasurementMatchView;
  @ValidateNested() runtime: MeasurementMatchView;
}

export class CollateralInfoView {
  @IsIn(['directory', 'pccs', 'cache']) origin: string;
  @IsBoolean() stale: boolean;
  @IsISO8601() next_update: string;
}

export class QuoteVerifyResponse {
  /** DCAP verification passed (signatures, chain, CRLs, collateral, QE identity, TCB level). */
  @IsBoolean() dcap_verified: boolean;
  /** Why DCAP failed (stable code), null when it passed. */
  @IsOptional() @IsString() error_code: string | null;
  @IsOptional() @IsString() tcb_status: string | null;
  /** tcb_status is in ACCEPTED_TCB_STATUSES. */
  @IsBoolean() tcb_accepted: boolean;
  @IsArray() @IsString({ each: true }) advisory_ids: string[];
  @IsBoolean() debug: boolean;
  @IsOptional() @Matches(HEX) fmspc: string | null;
  @IsOptional() @IsObject() @ValidateNested() collateral: CollateralInfoView | null;
  @ValidateNested() measurements: MeasurementMatchesView;
  /** Everything a boot attestation checks on the quote itself passed (DCAP, TCB policy, TD attributes, a boot set matched). */
  @IsBoolean() boot_acceptable: boolean;
}
