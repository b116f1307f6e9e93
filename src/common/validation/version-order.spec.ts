import { compareVersions, isOrderedVersion, isSemver, semverAtLeast, versionAtLeast } from './version-order';

describe('version order', () => {
  it.each([
    ['1.4.0', '1.3.10', 1],
    ['1.3.10', '1.3.2', 1],
    ['1.4', '1.4.0', 0],
    ['1.4.0', '1.4.0', 0],
    ['1.4.0-rc1', '1.4.0', -1],
    ['1.4.0rc1', '1.4.0rc2', -1],
    ['0.2.1', '1.4.0', -1],
    ['10.0.0', '9.9.9', 1],
    ['dev', '0.0.1', -1],
    ['0.0.1', 'dev', 1],
  ])('%s vs %s → %d', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(-expected || 0);
  });

  it('floors: at least', () => {
    expect(versionAtLeast('1.4.0', '1.4.0')).toBe(true);
    expect(versionAtLeast('1.4.1', '1.4.0')).toBe(true);
    expect(versionAtLeast('1.3.1', '1.4.0')).toBe(false);
    expect(versionAtLeast('latest', '1.4.0')).toBe(false);
  });

  it('a floor must start with a number', () => {
    expect(isOrderedVersion('1.4.0')).toBe(true);
    expect(isOrderedVersion('v1.4.0')).toBe(false);
    expect(isOrderedVersion('')).toBe(false);
  });
});

describe('semver floors (GEN_C_MIN_VERSION)', () => {
  it('only MAJOR.MINOR.PATCH versions count', () => {
    expect(isSemver('1.4.0')).toBe(true);
    expect(isSemver('1.4.0-rc1')).toBe(true);
    expect(isSemver('2')).toBe(false);
    expect(isSemver('1.4')).toBe(false);
    expect(semverAtLeast('1.4.0', '1.4.0')).toBe(true);
    expect(semverAtLeast('1.5.2', '1.4.0')).toBe(true);
    expect(semverAtLeast('1.3.1', '1.4.0')).toBe(false);
    expect(semverAtLeast('2', '1.4.0')).toBe(false);
    expect(semverAtLeast('5', '1.4.0')).toBe(false);
  });
});
