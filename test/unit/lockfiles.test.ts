/**
 * uv.lock and poetry.lock read from hand-written fixtures that follow the real formats; the
 * hashes are those of the real wheels, so test/integration/inputs-pip.test.ts can install them.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PyslimError } from '../../src/errors.js';
import { targetMarkers } from '../../src/installers/local.js';
import { assertInstallable, resolveDependencyInput } from '../../src/inputs/resolve.js';
import type { ResolvedInput } from '../../src/inputs/types.js';
import type { RuntimeName } from '../../src/runtimes.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/lambda.js';

const LOCKS = path.join(ROOT, 'test/fixtures/lockfiles');
const RUNTIME_SET = ['certifi==2026.7.22', 'charset-normalizer==3.5.2', 'idna==3.20', 'requests==2.34.2', 'urllib3==2.8.0'];
const DEV_SET = ['iniconfig==2.3.0', 'packaging==26.3', 'pluggy==1.6.0', 'pygments==2.21.0', 'pytest==9.1.1'];
const copies: string[] = [];
afterAll(() => copies.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

interface Target {
  runtime?: RuntimeName;
  platform?: string;
  groups?: string[];
}

async function resolveFixture(fixture: string, { runtime = 'python3.12', platform, groups }: Target = {}): Promise<ResolvedInput> {
  const markerEnv = { ...targetMarkers(runtime, 'x86_64'), ...(platform ? { sys_platform: platform } : {}) };
  const dir = path.isAbsolute(fixture) ? fixture : path.join(LOCKS, fixture);
  const resolved = await resolveDependencyInput({ dir, groups, markerEnv });
  if (!resolved) throw new Error(`nothing resolved in ${dir}`);
  return resolved;
}

const pinned = (input: ResolvedInput) => input.pins.map((p) => `${p.name}==${p.version}`);
const sorted = (list: string[]) => [...list].sort();

/** A writable copy of a fixture, for the stale-lock cases. */
function copyFixture(fixture: string): string {
  const dir = path.join(tempDir('pyslim-lock-'), fixture);
  copies.push(path.dirname(dir));
  cpSync(path.join(LOCKS, fixture), dir, { recursive: true });
  return dir;
}

function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`no ${String(from)} in ${file}`);
  writeFileSync(file, next);
}

async function failure(run: () => Promise<unknown>): Promise<PyslimError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof PyslimError) return error;
    throw error;
  }
  throw new Error('expected a PyslimError');
}

