/**
 * The orchestrator: one build, read top to bottom as its chain.
 *
 *   the function's files:   inventory → prune                      (beside the dependency input)
 *   the dependencies:       install → inventory → prune (→ strip) → compile   cached, deps/cache.ts
 *   the function's files:   compile                                 (beside the dependencies)
 *   together:               merge → audit → verify (→ profile) → zip → report → publish
 *
 * It only chains the stages, times them, and owns the temp folder and the final rename, so that
 * a failed or interrupted build leaves nothing behind and never a partial zip at the output path.
 * A warm rebuild may start from what the function's last build found; if that proves wrong before
 * publishing, the build restarts once (build-warm-start.ts says when and why).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { adviseZipFile } from '../advisor/advise-zip.js';
import { PYSLIM_VERSION } from '../assets.js';
import { RemoteCache } from '../cache/remote.js';
import { openS3Store } from '../cache/remote-s3.js';
import { DepsCache } from '../cache/store.js';
import { resolveBuildConfig, type ResolvedBuildConfig } from '../config.js';
import { PyslimError, throwIfAborted } from '../errors.js';
import { execSubprocess } from '../exec.js';
import type { BuildOptions } from '../model/options.js';
import type { ProgressEvent } from '../model/progress.js';
import type { BuildReport, BuildTrace, StageTrace } from '../model/report.js';
import { normalizeDistName } from '../python-names.js';
import { LAMBDA_DIRECT_UPLOAD_LIMIT } from '../size.js';
import { readCpuClock, type CpuClock } from '../trace.js';
import type { BuildWarning } from '../warnings.js';
import { auditNativeCode, mergeNative } from './audit.js';
import { withWarmStart, type WarmStart } from './build-warm-start.js';
import { compileBytecode, summarizeBytecode } from './compile.js';
import { cacheReport, dependencyLayer, type DepsOutcome } from './deps/cache.js';
import { bytecodePrefix, layerAdditions, layerRemovals, layerTreeFiles, type DepsLayer } from './deps/stages.js';
import { prepareInput } from './input.js';
import { pipIndexArgs } from '../installers/index-config.js';
import { chooseInstallTarget, indexFlagsWith, installProgress, probeHostPython, requireTargetPython } from './install.js';
import { stageSourceFiles, takeInventory, type Inventory } from './inventory.js';
import { LAYER_FOLDER, loadLayers } from './layers.js';
import { mergeTrees } from './merge.js';
import { inferHandler, ownerLookup, profileInit } from './profile.js';
import { prune, type Addition, type Removal } from './prune.js';
import { codeSha256, createReport } from './report.js';
import { verifyImports } from './verify.js';
import { writeZip } from './zip.js';

const EMPTY_LAYER: DepsLayer = {
  distributions: [],
  before: [],
  removed: [],
  added: [],
  files: [],
  trim: { runtimePackages: null, botoServices: null, layerProvided: null },
  runtimeExcluded: [],
  strip: null,
  bytecode: null,
  warnings: [],
  resolved: [],
};

export async function build(options: BuildOptions = {}): Promise<BuildReport> {
  const config = await resolveBuildConfig(options);
  return withWarmStart(config, options.exec ?? execSubprocess, (warm) => buildOnce(config, options, warm));
}

/** Runs a named stage: checks for an abort, reports progress, adds its wall time to `timings` and its run to the trace. */
function stageRunner(emit: (event: ProgressEvent) => void, signal: AbortSignal | undefined, timings: Record<string, number>, trace: Tracer) {
  return async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    throwIfAborted(signal);
    emit({ stage: name, status: 'start' });
    const started = trace.begin();
    try {
      return await run();
    } finally {
      const ran = trace.end(name, started);
      timings[name] = (timings[name] ?? 0) + Math.round(ran.wallMs);
      emit({ stage: name, status: 'done' });
    }
  };
}

type Tracer = ReturnType<typeof tracer>;

/** Wall and CPU clocks read at a stage's start and end; the trace lists every run in the order it started. */
function tracer() {
  const origin = { wall: performance.now(), cpu: readCpuClock() };
  const stages: StageTrace[] = [];
  const since = (from: { wall: number; cpu: CpuClock }) => {
    const cpu = readCpuClock();
    return {
      wallMs: Math.round(performance.now() - from.wall),
      cpuMs: Math.round(cpu.ownMs - from.cpu.ownMs),
      childCpuMs: cpu.childrenMs === null || from.cpu.childrenMs === null ? null : Math.round(cpu.childrenMs - from.cpu.childrenMs),
    };
  };
  return {
    begin: () => ({ wall: performance.now(), cpu: readCpuClock(), index: stages.push(null as unknown as StageTrace) - 1 }),
    end(stage: string, started: { wall: number; cpu: CpuClock; index: number }): StageTrace {
      const ran = { stage, startMs: Math.round(started.wall - origin.wall), ...since(started) };
      stages[started.index] = ran;
      return ran;
    },
    finish: (): BuildTrace => ({ ...since(origin), peakRssBytes: process.resourceUsage().maxRSS * 1024, stages }),
  };
}

