/**
 * The one entry point for dependency inputs: find the dependency file of a function folder (or
 * take the one given), read it without pip, uv or poetry, and resolve it for the Lambda target.
 */
import path from 'node:path';
import { PyslimError } from '../errors.js';
import { redact } from '../redact.js';
import { displayPath, fileExists, readToml } from './files.js';
import { resolvePoetryLock } from './poetry-lock.js';
import { readPyproject, resolvePyproject } from './pyproject.js';
import { parseRequirementsFile, resolveRequirements } from './requirements.js';
import type { InputKind, ResolveInputOptions, ResolvedInput } from './types.js';
import { resolveUvLock } from './uv-lock.js';

/** Files pyslim recognises but does not read, with what to do instead. */
const UNSUPPORTED_FILES: Record<string, string> = {
  Pipfile: 'Run "pipenv requirements > requirements.txt" and build from that',
  'Pipfile.lock': 'Run "pipenv requirements > requirements.txt" and build from that',
  'pdm.lock': 'Run "pdm export -o requirements.txt" and build from that',
  'pylock.toml': 'Export requirements.txt from the tool that wrote it and build from that',
};

/** Which reader a file name calls for; anything unrecognised is read as a requirements file. */
export function inputKindOf(file: string): InputKind {
  const base = path.basename(file);
  if (base === 'uv.lock') return 'uv.lock';
  if (base === 'poetry.lock') return 'poetry.lock';
  if (base === 'pyproject.toml') return 'pyproject.toml';
  const unsupported = UNSUPPORTED_FILES[base] ?? (/^pylock\..*\.toml$/.test(base) ? UNSUPPORTED_FILES['pylock.toml'] : undefined);
  if (unsupported) throw new PyslimError('UNSUPPORTED_INPUT', `pyslim cannot read ${base}`, { hint: unsupported });
  return 'requirements.txt';
}

/**
 * Resolves the function's dependency declaration. Without an explicit file it looks in `dir` for
 * requirements.txt, then uv.lock, then poetry.lock, then pyproject.toml; null when there is none
 * (or only a pyproject.toml that declares no dependencies). An explicit pyproject.toml is read on
 * its own, unlocked, even when a lockfile sits next to it.
 */
export async function resolveDependencyInput(options: ResolveInputOptions): Promise<ResolvedInput | null> {
  const dir = path.resolve(options.dir);
  let file: string | undefined;
  let kind: InputKind | undefined;
  if (options.requirements !== undefined) {
    file = path.resolve(dir, options.requirements);
    kind = inputKindOf(file);
  } else {
    for (const candidate of ['requirements.txt', 'uv.lock', 'poetry.lock', 'pyproject.toml'] as const) {
      if (await fileExists(path.join(dir, candidate))) {
        file = path.join(dir, candidate);
        kind = candidate;
        break;
      }
    }
  }
  if (!file || !kind) return null;

  const shown = displayPath(file, dir);
  const groups = options.groups ?? [];
  switch (kind) {
    case 'requirements.txt': {
      if (groups.length) {
        throw new PyslimError('INVALID_OPTION', `dependency groups (${groups.join(', ')}) need a pyproject.toml or lockfile, not ${shown}`, {
          hint: 'Drop the groups, or list those requirements in the requirements file',
        });
      }
      const parsed = await parseRequirementsFile(file, { dir, env: options.env });
      return resolveRequirements(parsed, options.markerEnv);
    }
    case 'pyproject.toml': {
      const info = await readPyproject(file, shown);
      if (info.style === 'none' && !info.groups.length && options.requirements === undefined) return null;
      return resolvePyproject(info, groups, options.markerEnv);
    }
    case 'uv.lock': {
      const doc = await readToml(file, shown, 'Check the path of uv.lock');
      const pyprojectFile = path.join(path.dirname(file), 'pyproject.toml');
      const pyproject = (await fileExists(pyprojectFile)) ? await readPyproject(pyprojectFile, displayPath(pyprojectFile, dir)) : undefined;
      return resolveUvLock(doc, { file, shown, groups, markerEnv: options.markerEnv, pyproject, files: pyproject ? [file, pyprojectFile] : [file] });
    }
    case 'poetry.lock': {
      const pyprojectFile = path.join(path.dirname(file), 'pyproject.toml');
      if (!(await fileExists(pyprojectFile))) {
        throw new PyslimError('FILE_NOT_FOUND', `${shown} has no pyproject.toml next to it`, {
          hint: 'poetry.lock does not say which packages the project asked for; keep pyproject.toml beside it',
        });
      }
      const doc = await readToml(file, shown, 'Check the path of poetry.lock');
      const pyproject = await readPyproject(pyprojectFile, displayPath(pyprojectFile, dir));
      return resolvePoetryLock(doc, { file, shown, groups, markerEnv: options.markerEnv, pyproject, files: [file, pyprojectFile] });
    }
  }
}

/**
 * Refuses what an installer cannot build. The local installer runs the host's pip with
 * --only-binary=:all: for the target platform, so it cannot check out and build a VCS dependency.
 */
export function assertInstallable(input: ResolvedInput, installer: 'local' | 'docker'): void {
  const vcs = input.vcs[0];
  if (installer === 'local' && vcs) {
    throw new PyslimError('UNSUPPORTED_INPUT', `${vcs.line ? `${vcs.line}: ` : ''}${vcs.name ?? 'a dependency'} comes from version control (${redact(vcs.url)}), which the local installer cannot build`, {
      hint: 'Use the container installer (--installer docker), or pin a released version from an index',
    });
  }
}
