/**
 * The orchestrator. Two layers, one chain:
 *
 *   dependencies (cached): install → inventory → prune (→ strip) → compile      deps.ts
 *   the function's files:  inventory → prune → compile
 *   together:              audit → verify (→ profile) → zip → report
 *
 * It only chains the stages, times them, and owns the temp folder and the final rename, so that
 * a failed or interrupted build leaves nothing behind and never a partial zip at the output path.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PYSLIM_VERSION } from '../assets.js';
import { resolveBuildConfig, type ResolvedBuildConfig } from '../config.js';
import { PyslimError, throwIfAborted } from '../errors.js';
import { execSubprocess } from '../exec.js';
import type { HostPython } from '../installers/host-python.js';
import type { TargetPython } from '../installers/types.js';
import { LAMBDA_DIRECT_UPLOAD_LIMIT } from '../size.js';
import type { BuildWarning } from '../warnings.js';
import { DepsCache } from '../cache/store.js';
import { compareGlibc } from '../elf.js';
import { auditNativeCode } from './audit.js';
import { compileBytecode } from './compile.js';
import { normalizeDistName } from '../python-names.js';
import { bytecodePrefix, dependencyLayer, layerRemovals, layerTreeFiles, type DepsLayer, type DepsOutcome } from './deps.js';
import { LAYER_FOLDER, loadLayers } from './layers.js';
import { hostPythonForRuntime, indexFlagsWith, noPythonReason, probeHostPython, probedPythonIs, rememberedHostPython, selectInstaller, type Selected } from './install.js';
import { checkInstallable, prepareInput } from './input.js';
import { stageSourceFiles, takeInventory, type Inventory } from './inventory.js';
import { profileInit } from './profile.js';
import { prune, type Removal } from './prune.js';
import { createReport } from './report.js';
import { verifyImports } from './verify.js';
import { writeZip } from './zip.js';
import { type TreeFile, UNATTRIBUTED } from '../model/files.js';
import type { InstallerKind } from '../model/modes.js';
import type { BuildOptions } from '../model/options.js';
import type { ProgressEvent } from '../model/progress.js';
import type { BuildReport, CacheStatus, ContainerInfo, NativeSummary } from '../model/report.js';

/** Rule name for installed files that a file of the function replaces at the same path. */
export const SHADOWED_RULE = 'shadowed-by-source';

const EMPTY_LAYER: DepsLayer = {
  distributions: [],
  before: [],
  removed: [],
  files: [],
  trim: { runtimePackages: null, botoServices: null, layerProvided: null },
  runtimeExcluded: [],
  strip: null,
  bytecode: null,
  warnings: [],
  resolved: [],
};

/**
 * A build that started from its last build's host Python or resolution learned that one of them
 * changed; nothing was published.
 */
class AssumptionFailed extends Error {}

export async function build(options: BuildOptions = {}): Promise<BuildReport> {
  const config = await resolveBuildConfig(options);
  try {
    return await buildOnce(config, options, true);
  } catch (error) {
    if (!(error instanceof AssumptionFailed)) throw error;
    // Nothing was published: start over with what the probe and pip found.
    return buildOnce(config, options, false);
  }
}

