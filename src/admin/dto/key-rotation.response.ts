/** Response of POST /admin/keys/rotate. */
import { IsInt, IsString, Min } from 'class-validator';
import type { KeyRotationResult } from '../../keys/key-custody.service';

export class KeyRotationResponse {
  /** The active KEK every sealed secret is now wrapped with. */
  @IsString() kek_id: string;
  /** How many data keys were re-wrapped by this call (0 when all already were). */
  @IsInt() @Min(0) rewrapped: number;
}

export function toKeyRotationResponse(result: KeyRotationResult): KeyRotationResponse {
  return { kek_id: result.kekId, rewrapped: result.rewrapped };
}