describe('uv.lock', () => {
  it('pins the runtime closure of the root with every hash, and leaves the dev group out', async () => {
    const input = await resolveFixture('uv-app');
    expect(input.kind).toBe('uv.lock');
    expect(input.files).toEqual([path.join(LOCKS, 'uv-app/uv.lock'), path.join(LOCKS, 'uv-app/pyproject.toml')]);
    expect(pinned(input)).toEqual(RUNTIME_SET);
    expect(input.requireHashes).toBe(true);
    expect(input.requirementsText.split('\n')).toEqual([
      'certifi==2026.7.22 --hash=sha256:62f22742b58a1a33014a2b6b706588a8d7e2a88ae7bd1a6ebe8c992928483775',
      'charset-normalizer==3.5.2 --hash=sha256:211d5a3eb6af8f513b8d4ca19a8c1b7accab1b5f0d3175f9826b03c1a920dc1f',
      'idna==3.20 --hash=sha256:ab7ae7122974553370f0bdb919e1a960b2cd1bc1ef0276416d896db81c14582c',
      'requests==2.34.2 --hash=sha256:2a0d60c172f83ac6ab31e4554906c0f3b3588d37b5cb939b1c061f4907e278e0',
      'urllib3==2.8.0 --hash=sha256:0cf3cae568d36aa9576b28dfb35f11328f1cb974ca7647d9475ebb86c75ac6e3',
      '',
    ]);
    expect(input).toMatchObject({ localPaths: [], vcs: [] });
    expect(input.constraintsText).toBeUndefined();
  });

  it.each<[string, Target, string[]]>([
    ['the dev group', { groups: ['dev'] }, [...RUNTIME_SET, ...DEV_SET]],
    // colorama is a Windows-only edge (from the root and from pytest).
    ['the dev group for win32', { groups: ['dev'], platform: 'win32' }, [...RUNTIME_SET, ...DEV_SET, 'colorama==0.4.6']],
    ['the runtime set for win32', { platform: 'win32' }, [...RUNTIME_SET, 'colorama==0.4.6']],
    // exceptiongroup and tomli are pytest's python < 3.11 edges; typing-extensions comes with exceptiongroup.
    ['the dev group on python3.10', { groups: ['dev'], runtime: 'python3.10' }, [...RUNTIME_SET, ...DEV_SET, 'exceptiongroup==1.3.1', 'tomli==2.4.1', 'typing-extensions==4.16.0']],
    ['the compat extra', { groups: ['compat'] }, [...RUNTIME_SET, 'six==1.17.0']],
    // socks asks for requests[socks], whose optional dependency is pysocks.
    ['the socks extra (an extra of a dependency)', { groups: ['Socks'] }, [...RUNTIME_SET, 'pysocks==1.7.1']],
  ])('adds %s', async (_, target, expected) => {
    expect(sorted(pinned(await resolveFixture('uv-app', target)))).toEqual(sorted(expected));
  });

  it('lists the known extras and groups for an unknown one', async () => {
    const error = await failure(() => resolveFixture('uv-app', { groups: ['docs'] }));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.line).toBe('unknown dependency group "docs" in uv.lock. Use one of compat (extra), socks (extra), dev (group)');
  });

  it('refuses a target Python outside requires-python', async () => {
    const error = await failure(() => resolveFixture('uv-app', { runtime: 'python3.9' }));
    expect(error.code).toBe('UNSUPPORTED_INPUT');
    expect(error.message).toBe('uv.lock: the project requires Python >=3.10, the target runtime has 3.9.0');
  });

  it('returns workspace members and path sources as local paths, git sources as VCS, other indexes as options', async () => {
    const dir = path.join(LOCKS, 'uv-workspace');
    const input = await resolveFixture('uv-workspace');
    expect(pinned(input)).toEqual(['idna==3.20', 'pysocks==1.7.1', 'six==1.17.0']);
    expect(input.requirementsText).toMatch(/^pysocks @ https:\/\/files\.pythonhosted\.org\/packages\/.*\/PySocks-1\.7\.1-py3-none-any\.whl --hash=sha256:2725bd0a/m);
    expect(input.localPaths).toEqual([
      { name: 'certifi', path: path.join(dir, 'wheels/certifi-2026.7.22-py3-none-any.whl'), editable: false, line: 'uv.lock: package "certifi"' },
      { name: 'lib', path: path.join(dir, 'packages/lib'), editable: true, line: 'uv.lock: package "lib"' },
    ]);
    expect(input.vcs).toEqual([{ name: 'gitdep', url: 'git+https://github.com/example/gitdep@1f0c6c2e4b1d8a3e5f7a9b0c2d4e6f8a0b1c3d5e', line: 'uv.lock: package "gitdep"' }]);
    expect(input.pipOptions.extraIndexUrls).toEqual(['https://pkgs.example.com/simple']);
    expect(() => assertInstallable(input, 'local')).toThrow(/^uv\.lock: package "gitdep": gitdep comes from version control/);
  });

  it('notices a pyproject.toml the lock has not caught up with', async () => {
    const dir = copyFixture('uv-app');
    edit(path.join(dir, 'pyproject.toml'), '"requests>=2.32",', '"requests>=2.32",\n    "boto3>=1.35",');
    let error = await failure(() => resolveFixture(dir));
    expect(error.line).toBe('uv.lock is out of date: pyproject.toml [project].dependencies wants boto3, which the lock lacks. Run "uv lock"');

    edit(path.join(dir, 'pyproject.toml'), '    "boto3>=1.35",\n', '');
    edit(path.join(dir, 'pyproject.toml'), '"requests>=2.32"', '"requests>=3"');
    error = await failure(() => resolveFixture(dir));
    expect(error.message).toBe('uv.lock is out of date: pyproject.toml [project].dependencies wants requests >=3, the lock has 2.34.2');
  });

  it.each([
    ['a newer lock version', [/^version = 1$/m, 'version = 2'], 'UNSUPPORTED_INPUT', /^uv\.lock: lockfile version 2 is not supported/],
    ['broken TOML', [/^wheels = \[$/m, 'wheels = [ ='], 'INVALID_INPUT', /^uv\.lock:\d+:\d+: invalid TOML/],
    ['an edge to a missing package', ['{ name = "idna" },', '{ name = "idna-missing" },'], 'INVALID_INPUT', /^uv\.lock: package "requests" dependency "idna-missing": matches no locked package/],
    ['a bad hash', ['hash = "sha256:62f2', 'hash = "sha1:62f2'], 'INVALID_INPUT', /^uv\.lock: package "certifi" file 1: invalid hash/],
    ['no root project', ['source = { editable = "." }', 'source = { editable = "app" }'], 'UNSUPPORTED_INPUT', /^uv\.lock: no root project/],
  ] as const)('rejects %s', async (_, [from, to], code, message) => {
    const dir = copyFixture('uv-app');
    edit(path.join(dir, 'uv.lock'), from, to);
    const error = await failure(() => resolveFixture(dir));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('works without a pyproject.toml, finding the root by its source', async () => {
    const dir = copyFixture('uv-app');
    rmSync(path.join(dir, 'pyproject.toml'));
    const input = await resolveFixture(dir, { groups: ['dev'] });
    expect(input.files).toEqual([path.join(dir, 'uv.lock')]);
    expect(sorted(pinned(input))).toEqual(sorted([...RUNTIME_SET, ...DEV_SET]));
  });
});

describe('poetry.lock', () => {
  it.each(['poetry-app', 'poetry-legacy'])('%s: pins the main dependencies of pyproject.toml with hashes, without dev', async (fixture) => {
    const input = await resolveFixture(fixture);
    expect(input.kind).toBe('poetry.lock');
    expect(input.files).toEqual([path.join(LOCKS, fixture, 'poetry.lock'), path.join(LOCKS, fixture, 'pyproject.toml')]);
    expect(pinned(input)).toEqual(RUNTIME_SET);
    expect(input.requireHashes).toBe(true);
    expect(input.requirementsText).toContain('requests==2.34.2 --hash=sha256:2a0d60c172f83ac6ab31e4554906c0f3b3588d37b5cb939b1c061f4907e278e0\n');
    expect(input.requirementsText).not.toMatch(/pytest|six|colorama/);
  });

  it.each<[string, string, Target, string[]]>([
    ['poetry-app', 'dev group', { groups: ['dev'] }, [...RUNTIME_SET, ...DEV_SET]],
    ['poetry-app', 'compat extra (an optional dependency)', { groups: ['compat'] }, [...RUNTIME_SET, 'six==1.17.0']],
    ['poetry-app', 'win32 marker', { platform: 'win32' }, [...RUNTIME_SET, 'colorama==0.4.6']],
    ['poetry-app', 'dev group on python3.10', { groups: ['dev'], runtime: 'python3.10' }, [...RUNTIME_SET, ...DEV_SET, 'exceptiongroup==1.3.1', 'tomli==2.4.1', 'typing-extensions==4.16.0']],
    ['poetry-legacy', 'legacy dev-dependencies', { groups: ['dev'] }, [...RUNTIME_SET, ...DEV_SET]],
    // Poetry 2: [project] dependencies with requests[socks], whose optional PySocks edge has a "||" constraint.
    ['poetry2-app', 'nothing', {}, [...RUNTIME_SET, 'pysocks==1.7.1']],
    ['poetry2-app', 'dev group', { groups: ['dev'] }, [...RUNTIME_SET, 'pysocks==1.7.1', ...DEV_SET]],
    ['poetry2-app', 'compat extra', { groups: ['compat'] }, [...RUNTIME_SET, 'pysocks==1.7.1', 'six==1.17.0']],
    ['poetry2-app', 'win32 marker', { platform: 'win32', groups: ['dev'] }, [...RUNTIME_SET, 'pysocks==1.7.1', ...DEV_SET, 'colorama==0.4.6']],
  ])('%s: %s', async (fixture, _, target, expected) => {
    expect(sorted(pinned(await resolveFixture(fixture, target)))).toEqual(sorted(expected));
  });

  it('lists what can be asked for', async () => {
    const error = await failure(() => resolveFixture('poetry-app', { groups: ['test'] }));
    expect(error.line).toBe('unknown dependency group "test" in pyproject.toml. Use one of compat (extra), dev (group)');
  });

  it('needs the pyproject.toml beside it', async () => {
    const dir = copyFixture('poetry-app');
    rmSync(path.join(dir, 'pyproject.toml'));
    const error = await failure(() => resolveFixture(dir));
    expect(error.code).toBe('FILE_NOT_FOUND');
    expect(error.message).toBe('poetry.lock has no pyproject.toml next to it');
  });

  it('notices a pyproject.toml the lock has not caught up with', async () => {
    const dir = copyFixture('poetry-app');
    edit(path.join(dir, 'pyproject.toml'), 'requests = "^2.32"', 'requests = "^3.0"');
    let error = await failure(() => resolveFixture(dir));
    expect(error.line).toBe(
      'poetry.lock is out of date: pyproject.toml [tool.poetry.dependencies] wants requests >=3.0,<4.0, the lock has 2.34.2. Run "poetry lock" to update poetry.lock',
    );
    edit(path.join(dir, 'pyproject.toml'), 'requests = "^3.0"', 'requests = "^2.32"\nboto3 = "^1.35"');
    error = await failure(() => resolveFixture(dir));
    expect(error.message).toBe('poetry.lock is out of date: pyproject.toml [tool.poetry.dependencies] wants boto3 >=1.35,<2.0, which the lock lacks');
  });

  it('refuses a target Python outside the lock', async () => {
    const error = await failure(() => resolveFixture('poetry-app', { runtime: 'python3.9' }));
    expect(error.message).toBe('poetry.lock: the project supports Python ^3.10, the target runtime has 3.9.0');
  });

  it('drops every hash when one package has none, since pip would then demand them all', async () => {
    const dir = copyFixture('poetry-app');
    edit(path.join(dir, 'poetry.lock'), /files = \[\n    \{file = "idna-3\.20[^\n]*\n\]/, 'files = []');
    const input = await resolveFixture(dir);
    expect(input.requireHashes).toBe(false);
    expect(input.requirementsText).toBe(`${RUNTIME_SET.join('\n')}\n`);
  });

  it('reads path, git and url sources', async () => {
    const dir = copyFixture('poetry-app');
    edit(path.join(dir, 'pyproject.toml'), 'requests = "^2.32"', 'requests = "^2.32"\nlib = { path = "../lib", develop = true }\ngitdep = { git = "https://github.com/example/gitdep.git", tag = "v1.0.0" }');
    const lock = path.join(dir, 'poetry.lock');
    writeFileSync(
      lock,
      readFileSync(lock, 'utf8').replace(
        '[metadata]',
        [
          '[[package]]',
          'name = "gitdep"',
          'version = "1.0.0"',
          'description = ""',
          'optional = false',
          'python-versions = ">=3.8"',
          'files = []',
          'develop = false',
          '',
          '[package.source]',
          'type = "git"',
          'url = "https://github.com/example/gitdep.git"',
          'reference = "v1.0.0"',
          'resolved_reference = "1f0c6c2e4b1d8a3e5f7a9b0c2d4e6f8a0b1c3d5e"',
          '',
          '[[package]]',
          'name = "lib"',
          'version = "0.2.0"',
          'description = ""',
          'optional = false',
          'python-versions = ">=3.10"',
          'files = []',
          'develop = true',
          '',
          '[package.dependencies]',
          'six = ">=1.16"',
          '',
          '[package.source]',
          'type = "directory"',
          'url = "../lib"',
          '',
          '[metadata]',
        ].join('\n'),
      ),
    );
    const input = await resolveFixture(dir);
    expect(input.localPaths).toEqual([{ name: 'lib', path: path.resolve(dir, '../lib'), editable: true, line: 'poetry.lock: package "lib"' }]);
    expect(input.vcs).toEqual([{ name: 'gitdep', url: 'git+https://github.com/example/gitdep.git@1f0c6c2e4b1d8a3e5f7a9b0c2d4e6f8a0b1c3d5e', line: 'poetry.lock: package "gitdep"' }]);
    // lib's own dependency is locked like any other.
    expect(pinned(input)).toContain('six==1.17.0');
    expect(input.requireHashes).toBe(true);
  });

  it('refuses an unknown lock version', async () => {
    const dir = copyFixture('poetry-app');
    edit(path.join(dir, 'poetry.lock'), 'lock-version = "2.0"', 'lock-version = "3.0"');
    const error = await failure(() => resolveFixture(dir));
    expect(error.code).toBe('UNSUPPORTED_INPUT');
    expect(error.message).toBe('poetry.lock: lock-version "3.0" is not supported');
  });
});
