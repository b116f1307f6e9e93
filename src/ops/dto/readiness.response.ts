import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, ValidateNested } from 'class-validator';

/** Which DCAP trust anchor this instance verifies quotes against. */
export class TrustAnchorReadiness {
  /** True when DCAP_ROOT_CA_FILE replaces the pinned Intel SGX Root CA (tests only). */
  @IsBoolean() overridden: boolean;
  /** The replacing file, when overridden. */
  @IsOptional() @IsString() file?: string;
  /** The replacing certificate's subject, when overridden. */
  @IsOptional() @IsString() subject?: string;
}

export class ReadinessResponse {
  @IsIn(['ok'])
  status: 'ok';

  @ValidateNested()
  @Type(() => TrustAnchorReadiness)
  trust_anchor: TrustAnchorReadiness;
}
