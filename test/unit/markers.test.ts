import { describe, expect, it } from 'vitest';
import { targetMarkers } from '../../src/installers/local.js';
import { MarkerError, evaluateMarker, markerHoldsForExtras, parseMarker } from '../../src/inputs/markers.js';
import { compareVersionStrings, formatVersion, matchesSpecifier, parseSpecifier, parseSpecifierSet, parseVersion, pinnedVersion } from '../../src/inputs/pep440.js';

describe('PEP 440 versions', () => {
  it.each([
    ['1.0', '1.0'],
    ['1.0-RC1', '1.0rc1'],
    ['1.0c1', '1.0rc1'],
    ['1.0.preview2', '1.0rc2'],
    ['1.0alpha', '1.0a0'],
    ['v1.0.post', '1.0.post0'],
    ['1.0-1', '1.0.post1'],
    ['1.0.rev3', '1.0.post3'],
    ['1.0-dev', '1.0.dev0'],
    ['1!2.0a.dev', '1!2.0a0.dev0'],
    ['1.0+Ubuntu-1', '1.0+ubuntu.1'],
    [' 2026.7.22 ', '2026.7.22'],
  ])('normalizes %s to %s', (input, normalized) => {
    expect(formatVersion(parseVersion(input)!)).toBe(normalized);
  });

  it.each(['', 'abc', '1.0.x', '1.0+', '1..0', '1.0-beta-gamma'])('rejects %j', (input) => {
    expect(parseVersion(input)).toBeUndefined();
  });

  // The ordering example of PEP 440, plus epochs.
  const ORDERED = [
    '1.0.dev456',
    '1.0a1',
    '1.0a2.dev456',
    '1.0a12.dev456',
    '1.0a12',
    '1.0b1.dev456',
    '1.0b2',
    '1.0b2.post345.dev456',
    '1.0b2.post345',
    '1.0rc1.dev456',
    '1.0rc1',
    '1.0',
    '1.0+abc.5',
    '1.0+abc.7',
    '1.0+5',
    '1.0.post456.dev34',
    '1.0.post456',
    '1.0.15',
    '1.1.dev1',
    '2.0',
    '1!0.1',
  ];
  it.each(ORDERED.slice(1).map((v, i) => [ORDERED[i]!, v]))('%s < %s', (lower, higher) => {
    expect(compareVersionStrings(lower, higher)).toBe(-1);
    expect(compareVersionStrings(higher, lower)).toBe(1);
  });

  it.each([
    ['1.0', '1.0.0'],
    ['1.0', '1'],
    ['1.0rc1', '1.0c1'],
    ['0!1.0', '1.0'],
  ])('%s == %s', (a, b) => {
    expect(compareVersionStrings(a, b)).toBe(0);
  });
});

describe('PEP 440 specifiers', () => {
  it.each([
    ['2.0', '==2', true],
    ['2.0.1', '==2.0.*', true],
    ['2.0rc1', '==2.0.*', true],
    ['2.1', '==2.0.*', false],
    ['2', '==2.0.*', true],
    ['2.0+local', '==2.0', true],
    ['2.0+local', '==2.0+local', true],
    ['2.0+local', '==2.0+other', false],
    ['2.0', '!=2.0.*', false],
    ['2.1', '!=2.0.*', true],
    ['2.0', '!=2.0.0', false],
    ['1.4.5', '~=1.4.2', true],
    ['1.5', '~=1.4.2', false],
    ['1.4.1', '~=1.4.2', false],
    ['2.2.1', '~=2.2', true],
    ['2.9', '~=2.2', true],
    ['3.0', '~=2.2', false],
    ['1.0a1', '<1.0', false],
    ['0.9', '<1.0', true],
    ['1.0a1', '<1.0a2', true],
    ['1.0', '<=1.0', true],
    ['1.0+local', '<=1.0', true],
    ['1.0.post1', '>1.0', false],
    ['1.0.post2', '>1.0.post1', true],
    ['1.1', '>1.0', true],
    ['1.0', '>1.0', false],
    ['1.0', '>=1.0', true],
    ['1.0.dev1', '>=1.0', false],
    ['1!1.0', '>=2.0', true],
    ['1.0', '===1.0', true],
    ['1.0.0', '===1.0', false],
    ['FooBar', '===foobar', true],
  ])('%s satisfies %s: %s', (version, spec, expected) => {
    expect(matchesSpecifier(version, parseSpecifier(spec)!)).toBe(expected);
  });

  it.each(['~=1', '>=1.*', '<1.0+local', '==1.0.dev1.*', '=>1.0', '1.0', '==', '>= 1.0 2'])('rejects the clause %j', (spec) => {
    expect(parseSpecifier(spec)).toBeUndefined();
  });

  it('parses sets and finds exact pins', () => {
    expect(parseSpecifierSet('')).toEqual([]);
    expect(parseSpecifierSet('>=1.0, <2 ,!=1.5')).toEqual([
      { op: '>=', version: '1.0' },
      { op: '<', version: '2' },
      { op: '!=', version: '1.5' },
    ]);
    expect(parseSpecifierSet('>=1.0,foo')).toBeUndefined();
    expect(pinnedVersion(parseSpecifierSet('==2.32.3')!)).toBe('2.32.3');
    expect(pinnedVersion(parseSpecifierSet('===2.32.3')!)).toBe('2.32.3');
    expect(pinnedVersion(parseSpecifierSet('==2.32.*')!)).toBeUndefined();
    expect(pinnedVersion(parseSpecifierSet('==2.32.3,!=2.0')!)).toBeUndefined();
  });
});

