import path from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { PyslimError } from '../../src/errors.js';
import { targetMarkers } from '../../src/installers/local.js';
import { satisfies } from '../../src/inputs/pep440.js';
import { parsePoetryConstraint, pyprojectInfo, resolvePyproject } from '../../src/inputs/pyproject.js';

const ENV = targetMarkers('python3.12', 'x86_64');
const FILE = '/project/pyproject.toml';

function resolveToml(toml: string, groups: string[] = [], env: Record<string, string> = ENV) {
  return resolvePyproject(pyprojectInfo(parse(toml), FILE, 'pyproject.toml'), groups, env);
}

function failure(run: () => unknown): PyslimError {
  try {
    run();
  } catch (error) {
    if (error instanceof PyslimError) return error;
    throw error;
  }
  throw new Error('expected a PyslimError');
}

describe('Poetry constraints as PEP 440', () => {
  const show = (text: string) => parsePoetryConstraint(text, 'x').map((set) => set.map((s) => `${s.op}${s.version}`).join(','));

  it.each([
    ['^1.2.3', ['>=1.2.3,<2.0.0']],
    ['^1.2', ['>=1.2,<2.0']],
    ['^1', ['>=1,<2']],
    ['^0.2.3', ['>=0.2.3,<0.3.0']],
    ['^0.0.3', ['>=0.0.3,<0.0.4']],
    ['^0.0', ['>=0.0,<0.1']],
    ['^0', ['>=0,<1']],
    ['~1.2.3', ['>=1.2.3,<1.3.0']],
    ['~1.2', ['>=1.2,<1.3']],
    ['~1', ['>=1,<2']],
    ['~=1.2', ['~=1.2']],
    ['1.2.*', ['==1.2.*']],
    ['1.2.3', ['==1.2.3']],
    ['=1.2.3', ['==1.2.3']],
    ['*', ['']],
    ['', ['']],
    ['>=1.2,<2.0', ['>=1.2,<2.0']],
    ['>= 1.2, < 2.0', ['>=1.2,<2.0']],
    ['>=1.2 <2.0', ['>=1.2,<2.0']],
    ['>=1.5.6,<1.5.7 || >1.5.7', ['>=1.5.6,<1.5.7', '>1.5.7']],
    ['^2.7 | ^3.6', ['>=2.7,<3.0', '>=3.6,<4.0']],
    ['!=3.0.*,>=2.7', ['!=3.0.*,>=2.7']],
  ])('%s → %j', (constraint, expected) => {
    expect(show(constraint)).toEqual(expected);
  });

  it.each(['^x', '>=1.*', 'latest', '^1.2 !', '>='])('rejects %j naming where it is', (constraint) => {
    expect(() => parsePoetryConstraint(constraint, 'pyproject.toml [tool.poetry.dependencies].foo')).toThrow(
      `pyproject.toml [tool.poetry.dependencies].foo: invalid version constraint "${constraint}"`,
    );
  });

  it('keeps the caret bound exclusive of the next major', () => {
    const [set] = parsePoetryConstraint('^1.2', 'x');
    expect(satisfies('1.9.9', set!)).toBe(true);
    expect(satisfies('2.0.0', set!)).toBe(false);
    expect(satisfies('1.1', set!)).toBe(false);
  });
});

