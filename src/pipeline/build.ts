/**
 * The orchestrator: install → inventory → prune → zip → report. It only chains the stages, times
 * them, and owns the temp folder and the final rename, so that a failed or interrupted build
 * leaves nothing behind and never a partial zip at the output path.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PYSLIM_VERSION } from '../assets.js';
import { resolveBuildConfig, type BuildOptions, type ProgressEvent } from '../config.js';
import { PyslimError, throwIfAborted } from '../errors.js';
import { execSubprocess } from '../exec.js';
import type { BuildWarning } from '../warnings.js';
import { installDependencies } from './install.js';
import { takeInventory, type TreeFile } from './inventory.js';
import { prune, type Removal } from './prune.js';
import { createReport, type BuildReport } from './report.js';
import { writeZip } from './zip.js';

/** Rule name for installed files that a file of the function replaces at the same path. */
export const SHADOWED_RULE = 'shadowed-by-source';

export async function build(options: BuildOptions = {}): Promise<BuildReport> {
  const config = await resolveBuildConfig(options);
  const exec = options.exec ?? execSubprocess;
  const { signal } = options;
  const emit = (event: ProgressEvent) => options.onProgress?.(event);
  const warnings: BuildWarning[] = [];
  const timings: Record<string, number> = {};
  const stage = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    throwIfAborted(signal);
    emit({ stage: name, status: 'start' });
    const started = performance.now();
    try {
      return await run();
    } finally {
      timings[name] = Math.round(performance.now() - started);
      emit({ stage: name, status: 'done' });
    }
  };

  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'pyslim-'));
  let tempZip: string | undefined;
  try {
    const installed = await stage('install', () =>
      installDependencies({
        config,
        exec,
        depsDir: path.join(work, 'deps'),
        scratchDir: path.join(work, 'tmp'),
        signal,
        onLine: (line) => emit({ stage: 'install', status: 'progress', message: line }),
      }),
    );
    const inventory = await stage('inventory', () =>
      takeInventory({ depsDir: installed.depsDir, sourceDir: config.dir, ownOutputs: config.ownOutputs }),
    );
    const pruned = await stage('prune', () =>
      prune({ inventory, profile: config.prune, exclude: config.exclude, keep: config.keep, depsDir: installed.depsDir }),
    );
    const { files, shadowed } = resolveShadowing(pruned.kept, warnings);
    pruned.removed.push(...shadowed);

    const zipped = await stage('zip', () =>
      writeZip({
        files,
        out: config.out,
        signal,
        onProgress: (current, total) => emit({ stage: 'zip', status: 'progress', current, total }),
      }),
    );
    tempZip = zipped.tempPath;

    const report = createReport({
      pyslimVersion: PYSLIM_VERSION,
      runtime: config.runtime,
      arch: config.arch,
      installer: installed.installer,
      installerReason: installed.reason,
      requirements: config.requirements,
      container: installed.container,
      inventory,
      pruned,
      zipped: files,
      output: { path: config.out, bytes: zipped.bytes, entries: zipped.entries, unzippedBytes: zipped.unzippedBytes, sha256: zipped.sha256 },
      compressedSizes: zipped.compressedSizes,
      budgetBytes: config.budgetBytes,
      timings,
      warnings,
    });
    if (config.keepTemp) report.workDir = work;
    throwIfAborted(signal);
    await fs.rename(zipped.tempPath, config.out);
    tempZip = undefined;
    return report;
  } catch (error) {
    throw error instanceof PyslimError || !signal?.aborted ? error : new PyslimError('INTERRUPTED', 'build interrupted');
  } finally {
    if (tempZip) await fs.rm(tempZip, { force: true });
    if (!config.keepTemp) await fs.rm(work, { recursive: true, force: true });
  }
}

/**
 * A file of the function that has the same path as an installed file replaces it, as the
 * hand-rolled recipe's `zip -g` would; the installed file counts as removed by SHADOWED_RULE.
 */
function resolveShadowing(kept: readonly TreeFile[], warnings: BuildWarning[]): { files: TreeFile[]; shadowed: Removal[] } {
  const byPath = new Map<string, TreeFile>();
  const shadowed: Removal[] = [];
  for (const file of kept) {
    const other = byPath.get(file.path);
    if (!other) {
      byPath.set(file.path, file);
      continue;
    }
    const [winner, loser] = file.origin === 'source' ? [file, other] : [other, file];
    byPath.set(file.path, winner);
    shadowed.push({ file: loser, rule: SHADOWED_RULE });
    warnings.push({ code: 'SOURCE_SHADOWS_PACKAGE', message: `${file.path} from the function folder replaces the installed file of ${loser.owner}` });
  }
  return { files: [...byPath.values()], shadowed };
}
