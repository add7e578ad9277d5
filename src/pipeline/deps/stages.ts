/**
 * The dependency stages, for the installed packages only: install → inventory → prune (→ strip)
 * → compile, in a folder of their own. The result (DepsLayer) is what the cache stores.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RemoteCache } from '../../cache/remote.js';
import { DepsCache } from '../../cache/store.js';
import type { ResolvedBuildConfig } from '../../config.js';
import type { Exec } from '../../exec.js';
import type { TargetPython } from '../../installers/types.js';
import { botoDataBytes, botoServicesRule, listBotoServices, resolveBotoServices } from '../../rules/boto.js';
import type { PruneRule } from '../../rules/registry.js';
import { RUNTIME_PROVIDED_RULE, planRuntimeExclusion, runtimePackagesRule } from '../../rules/runtime-packages.js';
import type { BuildWarning } from '../../warnings.js';
import { TASK_ROOT, compileBytecode } from '../compile.js';
import { LAYER_ROOT, layerProvidedRule, versionMismatches, type LayerInfo } from '../layers.js';
import type { Selected } from '../install.js';
import type { PreparedInput } from '../input.js';
import { takeInventory, type Inventory } from '../inventory.js';
import { prune, type Addition, type Removal } from '../prune.js';
import { stripSharedObjects } from '../strip.js';
import type { Distribution, TreeFile } from '../../model/files.js';
import type { BytecodeMode } from '../../model/modes.js';
import type { BuildReport, NativeSummary, TrimSummary } from '../../model/report.js';

/** A file of the layer as the manifest stores it (its content lives in the tree). */
export interface LayerFile {
  path: string;
  size: number;
  executable: boolean;
  owner: string;
}

/** What the rest of the build needs to know about the dependency layer; serializable. */
export interface DepsLayer {
  distributions: Distribution[];
  /** Installed files before pruning. */
  before: LayerFile[];
  /** Removals (and strip savings) by rule. */
  removed: (LayerFile & { rule: string; savedBytes?: number })[];
  /** Files pyslim wrote (bytecode, top_level.txt), by rule. */
  added: (LayerFile & { rule: string })[];
  /** What ships from the layer: pruned, stripped, compiled. */
  files: LayerFile[];
  trim: TrimSummary;
  runtimeExcluded: string[];
  strip: BuildReport['strip'];
  bytecode: { files: number; bytes: number; failed: { file: string; error: string }[]; keptSources: string[] } | null;
  /** Findings about the packages (botocore hint, runtime packages), repeated on every build that uses the layer. */
  warnings: BuildWarning[];
  /** The resolved distributions, as name==version. */
  resolved: string[];
  /**
   * Modules the import check imported when the layer was built, and the function's top-level
   * names then: a later build whose function adds no top-level name (nothing new can shadow a
   * package) need not import them again.
   */
  verified?: { modules: string[]; sourceTopLevel: string[] };
  /** The native-code audit of the layer's shared objects, done when it was built. */
  native?: NativeSummary;
}