describe('pyproject.toml alone', () => {
  const PEP621 = `
[project]
name = "app"
requires-python = ">=3.11"
dependencies = [
  "requests>=2.31",
  "tomli>=2; python_version < '3.11'",
  "boto3 ; platform_machine == 'aarch64'",
  "pydantic[email]==2.9.2",
  "lib @ file:///srv/lib",
  "gitpkg @ git+https://github.com/org/gitpkg@v1",
]

[project.optional-dependencies]
s3 = ["boto3>=1.35"]
all = ["app[s3]", "orjson"]

[dependency-groups]
test = ["pytest>=8"]
dev = [{ include-group = "test" }, "ruff"]
`;

  it('emits the runtime requirements that apply to the target, without markers', () => {
    const input = resolveToml(PEP621);
    expect(input).toMatchObject({
      kind: 'pyproject.toml',
      files: [FILE],
      requirementsText: 'requests>=2.31\npydantic[email]==2.9.2\n',
      requireHashes: false,
      pins: [{ name: 'pydantic', version: '2.9.2' }],
      localPaths: [{ name: 'lib', path: '/srv/lib', editable: false }],
      vcs: [{ name: 'gitpkg', url: 'git+https://github.com/org/gitpkg@v1' }],
    });
    expect(resolveToml(PEP621, [], targetMarkers('python3.12', 'arm64')).requirementsText).toContain('boto3\n');
  });

  it.each([
    [['s3'], ['boto3>=1.35']],
    // The project's own extras are expanded, not installed from an index.
    [['all'], ['boto3>=1.35', 'orjson']],
    [['dev'], ['pytest>=8', 'ruff']],
    [['TEST'], ['pytest>=8']],
  ])('adds %j', (groups, added) => {
    expect(resolveToml(PEP621, groups).requirementsText).toBe(['requests>=2.31', 'pydantic[email]==2.9.2', ...added, ''].join('\n'));
  });

  it('lists what exists for an unknown group', () => {
    const error = failure(() => resolveToml(PEP621, ['docs']));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.line).toBe('unknown dependency group "docs" in pyproject.toml. Use one of s3 (extra), all (extra), test (group), dev (group)');
    expect(failure(() => resolveToml('[project]\nname = "x"\ndependencies = []\n', ['dev'])).hint).toBe('pyproject.toml declares no optional dependencies or groups');
  });

  it('reads Poetry tables when there is no [project]', () => {
    const toml = `
[tool.poetry]
name = "app"

[tool.poetry.dependencies]
python = "^3.11"
requests = "^2.31"
numpy = [
  { version = "^1.26", python = "<3.12" },
  { version = "^2.1", python = ">=3.12" },
]
pywin32 = { version = "*", platform = "win32" }
uvloop = { version = "^0.21", markers = "sys_platform != 'win32'" }
orjson = { version = "^3.10", optional = true }
lib = { path = "../lib", develop = true }
gitdep = { git = "https://github.com/org/gitdep.git", rev = "abc123", subdirectory = "pkg" }
wheel = { url = "https://example.com/wheel-1.0-py3-none-any.whl" }
httpx = { version = "^0.27", extras = ["http2"] }

[tool.poetry.extras]
fast = ["orjson"]

[tool.poetry.group.dev.dependencies]
pytest = "^8.3"

[[tool.poetry.source]]
name = "corp"
url = "https://pypi.corp/simple"
priority = "supplemental"
`;
    const input = resolveToml(toml);
    expect(input.requirementsText).toBe(
      ['requests>=2.31,<3.0', 'numpy>=2.1,<3.0', 'uvloop>=0.21,<0.22', 'wheel @ https://example.com/wheel-1.0-py3-none-any.whl', 'httpx[http2]>=0.27,<0.28', ''].join('\n'),
    );
    expect(input.localPaths).toEqual([{ name: 'lib', path: path.resolve('/project', '../lib'), editable: true, line: 'pyproject.toml [tool.poetry.dependencies]: lib' }]);
    expect(input.vcs).toEqual([{ name: 'gitdep', url: 'git+https://github.com/org/gitdep.git@abc123#subdirectory=pkg', line: 'pyproject.toml [tool.poetry.dependencies]: gitdep' }]);
    expect(input.pipOptions.extraIndexUrls).toEqual(['https://pypi.corp/simple']);
    expect(resolveToml(toml, [], targetMarkers('python3.11', 'x86_64')).requirementsText).toContain('numpy>=1.26,<2.0\n');
    expect(resolveToml(toml, ['fast', 'dev']).requirementsText).toContain('orjson>=3.10,<4.0\npytest>=8.3,<9.0\n');
  });

  it('refuses what it cannot express or read, or a Python it does not support', () => {
    expect(failure(() => resolveToml('[tool.poetry.dependencies]\npython = "^3.11"\nurllib3 = "^1.26 || ^2.2"\n')).message).toBe(
      'pyproject.toml [tool.poetry.dependencies]: urllib3: a constraint with "||" has no single PEP 440 equivalent',
    );
    expect(failure(() => resolveToml('[project]\nname = "x"\ndynamic = ["dependencies"]\n')).code).toBe('UNSUPPORTED_INPUT');
    expect(failure(() => resolveToml(PEP621, [], targetMarkers('python3.10', 'x86_64'))).message).toBe(
      'pyproject.toml: the project requires Python >=3.11, the target runtime has 3.10.0',
    );
    expect(failure(() => resolveToml('[project]\ndependencies = ["requests>="]\n')).message).toBe(
      'pyproject.toml [project].dependencies: invalid version specifier ">=" in "requests>="',
    );
    expect(failure(() => resolveToml('[dependency-groups]\na = [{ include-group = "b" }]\nb = [{ include-group = "a" }]\n')).message).toBe(
      'pyproject.toml [dependency-groups].a: include-group cycle: a → b → a',
    );
    expect(failure(() => resolveToml('[project]\ndependencies = ["six; platform_version == \'1\'"]\n')).code).toBe('UNSUPPORTED_INPUT');
  });
});