async function buildOnce(config: ResolvedBuildConfig, options: BuildOptions, warm: WarmStart): Promise<BuildReport> {
  const exec = options.exec ?? execSubprocess;
  const { signal } = options;
  const emit = (event: ProgressEvent) => options.onProgress?.(event);
  const warnings: BuildWarning[] = [];
  const timings: Record<string, number> = {};
  const trace = tracer();
  const stage = stageRunner(emit, signal, timings, trace);

  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'pyslim-'));
  const srcDir = path.join(work, 'src');
  let tempZip: string | undefined;
  let deps: DepsOutcome | undefined;
  let layerBuild: Promise<DepsOutcome> | undefined;
  let releaseLayers: (() => Promise<void>) | undefined;
  try {
    // Slow lookups start at once: the host Python (a subprocess) and, while it runs, the cache
    // entry this function used last, which is the one a rebuild after a source edit needs.
    if (config.installer === 'local') probeHostPython(config, exec);
    const cache = config.cache ? new DepsCache<DepsLayer>(config.cacheDir, config.cacheMaxBytes) : null;
    const remote =
      cache && config.remoteCache
        ? new RemoteCache(config.remoteCache, openS3Store, (action, current, total) => emit({ stage: 'remote-cache', status: 'progress', action, current, total }))
        : null;
    const withLayers = await loadLayers(config.withLayers);
    releaseLayers = withLayers.release;
    const layers = withLayers.layers;
    const last = await cache?.last(config.dir);
    if (last) cache!.prefetch(last.key);
    const assumedPython = warm.assumeHostPython(last?.hostPython);

    // inventory → prune of the function's own files, while the dependency input is read.
    const [prepared, source] = await Promise.all([
      prepareInput(config, work),
      stage('inventory', () => takeInventory({ depsDir: null, sourceDir: config.dir, ownOutputs: config.ownOutputs })),
    ]);
    const sourcePruned = await prune({ inventory: source, profile: 'none', exclude: config.exclude, keep: config.keep, depsDir: null });
    const stagedSource = await stageSourceFiles(sourcePruned.kept, srcDir);

    // The installer, and the runtime's interpreter that compiles and imports.
    const target = await chooseInstallTarget(config, exec, prepared, assumedPython);
    const { python, noPython } = target;
    const bytecodeMode = config.bytecode ?? (python ? 'compile' : 'none');
    const compilePython = bytecodeMode === 'none' ? null : requireTargetPython(python, noPython, `--bytecode ${bytecodeMode}`);

    // install → inventory → prune (→ strip) → compile of the dependencies (or the cached layer),
    // beside the compile of the function's own files.
    layerBuild =
      prepared && target.selected
        ? dependencyLayer({
            config,
            exec,
            prepared,
            selected: target.selected,
            python,
            bytecode: bytecodeMode,
            workDir: work,
            cache,
            remote,
            layers,
            stage,
            assumeResolution: warm.mayAssume,
            signal,
            onLine: installProgress(emit),
          })
        : undefined;
    const [layerOutcome, compiledSource] = await Promise.all([
      layerBuild,
      compilePython
        ? stage('compile', () =>
            compileBytecode({
              files: stagedSource,
              mode: bytecodeMode as Exclude<typeof bytecodeMode, 'none'>,
              python: compilePython,
              depsDir: null,
              sourceDir: srcDir,
              distributions: [],
              prefix: bytecodePrefix(config),
              signal,
            }),
          )
        : undefined,
    ]);
    deps = layerOutcome;
    warm.assumeResolution(deps?.confirm);
    const layer = deps?.layer ?? EMPTY_LAYER;
    const depsDir = deps?.depsDir ?? null;
    warnings.push(...layer.warnings);

    // merge: one tree, where a function file replaces an installed file (and its bytecode) at the same path.
    const merged = mergeTrees(depsDir ? layerTreeFiles(layer.files, depsDir) : [], compiledSource?.files ?? stagedSource, warnings);
    const files = merged.files;
    const removed: Removal[] = [...(deps ? layerRemovals(layer) : []), ...sourcePruned.removed, ...merged.shadowed];
    const added: Addition[] = [...(deps ? layerAdditions(layer) : []), ...(compiledSource?.added ?? [])];
    const bytecode = summarizeBytecode({
      mode: bytecodeMode,
      interpreter: compilePython?.description ?? null,
      fromLayer: layer.bytecode,
      fromSource: compiledSource,
      asked: config.bytecode,
      noPython,
      warnings,
    });

    // audit: a cached layer was audited when it was built; only the function's own files are read again.
    const audited = deps?.cache.status === 'hit' && layer.native ? files.filter((f) => f.origin === 'source') : files;
    const fresh = await stage('audit', () => auditNativeCode({ files: audited, distributions: layer.distributions, runtime: config.runtime, arch: config.arch }));
    const native = audited === files ? fresh : mergeNative(layer.native!, fresh);
    if (deps?.store) layer.native = await auditNativeCode({ files: files.filter((f) => f.origin === 'deps'), distributions: layer.distributions, runtime: config.runtime, arch: config.arch });

    // verify: the import check, on the tree as it ships.
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

    // profile (--profile): what importing the handler costs at init.
    const init = config.profile
      ? await stage('profile', () =>
          profileInit({
            python: requireTargetPython(python, noPython, '--profile'),
            roots,
            fallbackRoots,
            handler: config.handler ?? inferHandler(files),
            runs: config.profileRuns,
            ownerOf: ownerLookup(layer.distributions, [layer.before, source.files, files]),
            signal,
          }),
        )
      : null;

    // zip, into a temp file beside the output.
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

    // advise (--advise): the cold-start advisor, on the zip as it will ship.
    const advice = config.advise
      ? await stage('advise', () =>
          adviseZipFile({
            zip: zipped.tempPath,
            python: requireTargetPython(python, noPython, '--advise'),
            exec,
            handler: config.handler ?? inferHandler(files, '--advise'),
            ownFiles: files.filter((f) => f.origin === 'source').map((f) => f.path),
            runtime: config.runtime,
            arch: config.arch,
            config: config.advise!,
            fallbackRoots,
            // The arm64 check asks pip as the install did, without constraints (one distribution at a time).
            pip: { env: config.env, options: pipIndexArgs({ ...indexFlagsWith(config, prepared?.input.pipOptions), constraints: [] }), python: config.python },
            signal,
          }),
        )
      : null;

    // Nothing is published until what was assumed from the last build is confirmed.
    await warm.checkBeforePublishing();
    if (deps?.store) await stage('cache', () => deps!.store!(zipped.written, zipped.tempPath));
    if (deps?.store && deps.upload) await stage('remote-cache', deps.upload);
    if (remote) warnings.push(...remote.warnings);

    // report
    const inventory: Inventory = {
      files: [...layerTreeFiles(layer.before, depsDir ?? ''), ...source.files],
      distributions: layer.distributions,
      sourceExclusions: source.sourceExclusions,
    };
    const report = createReport({
      pyslimVersion: PYSLIM_VERSION,
      runtime: config.runtime,
      arch: config.arch,
      installer: target.installer,
      installerReason: target.reason,
      requirements: prepared ? prepared.input.files[0]! : null,
      container: target.container,
      inventory,
      pruned: { kept: files, removed, added },
      zipped: files,
      output: { path: config.out, bytes: zipped.bytes, entries: zipped.entries, unzippedBytes: zipped.unzippedBytes, sha256: zipped.sha256, codeSha256: codeSha256(zipped.sha256) },
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
      trace: trace.finish(),
      warnings,
    });
    report.input = prepared
      ? { kind: prepared.input.kind, files: prepared.input.files, requireHashes: prepared.input.requireHashes, resolved: layer.resolved, localPaths: prepared.input.localPaths.map((p) => p.path) }
      : null;
    report.cache = cacheReport(deps?.cache, deps?.precompressed ?? null, files);
    report.advice = advice;
    if (config.keepTemp) report.workDir = work;

    // publish: the zip takes its place only now.
    throwIfAborted(signal);
    await fs.rename(zipped.tempPath, config.out);
    tempZip = undefined;
    return report;
  } catch (error) {
    if (signal?.aborted) throw error instanceof PyslimError ? error : new PyslimError('INTERRUPTED', 'build interrupted');
    throw await warm.explainFailure(error);
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
