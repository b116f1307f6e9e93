/** Requests and responses of miner key management (`/vms/{vm_name}/keys`): metadata only, never a key. */
import { Type } from 'class-transformer';
import { IsArray, IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { IsSs58 } from '../../common/validation/ss58';
import { NestedArrayOf } from '../../openapi/api-doc.decorator';
import type { RestoreOutcome, VmKeys } from '../vm-keys.service';

const VOLUME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export class VmKeysQuery {
  /** Admins only: act on this miner's VM (ss58). Without it, the caller's own VM. */
  @IsOptional()
  @IsSs58()
  hotkey?: string;
}

export class RestoreKeyRequest {
  @Matches(VOLUME_PATTERN, { message: 'volume must be a volume name' })
  volume: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  generation: number;
}

export class ShredKeysRequest {
  /** Must repeat the vm_name of the path: shredding cannot be undone. */
  @IsString()
  @MaxLength(253)
  confirm: string;
}

export class KeyGenerationView {
  @IsInt() generation: number;
  /** `pending`: issued as a gen-C `next`, awaiting the VM's confirm; `discarded`: the VM did not rotate; `abandoned`: never confirmed. */
  @IsIn(['current', 'pending', 'superseded', 'retired', 'discarded', 'abandoned']) state: string;
  @IsISO8601() created_at: string;
  /** Gen C: the generation handed out beside it when it was issued as `next` (0: the set's root passphrase); null otherwise. */
  @IsOptional() @IsInt() parent_generation: number | null;
  /** Gen C: when the VM's confirm for it arrived (it proves the parent key opened the disk). */
  @IsOptional() @IsISO8601() confirmed_at: string | null;
  /** The boot attestation whose sync created it (null for keys older than generations). */
  @IsOptional() @IsString() attestation_id: string | null;
  @IsOptional() @IsString() client_ip: string | null;
}

export class VolumeKeysView {
  @IsString() volume: string;
  /** Newest first. */
  @IsArray() @ValidateNested({ each: true }) @NestedArrayOf(() => KeyGenerationView) generations: KeyGenerationView[];
}

export class VmKeysResponse {
  @IsString() vm_name: string;
  @IsString() miner_hotkey: string;
  @IsArray() @ValidateNested({ each: true }) @NestedArrayOf(() => VolumeKeysView) volumes: VolumeKeysView[];
}

export class RestoreKeyResponse {
  @IsString() vm_name: string;
  @IsString() miner_hotkey: string;
  @IsString() volume: string;
  @IsInt() generation: number;
  @IsIn(['current']) state: 'current';
  /** The generation that was current before (now superseded); null when none was, or this one already was. */
  @IsOptional() @IsInt() replaced_generation: number | null;
}

export class ShredKeysResponse {
  /** How many generations were shredded. */
  @IsInt() @Min(0) shredded: number;
}

export function toVmKeysResponse(keys: VmKeys): VmKeysResponse {
  return {
    vm_name: keys.vmName,
    miner_hotkey: keys.minerHotkey,
    volumes: keys.volumes.map(({ volume, generations }) => ({
      volume,
      generations: generations.map((g) => ({
        generation: g.generation,
        state: g.state,
        created_at: g.createdAt.toISOString(),
        parent_generation: g.parentGeneration,
        confirmed_at: g.confirmedAt?.toISOString() ?? null,
        attestation_id: g.attestationId,
        client_ip: g.clientIp,
      })),
    })),
  };
}

export function toRestoreKeyResponse(outcome: RestoreOutcome): RestoreKeyResponse {
  return {
    vm_name: outcome.vmName,
    miner_hotkey: outcome.minerHotkey,
    volume: outcome.volume,
    generation: outcome.generation,
    state: 'current',
    replaced_generation: outcome.replacedGeneration,
  };
}
