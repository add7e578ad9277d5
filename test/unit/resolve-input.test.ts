import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { targetMarkers } from '../../src/installers/local.js';
import { inputKindOf, resolveDependencyInput } from '../../src/inputs/resolve.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/lambda.js';

const LOCKS = path.join(ROOT, 'test/fixtures/lockfiles');
const markerEnv = targetMarkers('python3.12', 'x86_64');
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** A function folder holding the named files (lockfiles copied from a fixture). */
function folder(files: Record<string, string>, lockFrom?: string): string {
  const dir = tempDir('pyslim-detect-');
  roots.push(dir);
  if (lockFrom) cpSync(path.join(LOCKS, lockFrom), dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('resolveDependencyInput', () => {
  it.each([
    ['requirements.txt before a lockfile', { 'requirements.txt': 'six\n' }, 'uv-app', 'requirements.txt'],
    ['uv.lock before poetry.lock', {}, 'uv-app', 'uv.lock'],
    ['poetry.lock before a bare pyproject.toml', {}, 'poetry-app', 'poetry.lock'],
    ['pyproject.toml alone', { 'pyproject.toml': '[project]\nname = "f"\ndependencies = ["six"]\n' }, undefined, 'pyproject.toml'],
  ])('picks %s', async (_, files, lockFrom, kind) => {
    const dir = folder(files, lockFrom);
    expect((await resolveDependencyInput({ dir, markerEnv }))?.kind).toBe(kind);
  });

  it('returns null for a folder without dependencies, or a pyproject.toml that only configures tools', async () => {
    expect(await resolveDependencyInput({ dir: folder({ 'handler.py': '' }), markerEnv })).toBeNull();
    expect(await resolveDependencyInput({ dir: folder({ 'pyproject.toml': '[tool.ruff]\nline-length = 100\n' }), markerEnv })).toBeNull();
  });

  it('reads an explicit file by its name, relative to the folder', async () => {
    const dir = folder({ 'deps/prod.txt': 'six==1.17.0\n' }, 'uv-app');
    const fromTxt = await resolveDependencyInput({ dir, requirements: 'deps/prod.txt', markerEnv });
    expect(fromTxt).toMatchObject({ kind: 'requirements.txt', files: [path.join(dir, 'deps/prod.txt')], requirementsText: 'six==1.17.0\n' });
    // An explicit pyproject.toml is read unlocked even with uv.lock beside it.
    const fromPyproject = await resolveDependencyInput({ dir, requirements: path.join(dir, 'pyproject.toml'), markerEnv });
    expect(fromPyproject).toMatchObject({ kind: 'pyproject.toml', requirementsText: 'requests>=2.32\n' });
  });

  it('names the missing explicit file', async () => {
    await expect(resolveDependencyInput({ dir: folder({}), requirements: 'nope.txt', markerEnv })).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
      message: expect.stringMatching(/^dependency file not found: .*nope\.txt$/),
    });
  });

  it('refuses groups for a requirements file', async () => {
    await expect(resolveDependencyInput({ dir: folder({ 'requirements.txt': 'six\n' }), groups: ['dev'], markerEnv })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: 'dependency groups (dev) need a pyproject.toml or lockfile, not requirements.txt',
    });
  });

  it.each([
    ['uv.lock', 'uv.lock'],
    ['/a/b/poetry.lock', 'poetry.lock'],
    ['pyproject.toml', 'pyproject.toml'],
    ['requirements/prod.in', 'requirements.txt'],
    ['constraints.txt', 'requirements.txt'],
  ])('reads %s as %s', (file, kind) => {
    expect(inputKindOf(file)).toBe(kind);
  });

  it.each(['Pipfile', 'Pipfile.lock', 'pdm.lock', 'pylock.toml', 'pylock.prod.toml'])('refuses %s with what to do instead', (file) => {
    expect(() => inputKindOf(file)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_INPUT', hint: expect.stringMatching(/requirements\.txt/) }));
  });
});