async function buildOnce(config: ResolvedBuildConfig, options: BuildOptions, mayAssume: boolean): Promise<BuildReport> {
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
      timings[name] = (timings[name] ?? 0) + Math.round(performance.now() - started);
      emit({ stage: name, status: 'done' });
    }
  };

  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'pyslim-'));
  const srcDir = path.join(work, 'src');
  let tempZip: string | undefined;
  let deps: DepsOutcome | undefined;
  let releaseLayers: (() => Promise<void>) | undefined;
  let layerBuild: Promise<DepsOutcome> | undefined;
  let assumedPython: HostPython | undefined;
  const assumptionsHold = async () =>
    (!assumedPython || (await probedPythonIs(config, exec, assumedPython))) && (!deps?.confirm || (await deps.confirm()));
  try {
    // Slow lookups start at once: the host Python (a subprocess) and, while it runs, the cache
    // entry this function used last, which is the one a rebuild after a source edit needs.
    if (config.installer === 'local') probeHostPython(config, exec);
    const cache = config.cache ? new DepsCache<DepsLayer>(config.cacheDir, config.cacheMaxBytes) : null;
    const withLayers = await loadLayers(config.withLayers);
    releaseLayers = withLayers.release;
    const layers = withLayers.layers;
    const last = await cache?.last(config.dir);
    if (last) cache!.prefetch(last.key);
    if (mayAssume && config.installer === 'local') assumedPython = rememberedHostPython(last?.hostPython);
    // The dependency input and the function's own files are read side by side.
    const [prepared, source] = await Promise.all([
      prepareInput(config, work),
      stage('inventory', () => takeInventory({ depsDir: null, sourceDir: config.dir, ownOutputs: config.ownOutputs })),
    ]);
    const sourcePruned = await prune({ inventory: source, profile: 'none', exclude: config.exclude, keep: config.keep, depsDir: null });
    const stagedSource = await stageSourceFiles(sourcePruned.kept, srcDir);

    let installer: InstallerKind = 'none';
    let installerReason = 'no dependency file: only the source is packaged';
    let container: ContainerInfo | null = null;
    let python: TargetPython | null;
    let noPython: string | undefined;
    let selected: Selected | undefined;
    if (prepared) {
      selected = await selectInstaller(config, exec, indexFlagsWith(config, prepared.input.pipOptions), assumedPython);
      checkInstallable(prepared, selected.installer.kind);
      ({ kind: installer, reason: installerReason } = selected.installer);
      container = selected.container;
      python = await selected.installer.targetPython();
      noPython = python ? undefined : noPythonReason(config);
    } else {
      ({ targetPython: python, noTargetPython: noPython } = await hostPythonForRuntime(config, exec));
    }
    const bytecodeMode = config.bytecode ?? (python ? 'compile' : 'none');
    const compilePython = bytecodeMode === 'none' ? null : requirePython(python, noPython, `--bytecode ${bytecodeMode}`);

    // The dependency layer (from the cache, or built) and the function's bytecode, side by side.
    layerBuild =
      prepared && selected
        ? dependencyLayer({
            config,
            exec,
            prepared,
            selected,
            python,
            bytecode: bytecodeMode,
            workDir: work,
            cache,
            layers,
            stage,
            assumeResolution: mayAssume,
            signal,
            onLine: installProgress(emit),
          })
        : undefined;
    const [layerOutcome, compiledSource] = await Promise.all([
      layerBuild,
      compilePython
        ? stage('compile', () => compileBytecode({
              files: stagedSource,
              mode: bytecodeMode as Exclude<typeof bytecodeMode, 'none'>,
              python: compilePython,
              depsDir: null,
              sourceDir: srcDir,
              distributions: [],
              prefix: bytecodePrefix(config),
              signal,
            }))
        : undefined,
    ]);
    deps = layerOutcome;
    const layer = deps?.layer ?? EMPTY_LAYER;
    const depsDir = deps?.depsDir ?? null;
    warnings.push(...layer.warnings);

    // Together: a function file replaces an installed file (and its bytecode) at the same path.
    const depsFiles = depsDir ? layerTreeFiles(layer.files, depsDir) : [];
    const shadowing = resolveShadowing([...depsFiles, ...(compiledSource?.files ?? stagedSource)].sort(byPath), warnings);
    const files = shadowing.files;
    const removed: Removal[] = [...(deps ? layerRemovals(layer) : []), ...sourcePruned.removed, ...shadowing.shadowed];

    let bytecode: BuildReport['bytecode'] = { mode: 'none', interpreter: null, files: 0, bytes: 0, failed: [], keptSources: [] };
    if (compilePython && compiledSource) {
      const fromLayer = layer.bytecode ?? { files: 0, bytes: 0, failed: [], keptSources: [] };
      bytecode = {
        mode: bytecodeMode,
        interpreter: compilePython.description,
        files: fromLayer.files + compiledSource.compiled,
        bytes: fromLayer.bytes + compiledSource.compiledBytes,
        failed: [...fromLayer.failed, ...compiledSource.failed],
        keptSources: fromLayer.keptSources,
      };
      if (bytecodeMode === 'only') {
        const kept = bytecode.keptSources.length ? `; ${bytecode.keptSources.join(', ')} keep their sources (they read them at runtime)` : '';
        warnings.push({ code: 'SOURCES_REMOVED', message: `--bytecode only: installed packages ship without .py sources, so their tracebacks show no source lines${kept}` });
      }
    } else if (config.bytecode === undefined) {
      warnings.push({
        code: 'BYTECODE_NONE',
        message: `no bytecode compiled: every cold start compiles each module it imports (imports of pandas, boto3, pydantic and requests measured 2.6× slower); ${noPython ?? 'no interpreter for the runtime is available'}`,
      });
    }

    // A cached layer was audited when it was built; only the function's own files are read again.
    const audited = deps?.cache.status === 'hit' && layer.native ? files.filter((f) => f.origin === 'source') : files;
    const fresh = await stage('audit', () => auditNativeCode({ files: audited, distributions: layer.distributions, runtime: config.runtime, arch: config.arch }));
    const native = audited === files ? fresh : mergeNative(layer.native!, fresh);
    if (deps?.store) layer.native = await auditNativeCode({ files: files.filter((f) => f.origin === 'deps'), distributions: layer.distributions, runtime: config.runtime, arch: config.arch });
    const roots = [srcDir, ...(depsDir ? [depsDir] : [])];
    const sourceTopLevel = [...new Set(source.files.map((f) => f.path.split('/')[0]!.replace(/\.py$/, '')))].sort();
    const stillVerified = deps?.cache.status === 'hit' && layer.verified && sourceTopLevel.every((name) => layer.verified!.sourceTopLevel.includes(name));
    // After /var/task on Lambda: the layers (/opt/python), then the runtime's own packages.
    const fallbackRoots = [...layers.flatMap((l) => (l.root ? [l.root] : [])), ...(deps && layer.runtimeExcluded.length > 0 ? [deps.runtimeDir] : [])];
    const verify = config.verify
      ? await stage('verify', () =>
          verifyImports({
            python,
            noPythonReason: noPython,
            roots,
            fallbackRoots,
            distributions: layer.distributions.filter((d) => files.some((f) => f.owner === d.key)),
            shippedPaths: new Set(files.map((f) => f.path)),
            handler: config.handler,
            skip: config.verifySkip,
            preverified: stillVerified ? layer.verified!.modules : undefined,
            removed,
            excludePatterns: config.exclude.patterns,
            signal,
          }),
        )
      : null;
    if (verify?.limited) warnings.push({ code: 'NO_TARGET_INTERPRETER', message: `import check skipped: ${verify.limited}` });
    if (verify && !verify.limited && deps?.store) layer.verified = { modules: verify.modules, sourceTopLevel };

    const init = config.profile
      ? await stage('profile', () =>
          profileInit({
            python: requirePython(python, noPython, '--profile'),
            roots,
            fallbackRoots,
            handler: config.handler ?? inferHandler(files),
            runs: config.profileRuns,
            ownerOf: ownerLookup(layer, source, files),
            signal,
          }),
        )
      : null;

    const zipped = await stage('zip', () =>
      writeZip({
        files,
        out: config.out,
        precompressed: deps?.precompressed ?? undefined,
        prefix: config.layer ? LAYER_FOLDER : undefined,
        signal,
        onProgress: (current, total) => emit({ stage: 'zip', status: 'progress', current, total }),
      }),
    );
    tempZip = zipped.tempPath;
    if (zipped.bytes > LAMBDA_DIRECT_UPLOAD_LIMIT) {
      warnings.push({ code: 'DIRECT_UPLOAD_LIMIT', message: `the zip is over 50 MiB (${zipped.bytes} bytes), Lambda's limit for direct upload: deploy it through S3` });
    }
    // Before anything is published: what was assumed from the last build still holds.
    if (!(await assumptionsHold())) throw new AssumptionFailed();
    if (deps?.store) await stage('cache', () => deps!.store!(zipped.written, zipped.tempPath));

    const inventory: Inventory = {
      files: [...layerTreeFiles(layer.before, depsDir ?? ''), ...source.files],
      distributions: layer.distributions,
      sourceExclusions: source.sourceExclusions,
    };
    const report = createReport({
      pyslimVersion: PYSLIM_VERSION,
      runtime: config.runtime,
      arch: config.arch,
      installer,
      installerReason,
      requirements: prepared ? prepared.input.files[0]! : null,
      container,
      inventory,
      pruned: { kept: files, removed, added: [] },
      zipped: files,
      output: { path: config.out, bytes: zipped.bytes, entries: zipped.entries, unzippedBytes: zipped.unzippedBytes, sha256: zipped.sha256 },
      compressedSizes: zipped.compressedSizes,
      budgetBytes: config.budgetBytes,
      // Layers the function runs with count toward Lambda's 250 MiB, beside --layers-size.
      budgetLimits: { ...config.budgets, layersBytes: config.budgets.layersBytes + layers.reduce((n, l) => n + l.unzippedBytes, 0) },
      profile: config.prune,
      trim: layer.trim,
      layer: config.layer,
      withLayers: layers.map((l) => ({
        path: l.path,
        packages: l.packages.length,
        unzippedBytes: l.unzippedBytes,
        provides: (layer.trim.layerProvided ?? []).filter((name) => l.packages.some((p) => p.key === normalizeDistName(name))),
      })),
      strip: layer.strip,
      native,
      verify,
      bytecode,
      init,
      timings,
      warnings,
    });
    report.input = prepared
      ? { kind: prepared.input.kind, files: prepared.input.files, requireHashes: prepared.input.requireHashes, resolved: layer.resolved, localPaths: prepared.input.localPaths.map((p) => p.path) }
      : null;
    report.cache = cacheReport(deps?.cache, deps?.precompressed ?? null, files);
    if (config.keepTemp) report.workDir = work;
    throwIfAborted(signal);
    await fs.rename(zipped.tempPath, config.out);
    tempZip = undefined;
    return report;
  } catch (error) {
    if (signal?.aborted) throw error instanceof PyslimError ? error : new PyslimError('INTERRUPTED', 'build interrupted');
    // A failure may be the fault of an assumption: the probe and pip decide.
    if (!(error instanceof AssumptionFailed) && !(await assumptionsHold())) throw new AssumptionFailed();
    throw error;
  } finally {
    if (tempZip) await fs.rm(tempZip, { force: true });
    // When the function's own bytecode failed first, the layer may still be on its way.
    deps ??= await layerBuild?.catch(() => undefined);
    await deps?.release?.();
    if (deps?.discard && !deps.store) await deps.discard();
    await releaseLayers?.();
    if (!config.keepTemp) await fs.rm(work, { recursive: true, force: true });
  }
}

