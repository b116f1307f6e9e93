/**
 * Orders image versions the way a release train does ("1.4.0" > "1.3.10" > "1.3.2" > "1.3"):
 * dot-separated numeric parts compared as numbers, missing parts as 0; a pre-release suffix
 * ("1.4.0-rc1", "1.4.0rc1") sorts before its release. A version with no leading number sorts
 * before every numbered one, so a floor never lets an unparseable version through.
 */
const NUMBERED = /^(\d+(?:\.\d+)*)(.*)$/;

export function compareVersions(a: string, b: string): number {
  const left = NUMBERED.exec(a.trim());
  const right = NUMBERED.exec(b.trim());
  if (!left || !right) return left ? 1 : right ? -1 : a.localeCompare(b);
  const leftParts = left[1].split('.').map(Number);
  const rightParts = right[1].split('.').map(Number);
  for (let i = 0; i < Math.max(leftParts.length, rightParts.length); i++) {
    const difference = (leftParts[i] ?? 0) - (rightParts[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  const leftSuffix = left[2];
  const rightSuffix = right[2];
  if (leftSuffix === rightSuffix) return 0;
  if (leftSuffix === '') return 1;
  if (rightSuffix === '') return -1;
  return leftSuffix < rightSuffix ? -1 : 1;
}

/** True when `version` is at least `floor`. */
export function versionAtLeast(version: string, floor: string): boolean {
  return compareVersions(version, floor) >= 0;
}

const SEMVER = /^\d+\.\d+\.\d+(?:[-+.][0-9A-Za-z.+-]*)?$/;

/** MAJOR.MINOR.PATCH (with an optional pre-release or build suffix): how release trains such as Chutes' images are named. */
export function isSemver(version: string): boolean {
  return SEMVER.test(version.trim());
}

/**
 * True when `version` is a semver release at least `floor`. A set named by a plain number or a
 * word ("2", "prod") is not on a release train and never counts as past a semver floor.
 */
export function semverAtLeast(version: string, floor: string): boolean {
  return isSemver(version) && versionAtLeast(version, floor);
}

/** A version a floor can be set to: it starts with a number. */
export function isOrderedVersion(value: string): boolean {
  return NUMBERED.test(value.trim());
}