export interface DepsOptions {
  config: ResolvedBuildConfig;
  exec: Exec;
  prepared: PreparedInput;
  selected: Selected;
  python: TargetPython | null;
  bytecode: BytecodeMode;
  /** pyslim's temp folder for this build. */
  workDir: string;
  /** The dependency cache, or null with --no-cache. */
  cache: DepsCache<DepsLayer> | null;
  /** The remote cache, or null without --remote-cache. */
  remote?: RemoteCache | null;
  /** Layers the function runs with: packages they provide are left out. */
  layers: readonly LayerInfo[];
  stage: <T>(name: string, run: () => Promise<T>) => Promise<T>;
  /** Go on with the last build's resolution while pip resolves (see LayerInputs.pending). */
  assumeResolution?: boolean;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

export function installRequest(options: DepsOptions, targetDir: string) {
  const { config, prepared } = options;
  return {
    requirementsFile: prepared.requirementsFile,
    constraintsFile: prepared.constraintsFile,
    requireHashes: prepared.input.requireHashes,
    localPaths: prepared.localPaths,
    targetDir,
    scratchDir: path.join(options.workDir, 'tmp'),
    runtime: config.runtime,
    arch: config.arch,
    signal: options.signal,
    onLine: options.onLine,
  };
}

/** A layer built in a folder: the installed tree, and the packages set aside for the runtime. */
export interface BuiltLayer {
  layer: DepsLayer;
  depsDir: string;
  /** Packages left out for the runtime, for the import check. */
  runtimeDir: string;
}

/** install → inventory → prune (→ strip) → compile, in `root` (tree/ and runtime/). */
export async function buildLayer(options: DepsOptions, root: string, resolved: string[]): Promise<BuiltLayer> {
  const { config, stage, signal } = options;
  const depsDir = path.join(root, 'tree');
  const runtimeDir = path.join(root, 'runtime');
  await fs.mkdir(depsDir, { recursive: true });
  await fs.mkdir(runtimeDir, { recursive: true });
  await stage('install', () => options.selected.installer.install(installRequest(options, depsDir)));
  const inventory = await stage('inventory', () => takeInventory({ depsDir, sourceDir: null, ownOutputs: [] }));
  const warnings: BuildWarning[] = [];
  const trim = planTrimming(config, inventory, options.layers, warnings);
  const pruned = await stage('prune', () =>
    prune({ inventory, profile: config.prune, exclude: config.exclude, keep: config.keep, depsDir, extraRules: trim.rules, setAside: { rule: RUNTIME_PROVIDED_RULE, dir: runtimeDir } }),
  );
  let files = pruned.kept;
  const removed: Removal[] = [...pruned.removed];
  const added: Addition[] = [...pruned.added];

  let strip: BuildReport['strip'] = null;
  if (config.strip) {
    const mode = config.strip;
    const stripped = await stage('strip', () =>
      stripSharedObjects({
        files,
        depsDir,
        mode,
        arch: config.arch,
        exec: options.exec,
        env: config.env,
        container: options.selected.installer.kind === 'docker' ? options.python : null,
        hostArch: process.arch,
        signal,
      }),
    );
    files = stripped.files;
    removed.push(...stripped.savings);
    strip = { mode, tool: stripped.tool, files: stripped.savings.length, savedBytes: stripped.savings.reduce((n, s) => n + (s.savedBytes ?? 0), 0), refused: stripped.refused };
  }

  let bytecode: DepsLayer['bytecode'] = null;
  if (options.bytecode !== 'none' && options.python) {
    const compiled = await stage('compile', () =>
      compileBytecode({
        files,
        mode: options.bytecode as Exclude<BytecodeMode, 'none'>,
        python: options.python!,
        depsDir,
        sourceDir: null,
        distributions: inventory.distributions,
        prefix: bytecodePrefix(config),
        signal,
      }),
    );
    files = compiled.files;
    removed.push(...compiled.removed);
    added.push(...compiled.added);
    bytecode = { files: compiled.compiled, bytes: compiled.compiledBytes, failed: compiled.failed, keptSources: compiled.keptSources };
  }

  const plain = (f: TreeFile): LayerFile => ({ path: f.path, size: f.size, executable: f.executable, owner: f.owner });
  const layer: DepsLayer = {
    distributions: inventory.distributions,
    before: inventory.files.map(plain),
    removed: removed.map((r) => ({ ...plain(r.file), rule: r.rule, ...(r.savedBytes !== undefined ? { savedBytes: r.savedBytes } : {}) })),
    added: added.map((a) => ({ ...plain(a.file), rule: a.rule })),
    files: files.map(plain),
    trim: trim.summary,
    runtimeExcluded: trim.runtimeExcluded,
    strip,
    bytecode,
    warnings,
    resolved,
  };
  return { layer, depsDir, runtimeDir };
}

/**
 * The rules beyond the prune profile: runtime-provided packages and botocore services, planned
 * from the inventory before anything is removed. Adds the warnings the report shows about them.
 */
function planTrimming(
  config: ResolvedBuildConfig,
  inventory: Inventory,
  layers: readonly LayerInfo[],
  warnings: BuildWarning[],
): { rules: PruneRule[]; runtimeExcluded: string[]; summary: TrimSummary } {
  const rules: PruneRule[] = [];
  const summary: TrimSummary = { runtimePackages: null, botoServices: null, layerProvided: null };

  const provided = new Set(layers.flatMap((l) => l.packages.map((p) => p.key)));
  const fromLayers = inventory.distributions.filter((d) => provided.has(d.key));
  if (fromLayers.length > 0) {
    rules.push(layerProvidedRule(fromLayers.map((d) => d.key)));
    summary.layerProvided = fromLayers.map((d) => d.name);
    for (const message of versionMismatches(fromLayers, layers)) warnings.push({ code: 'VERSION_MISMATCH', message });
  }
  const names = new Map(inventory.distributions.map((d) => [d.key, d.name]));
  let runtimeExcluded: string[] = [];

  if (config.excludeRuntimePackages) {
    const plan = planRuntimeExclusion(inventory.distributions);
    runtimeExcluded = plan.excluded;
    summary.runtimePackages = { excluded: plan.excluded.map((k) => names.get(k) ?? k), keptBecause: plan.keptBecause };
    if (plan.excluded.length > 0) {
      rules.push(runtimePackagesRule(plan.excluded));
      warnings.push({ code: 'RUNTIME_PACKAGES_EXCLUDED', message: `left out ${summary.runtimePackages.excluded.join(', ')}: the Lambda runtime's versions will be used` });
    }
    for (const kept of plan.keptBecause) {
      warnings.push({ code: 'RUNTIME_PACKAGE_KEPT', message: `${kept.name} stays in the zip because ${kept.requiredBy.join(', ')} requires it; on Lambda it shadows the runtime's copy` });
    }
    for (const pin of plan.pinned) {
      warnings.push({ code: 'RUNTIME_VERSION_PINNED', message: `${pin.requiredBy} requires ${pin.requirement}, but ${pin.name} is left out for the runtime's version` });
    }
  }

  const botoBytes = botoDataBytes(inventory.files);
  if (config.botoServices) {
    if (runtimeExcluded.includes('botocore')) {
      warnings.push({ code: 'OPTION_IGNORED', message: '--boto-services has no effect with --exclude-runtime-packages: botocore is left out entirely' });
    } else {
      const resolved = resolveBotoServices(config.botoServices, listBotoServices(inventory.files));
      rules.push(botoServicesRule(resolved.keep));
      summary.botoServices = { kept: resolved.keep, implied: resolved.implied, aliased: resolved.aliased };
    }
  } else if (botoBytes > 0 && !runtimeExcluded.includes('botocore')) {
    warnings.push({
      code: 'BOTO_SERVICES_HINT',
      message: `botocore ships models for ${listBotoServices(inventory.files).length} AWS services (${(botoBytes / 1e6).toFixed(1)} MB); --boto-services s3,dynamodb,… keeps only the ones the function uses, or --exclude-runtime-packages uses the runtime's boto3`,
    });
  }
  return { rules, runtimeExcluded, summary };
}

/** Where the code will live on Lambda, recorded in its bytecode. */
export function bytecodePrefix(config: Pick<ResolvedBuildConfig, 'layer'>): string {
  return config.layer ? LAYER_ROOT : TASK_ROOT;
}

/** The layer's files as the pipeline's TreeFiles, read from `depsDir`. */
export function layerTreeFiles(files: readonly LayerFile[], depsDir: string): TreeFile[] {
  // Zip paths are already normalized: joining them by hand took a tenth of path.join's time.
  const root = depsDir.endsWith(path.sep) ? depsDir : depsDir + path.sep;
  const native = path.sep === '/' ? (p: string) => p : (p: string) => p.split('/').join(path.sep);
  return files.map((f) => ({ ...f, abs: root + native(f.path), origin: 'deps' }));
}

/** Removals of the layer as the report counts them. */
export function layerRemovals(layer: DepsLayer): Removal[] {
  return layer.removed.map(({ rule, savedBytes, ...file }) => ({ file: { ...file, abs: '', origin: 'deps' }, rule, ...(savedBytes !== undefined ? { savedBytes } : {}) }));
}

/** Additions of the layer as the report counts them. */
export function layerAdditions(layer: DepsLayer): Addition[] {
  return layer.added.map(({ rule, ...file }) => ({ file: { ...file, abs: '', origin: 'deps' }, rule }));
}