/** The audit of the cached layer plus that of the function's own files. */
function mergeNative(layer: NativeSummary, source: NativeSummary): NativeSummary {
  const newer = source.maxGlibc && (!layer.maxGlibc || compareGlibc(source.maxGlibc, layer.maxGlibc) > 0);
  return {
    sharedObjects: layer.sharedObjects + source.sharedObjects,
    maxGlibc: newer ? source.maxGlibc : layer.maxGlibc,
    maxGlibcFile: newer ? source.maxGlibcFile : layer.maxGlibcFile,
  };
}

const byPath = (a: TreeFile, b: TreeFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** pip announces each distribution it resolves with "Collecting" (or "Processing" for files). */
function installProgress(emit: (event: ProgressEvent) => void): (line: string) => void {
  let collected = 0;
  return (line) => {
    const found = /^\s*(?:Collecting|Processing) (\S+)/.exec(line);
    if (!found) return;
    const name = path.basename(found[1]!).replace(/-\d.*\.(whl|tar\.gz|zip)$/, '');
    emit({ stage: 'install', status: 'progress', current: ++collected, message: `installing package ${collected} (${name})` });
  };
}

/** The cache's part of the report: per stage, and how many zip entries were copied as they were. */
function cacheReport(status: CacheStatus | undefined, precompressed: ReadonlyMap<string, unknown> | null, files: readonly TreeFile[]): BuildReport['cache'] {
  if (!status) return null;
  const reused = precompressed ? files.filter((f) => precompressed.has(f.path)).length : 0;
  return { ...status, stages: { ...status.stages, zip: reused > 0 ? 'hit' : 'miss' }, reusedEntries: reused, compressedEntries: files.length - reused };
}

function requirePython(python: TargetPython | null, why: string | undefined, option: string): TargetPython {
  if (python) return python;
  throw new PyslimError('NO_TARGET_PYTHON', `${option} needs the runtime's interpreter: ${why ?? 'none is available'}`);
}

/** The handler module for --profile without --handler: the names the Lambda console and tools use. */
function inferHandler(files: readonly TreeFile[]): string {
  const candidates: [string, string][] = [
    ['lambda_function.py', 'lambda_function.lambda_handler'],
    ['handler.py', 'handler.handler'],
    ['app.py', 'app.handler'],
    ['main.py', 'main.handler'],
  ];
  const found = candidates.find(([file]) => files.some((f) => f.origin === 'source' && f.path === file));
  if (found) return found[1];
  throw new PyslimError('INVALID_OPTION', '--profile needs the handler', { hint: 'Pass --handler module.function, e.g. --handler app.handler' });
}

/** The distribution (display name) owning a file that ships or was left out for the runtime. */
function ownerLookup(layer: DepsLayer, source: Inventory, files: readonly TreeFile[]): (relativePath: string) => string {
  const names = new Map(layer.distributions.map((d) => [d.key, d.name]));
  const owners = new Map<string, string>();
  for (const file of [...layer.before, ...source.files, ...files]) owners.set(file.path, names.get(file.owner) ?? file.owner);
  return (relativePath) => owners.get(relativePath) ?? UNATTRIBUTED;
}

/**
 * A file of the function that has the same path as an installed file replaces it, as the
 * hand-rolled recipe's `zip -g` would; the installed file counts as removed by SHADOWED_RULE.
 */
function resolveShadowing(kept: readonly TreeFile[], warnings: BuildWarning[]): { files: TreeFile[]; shadowed: Removal[] } {
  const byName = new Map<string, TreeFile>();
  const shadowed: Removal[] = [];
  for (const file of kept) {
    const other = byName.get(file.path);
    if (!other) {
      byName.set(file.path, file);
      continue;
    }
    const [winner, loser] = file.origin === 'source' ? [file, other] : [other, file];
    byName.set(file.path, winner);
    shadowed.push({ file: loser, rule: SHADOWED_RULE });
    warnings.push({ code: 'SOURCE_SHADOWS_PACKAGE', message: `${file.path} from the function folder replaces the installed file of ${loser.owner}` });
  }
  return { files: [...byName.values()], shadowed };
}
