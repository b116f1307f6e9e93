/** Request and response shapes of the server registry (built explicitly, never from rows). */
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO8601,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { VM_NAME_PATTERN } from '../../common/validation/vm-name';
import { NestedArrayOf } from '../../openapi/api-doc.decorator';
import { QUOTE_BASE64_MAX_CHARS } from '../../attestation/dto/quote.request';

const HOST_PATTERN = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^[0-9a-fA-F:.]{2,45}$/;
export const SERVER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

export class NodeArgs {
  @IsString() @MinLength(1) @MaxLength(128) uuid: string;
  @IsString() @MinLength(1) @MaxLength(128) name: string;
  @IsInt() @Min(0) memory: number;
  @IsOptional() @IsInt() @Min(0) major?: number;
  @IsOptional() @IsInt() @Min(0) minor?: number;
  @IsOptional() @IsInt() @Min(0) processors?: number;
  @IsOptional() @IsBoolean() sxm?: boolean;
  @IsNumber() @Min(0) clock_rate: number;
  @IsOptional() @IsInt() @Min(0) max_threads_per_processor?: number;
  @IsOptional() @IsBoolean() concurrent_kernels?: boolean;
  @IsOptional() @IsBoolean() ecc?: boolean;
  @IsInt() @Min(0) @Max(9) device_index: number;
  @IsString() @MinLength(1) @MaxLength(128) gpu_identifier: string;
  @IsString() @MinLength(1) @MaxLength(253) verification_host: string;
  @IsInt() @Min(1) @Max(65535) verification_port: number;
}

export class RegisterServerRequest {
  /** Hostname or IP address of the server (its attestation service listens on ATTESTATION_PORT). */
  @Matches(HOST_PATTERN, { message: 'host must be a hostname or an IP address' })
  host: string;

  /** The server's id (chosen by the miner, unique). */
  @Matches(SERVER_ID_PATTERN, { message: 'id must be 1..128 of letters, digits, _ . : -' })
  id: string;

  /** The VM name (its `hostname`); defaults to `id`. */
  @IsOptional()
  @Matches(VM_NAME_PATTERN, { message: 'name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$' })
  name?: string;

  @IsArray()
  @ArrayMaxSize(16)
  @ValidateNested({ each: true })
  @Type(() => NodeArgs)
  @NestedArrayOf(() => NodeArgs)
  gpus: NodeArgs[];
}

export class ServerIdParams {
  @Matches(SERVER_ID_PATTERN, { message: 'server_id must be 1..128 of letters, digits, _ . : -' })
  server_id: string;
}

export class ServerNameOrIdParams {
  @Matches(SERVER_ID_PATTERN, { message: 'server_name_or_id must be a server id or name' })
  server_name_or_id: string;
}

export class DeleteServerQuery {
  /** `true`: also shred the volume keys of this server's own vm_name, in the same transaction. Default: keys are kept. */
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'destroy_keys must be true or false' })
  destroy_keys?: 'true' | 'false';

  /** Which the path names, when it is one server's id and another server's name. */
  @IsOptional()
  @IsIn(['id', 'name'], { message: 'by must be id or name' })
  by?: 'id' | 'name';
}

export class RenameServerQuery {
  @Matches(VM_NAME_PATTERN, { message: 'server_name must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$' })
  server_name: string;
}

export class RuntimeAttestationRequest {
  @IsString()
  @MinLength(1)
  @MaxLength(QUOTE_BASE64_MAX_CHARS)
  quote: string;
}

export class MessageResponse {
  @IsString() message: string;
}

export class NodeView {
  @IsString() uuid: string;
  @IsString() name: string;
  @IsInt() memory: number;
  @IsInt() device_index: number;
  @IsString() gpu_identifier: string;
  @IsString() verification_host: string;
  @IsInt() verification_port: number;
}

export class ServerView {
  @IsString() server_id: string;
  @IsString() name: string;
  @IsString() vm_name: string;
  @IsString() host: string;
  @IsString() miner_hotkey: string;
  @IsOptional() @IsString() measurement_name: string | null;
  @IsOptional() @IsString() measurement_version: string | null;
  @IsISO8601() created_at: string;
  @IsISO8601() updated_at: string;
  @IsArray() @ValidateNested({ each: true }) @NestedArrayOf(() => NodeView) gpus: NodeView[];
}

export class ServerListResponse {
  @IsArray() @ValidateNested({ each: true }) @NestedArrayOf(() => ServerView) items: ServerView[];
}

export class DeleteServerResponse {
  @IsString() message: string;
  @IsString() server_id: string;
  /** The VM name its volume keys are stored under. */
  @IsString() vm_name: string;
  /** True unless destroy_keys=true: the next registration under this vm_name finds them again. */
  @IsBoolean() keys_kept: boolean;
  /** Volumes whose keys were shredded (destroy_keys=true), else empty. */
  @IsArray() @IsString({ each: true }) destroyed_volumes: string[];
}

export class RuntimeNonceResponse {
  @Matches(/^[0-9a-f]{64}$/) nonce: string;
  @IsISO8601() expires_at: string;
}

export class RuntimeAttestationResponse {
  @IsString() attestation_id: string;
  @IsISO8601() verified_at: string;
  @IsIn(['verified']) status: 'verified';
}

export class LastAttestationView {
  @IsString() attestation_id: string;
  @IsISO8601() created_at: string;
  @IsIn(['verified', 'failed']) status: string;
  @IsOptional() @IsString() error_code: string | null;
  @IsOptional() @IsString() measurement_version: string | null;
}

export class AttestationStatusResponse {
  @IsString() server_id: string;
  @IsString() name: string;
  @IsIn(['never_attested', 'verified', 'failed']) attestation_status: string;
  @IsOptional() @ValidateNested() last_attestation: LastAttestationView | null;
}
