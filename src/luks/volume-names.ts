import { DomainError, ErrorCode } from '../common/errors';

/**
 * The volumes a VM may ask keys for: names among LUKS_VOLUMES, each once (422 before anything is
 * touched). Shared by the boot-token sync and the gen-C /provision.
 */
export function checkVolumeNames(volumes: readonly string[], allowedVolumes: readonly string[]): void {
  const allowed = new Set(allowedVolumes);
  const unknown = volumes.filter((volume) => !allowed.has(volume));
  if (unknown.length > 0)
    throw new DomainError(ErrorCode.VALIDATION_FAILED, `volumes must be among ${allowedVolumes.join(', ')}; unknown: ${unknown.join(', ')}`);
  if (new Set(volumes).size !== volumes.length) throw new DomainError(ErrorCode.VALIDATION_FAILED, 'volumes must not repeat');
}
