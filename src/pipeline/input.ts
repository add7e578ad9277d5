/**
 * The dependency input of a build: requirements.txt, pyproject.toml, uv.lock or poetry.lock,
 * read directly and turned into one flattened requirements file that either installer can
 * consume (pyslim's own copy, so that pip never needs the user's folder), plus copies of local
 * path packages to build into the zip.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ResolvedBuildConfig } from '../config.js';
import { targetMarkers } from '../installers/local.js';
import { assertInstallable, resolveDependencyInput, type ResolvedInput } from '../inputs/index.js';
import type { InstallerKind } from '../model/modes.js';

export interface PreparedInput {
  input: ResolvedInput;
  /** pyslim's flattened requirements file. */
  requirementsFile: string;
  constraintsFile?: string;
  /** Copies of the local path packages, in pyslim's temp folder. */
  localPaths: string[];
  /** Hash of everything the input makes pip install: requirements, constraints, local package contents. */
  contentHash: string;
}

/** Folders never copied from a local package: they are not its source. */
const NOT_SOURCE = new Set(['.git', '.hg', '.svn', 'node_modules', '__pycache__', '.venv', 'venv', '.tox', '.mypy_cache', '.pytest_cache', 'build', 'dist']);

export async function prepareInput(config: ResolvedBuildConfig, workDir: string): Promise<PreparedInput | null> {
  const input = await resolveDependencyInput({
    dir: config.dir,
    requirements: config.requirements ?? undefined,
    groups: config.groups,
    markerEnv: targetMarkers(config.runtime, config.arch),
    env: config.env,
  });
  if (!input) return null;
  const folder = path.join(workDir, 'input');
  await fs.mkdir(folder, { recursive: true });
  const requirementsFile = path.join(folder, 'requirements.txt');
  await fs.writeFile(requirementsFile, input.requirementsText);
  const hash = createHash('sha256').update(input.requirementsText);
  let constraintsFile: string | undefined;
  if (input.constraintsText) {
    constraintsFile = path.join(folder, 'constraints.txt');
    await fs.writeFile(constraintsFile, input.constraintsText);
    hash.update('\0constraints\0').update(input.constraintsText);
  }
  const localPaths: string[] = [];
  for (const [i, local] of input.localPaths.entries()) {
    const copy = path.join(workDir, 'local', String(i), path.basename(local.path));
    await fs.cp(local.path, copy, { recursive: true, filter: (source) => !NOT_SOURCE.has(path.basename(source)) || source === local.path });
    localPaths.push(copy);
    await hashTree(copy, hash);
  }
  return { input, requirementsFile, constraintsFile, localPaths, contentHash: hash.digest('hex') };
}

/** Refuses inputs the chosen installer cannot build (VCS dependencies under the local installer). */
export function checkInstallable(prepared: PreparedInput, installer: InstallerKind): void {
  if (installer === 'local' || installer === 'docker') assertInstallable(prepared.input, installer);
}

async function hashTree(dir: string, hash: ReturnType<typeof createHash>): Promise<void> {
  const stats = await fs.stat(dir);
  if (stats.isFile()) {
    hash.update(await fs.readFile(dir));
    return;
  }
  const names = (await fs.readdir(dir)).sort();
  for (const name of names) {
    hash.update(`\0${name}\0`);
    await hashTree(path.join(dir, name), hash);
  }
}