describe('PEP 508 markers against a Lambda target', () => {
  const py312 = targetMarkers('python3.12', 'x86_64');
  const arm39 = targetMarkers('python3.9', 'arm64');

  it.each([
    ['python_version < "3.11"', false, true],
    ['python_version >= "3.12"', true, false],
    // A version comparison, not a string one: "3.12" < "3.9" as strings.
    ['python_version > "3.9"', true, false],
    ['"3.9" < python_version', true, false],
    ['python_full_version >= "3.12.0"', true, false],
    ["python_version == '3.12'", true, false],
    ['python_version == "3.*"', true, true],
    ['python_version != "3.12.*"', false, true],
    ['python_version ~= "3.10"', true, false],
    ['python_version in "3.11 3.12"', true, false],
    ['python_version not in "3.8 3.9"', true, false],
    ['implementation_version >= "3.10"', true, false],
    ['sys_platform == "win32"', false, false],
    ["sys_platform == 'linux' and platform_machine == 'x86_64'", true, false],
    ['platform_machine == "aarch64" or platform_machine == "x86_64"', true, true],
    ['platform_machine == "aarch64"', false, true],
    ['"arm" not in platform_machine', true, true],
    ['"x86" in platform_machine', true, false],
    ['sys_platform == "win32" or (python_version >= "3.12" and os_name == "posix")', true, false],
    // "and" binds tighter than "or".
    ['python_version >= "3.12" or sys_platform == "linux" and os_name == "nt"', true, false],
    ['(python_version >= "3.12" or sys_platform == "linux") and os_name == "nt"', false, false],
    ['platform_python_implementation != "PyPy"', true, true],
    ['implementation_name === "CPython"', true, true],
    ['platform_system == "Linux"', true, true],
    ['platform_system < "M"', true, true],
    ['os.name == "posix" and sys.platform == "linux"', true, true],
    ['python_implementation == "CPython"', true, true],
    ['extra == "socks"', false, false],
  ])('%s → %s on python3.12/x86_64, %s on python3.9/arm64', (marker, on312, on39) => {
    expect(evaluateMarker(marker, py312)).toBe(on312);
    expect(evaluateMarker(marker, arm39)).toBe(on39);
  });

  it('treats no marker as true', () => {
    expect(evaluateMarker(undefined, py312)).toBe(true);
    expect(evaluateMarker('  ', py312)).toBe(true);
  });

  it.each([
    ['extra == "socks"', 'socks', true],
    ['extra == "Socks_Proxy"', 'socks-proxy', true],
    ['extra != "socks"', 'socks', false],
    ['sys_platform == "linux" and extra == "s3"', 's3', true],
  ])('%s with extra %s → %s', (marker, extra, expected) => {
    expect(evaluateMarker(marker, { ...py312, extra })).toBe(expected);
  });

  it('checks membership in the PEP 751 sets', () => {
    expect(evaluateMarker('"dev" in dependency_groups', { ...py312, dependency_groups: ['dev', 'test'] })).toBe(true);
    expect(evaluateMarker('"Docs" in extras', { ...py312, extras: ['docs'] })).toBe(true);
    expect(evaluateMarker('"docs" not in extras', py312)).toBe(true);
  });

  it('holds for the target when it holds outside or inside an active extra', () => {
    expect(markerHoldsForExtras('extra == "socks" and sys_platform == "linux"', py312, ['socks'])).toBe(true);
    expect(markerHoldsForExtras('extra == "socks"', py312, [])).toBe(false);
  });

  it.each([
    'python_version <',
    'python_version = "3.12"',
    'foo == "1"',
    '(python_version == "3.12"',
    'python_version == "3.12" and',
    'python_version == "3.12")',
    '"3.12"',
    'python_version == "3.12" nand os_name == "posix"',
    'python_version == "3.12',
  ])('rejects the syntax of %j', (marker) => {
    expect(() => parseMarker(marker)).toThrow(MarkerError);
  });

  it('refuses to guess values the target does not define', () => {
    expect(() => evaluateMarker('platform_release >= "5.10"', py312)).toThrow(/platform_release.*not known/);
    // Short-circuit: an unknown variable on the untaken side does not matter.
    expect(evaluateMarker('sys_platform == "win32" and platform_release >= "5"', py312)).toBe(false);
  });

  it('refuses ~= between plain strings', () => {
    expect(() => evaluateMarker('sys_platform ~= "linux"', py312)).toThrow(/needs versions/);
  });
});
