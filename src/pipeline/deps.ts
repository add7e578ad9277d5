/**
 * The dependency layer: install → inventory → prune (→ strip) → compile, for the installed
 * packages only. It is the expensive, slow-changing part of a build, so it is cached: keyed on
 * everything that can change it (cache/key.ts), stored as the pruned tree plus its compressed zip
 * entries, and reused as is when only the function's own files changed.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PYSLIM_VERSION } from '../assets.js';
import { cacheKey, changedInputs, sha256, type CacheInputs } from '../cache/key.js';
import { DepsCache, MANIFEST_FORMAT, entriesHash, measureTree, type CachedEntry, type DepsManifest } from '../cache/store.js';
import type { ResolvedBuildConfig } from '../config.js';
import type { Exec } from '../exec.js';
import type { TargetPython } from '../installers/types.js';
import { validPipSources, type PipSources } from '../installers/pip-sources.js';
import { botoDataBytes, botoServicesRule, listBotoServices, resolveBotoServices } from '../rules/boto.js';
import type { PruneRule } from '../rules/registry.js';
import { RUNTIME_PROVIDED_RULE, planRuntimeExclusion, runtimePackagesRule } from '../rules/runtime-packages.js';
import type { BuildWarning } from '../warnings.js';
import { PyslimError } from '../errors.js';
import { LIBDEFLATE_VERSION } from '../zip/deflate-pool.js';
import type { PrecompressedSource, WrittenEntry } from '../zip/writer.js';
import { readRawEntry } from '../zip/writer.js';
import { TASK_ROOT, compileBytecode } from './compile.js';
import { LAYER_ROOT, layerProvidedRule, versionMismatches, type LayerInfo } from './layers.js';
import type { Selected } from './install.js';
import type { PreparedInput } from './input.js';
import { takeInventory, type Inventory } from './inventory.js';
import { prune, type Removal } from './prune.js';
import { normalizeDistName } from '../python-names.js';
import { stripSharedObjects } from './strip.js';
import type { Distribution, TreeFile } from '../model/files.js';
import type { BytecodeMode } from '../model/modes.js';
import type { BuildReport, CacheStatus, NativeSummary, Resolution, TrimSummary } from '../model/report.js';

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

export interface DepsOutcome {
  layer: DepsLayer;
  depsDir: string;
  /** Packages left out for the runtime, for the import check. */
  runtimeDir: string;
  cache: CacheStatus;
  /** On a hit, the layer's compressed zip entries, by path. */
  precompressed: Map<string, PrecompressedSource> | null;
  /** On a miss with the cache on: stores the layer once the zip is written. */
  store?: (written: readonly WrittenEntry[], zipPath: string) => Promise<void>;
  /** On a miss with the cache off: the staging folder to remove. */
  discard?: () => Promise<void>;
  /** On a hit: closes the cached entries once the zip is written (and waits for pip, if it still runs). */
  release?: () => Promise<void>;
  /**
   * On a hit keyed on the last build's resolution: whether pip resolved the same. Nothing may be
   * published before it says so; when it says no, the build starts over.
   */
  confirm?: () => Promise<boolean>;
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
  /** Layers the function runs with: packages they provide are left out. */
  layers: readonly LayerInfo[];
  stage: <T>(name: string, run: () => Promise<T>) => Promise<T>;
  /** Go on with the last build's resolution while pip resolves (see LayerInputs.pending). */
  assumeResolution?: boolean;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

/** A resolution as the key holds it, and what pip read to find it (when recorded). */
interface PipAnswer {
  resolvedList: string[];
  pipSources?: PipSources;
}

export type LayerInputs = CacheInputs &
  PipAnswer & {
    resolution: Resolution;
    /** When pip resolves: why the last resolution was not reused. */
    resolutionReason?: string;
    /**
     * Set when the key assumed the last build's resolution (resolvedList) while pip resolves
     * alongside: pip's answer. Nothing may be published until it agrees.
     */
    pending?: Promise<PipAnswer>;
  };

/** Everything that can change the layer. Inputs that may hold credentials are hashed. */
export async function layerInputs(options: DepsOptions): Promise<LayerInputs> {
  const { prepared, selected } = options;
  const fixed = fixedInputs(options);
  const keyed = (answer: PipAnswer, resolution: Resolution) => ({ ...fixed, resolved: sha256(answer.resolvedList.join('\n')), ...answer, resolution });
  // A locked input (hashes on every line) is its own resolution.
  if (prepared.input.requireHashes) {
    const resolvedList = prepared.input.pins.map((p) => `${p.name}==${p.version}`);
    return { ...fixed, resolved: `locked ${sha256(resolvedList.join('\n'))}`, resolvedList, resolution: 'locked' };
  }
  const last = await lastResolution(options, fixed);
  if (last && pinsExactly(prepared.input.pins, last.resolvedList)) return keyed({ resolvedList: last.resolvedList }, 'pinned');
  // Pip reads the same pages, folders and files as for the last build: it would resolve the same.
  const { installer } = selected;
  let resolutionReason: string;
  if (!last) resolutionReason = 'no cached build of this function with the same inputs';
  else if (!last.pipSources || !installer.sourcesChange) resolutionReason = 'the last build kept no record of what pip read';
  else {
    const change = await options.stage('revalidate', () => installer.sourcesChange!(last.pipSources!));
    if (change === undefined) return keyed(last, 'revalidated');
    resolutionReason = `changed since the last build: ${change}`;
  }
  // Anything else is resolved by pip, so that a new release on the index is a miss rather than a stale hit.
  const request = installRequest(options, path.join(options.workDir, 'resolve'));
  await fs.mkdir(request.targetDir, { recursive: true });
  const resolving = options
    .stage('resolve', () => installer.resolve(request))
    .then(({ distributions, sources }): PipAnswer => ({
      resolvedList: distributions.map((d) => `${d.name}==${d.version}${d.hash ? ` ${d.hash}` : ''}`),
      ...(sources ? { pipSources: sources } : {}),
    }));
  if (last && options.assumeResolution) {
    // The build goes on with the last resolution (a source edit rarely changes it) while pip
    // resolves; it publishes only if pip agrees, and starts over otherwise.
    resolving.catch(() => undefined); // surfaces when the build awaits it
    // Until pip answers, the last record of what it read stays the note (a restart names the same change).
    return { ...keyed(last, 'pip'), resolutionReason, pending: resolving };
  }
  return { ...keyed(await resolving, 'pip'), resolutionReason };
}

/** The inputs that need no resolution. */
function fixedInputs(options: DepsOptions): Omit<CacheInputs, 'resolved'> {
  const { config, prepared, selected } = options;
  return {
    pyslim: PYSLIM_VERSION,
    compressor: `libdeflate ${LIBDEFLATE_VERSION} level 9; zlib ${process.versions.zlib}`,
    runtime: config.runtime,
    arch: config.arch,
    installer: selected.installer.kind,
    image: selected.container ? `${selected.container.image} ${selected.container.imageId ?? ''}` : null,
    interpreter: selected.interpreter,
    requirements: prepared.contentHash,
    index: sha256(JSON.stringify(selected.index)),
    prune: JSON.stringify({
      profile: config.prune,
      exclude: config.exclude.patterns,
      keep: config.keep.patterns,
      boto: config.botoServices,
      runtimePackages: config.excludeRuntimePackages,
      strip: config.strip,
      layers: options.layers.map((l) => l.packages.map((p) => `${p.key}==${p.version}`)),
    }),
    // Bytecode records where it will live: /var/task for a function, /opt/python for a layer.
    bytecode: `${options.bytecode} ${bytecodePrefix(config)}`,
  };
}

/**
 * The resolution of the function's last cached build, when every input but the resolution is
 * the same as now, with what pip read to find it (when that was recorded).
 */
async function lastResolution(options: DepsOptions, fixed: Omit<CacheInputs, 'resolved'>): Promise<PipAnswer | undefined> {
  const { cache } = options;
  if (!cache) return undefined;
  const last = await cache.lastBuild(options.config.dir);
  const resolved = last?.manifest.layer.resolved;
  if (!last || !resolved?.length || sha256(resolved.join('\n')) !== last.manifest.inputs.resolved) return undefined;
  if (changedInputs(last.manifest.inputs, { ...fixed, resolved: last.manifest.inputs.resolved }).length > 0) return undefined;
  const pipSources = validPipSources(last.note.pipSources);
  return { resolvedList: resolved, ...(pipSources ? { pipSources } : {}) };
}

/**
 * Whether the requirements pin with `==` exactly the distributions of a resolution (pip freeze,
 * pip-compile or a lockfile without hashes). Such a set has one resolution: asking the index
 * again can only give the same versions. A range, a dependency left unpinned, or anything pip
 * resolved that is not pinned means it is not.
 */
function pinsExactly(pins: readonly { name: string; version: string }[], resolved: readonly string[]): boolean {
  const byName = new Map(pins.map((p) => [normalizeDistName(p.name), p.version]));
  return (
    resolved.length === byName.size &&
    resolved.every((entry) => {
      const match = /^([^=\s]+)==(\S+)/.exec(entry);
      return match !== null && byName.get(normalizeDistName(match[1]!)) === match[2];
    })
  );
}

function installRequest(options: DepsOptions, targetDir: string) {
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

/** The layer from the cache when it has it, else built (and stored once the zip is written). */
export async function dependencyLayer(options: DepsOptions): Promise<DepsOutcome> {
  await fs.mkdir(path.join(options.workDir, 'tmp'), { recursive: true });
  if (options.cache) {
    const inputs = await layerInputs(options);
    try {
      return await cachedLayer(options, options.cache, inputs);
    } catch (error) {
      // pip may still be resolving in the temp folder the build is about to remove.
      await inputs.pending?.catch(() => undefined);
      throw error;
    }
  }
  // Without the cache no key is needed, so nothing is resolved ahead of the install.
  const staging = path.join(options.workDir, 'layer');
  await fs.mkdir(staging, { recursive: true });
  const built = await buildLayer(options, staging, []);
  return { ...built, cache: status('disabled', 'the cache is off (--no-cache)', { resolution: null }, null, null, 'miss'), precompressed: null };
}

async function cachedLayer(options: DepsOptions, cache: DepsCache<DepsLayer>, keyInputs: LayerInputs): Promise<DepsOutcome> {
  const { config } = options;
  let { resolvedList, resolution, resolutionReason, pending, pipSources, ...inputs } = keyInputs;
  let key = cacheKey(inputs);
  let found = await options.stage('cache', () => cache.lookup(key));
  if (found.status !== 'hit' && pending) {
    // A miss gains nothing from the assumed resolution: take pip's, and look again if it differs.
    const actual = await pending;
    pending = undefined;
    pipSources = actual.pipSources;
    if (actual.resolvedList.join('\n') !== resolvedList.join('\n')) {
      resolvedList = actual.resolvedList;
      inputs = { ...inputs, resolved: sha256(resolvedList.join('\n')) };
      key = cacheKey(inputs);
      found = await options.stage('cache', () => cache.lookup(key));
    }
  }
  // Notes for the function's next build; with pip still resolving, what it read now is noted once it agrees.
  const notes = { hostPython: options.selected.hostPython, ...(pipSources ? { pipSources } : {}) };
  if (found.status === 'hit') {
    await cache.rememberLast(config.dir, key, notes);
    const entries = await precompressedEntries(found.dir, found.manifest.entries, found.manifest.entriesBytes);
    const assumed = resolvedList.join('\n');
    const resolving = pending;
    return {
      layer: found.manifest.layer,
      depsDir: path.join(found.dir, 'tree'),
      runtimeDir: path.join(found.dir, 'runtime'),
      cache: status('hit', 'hit', { resolution, resolutionReason }, key, cache.root, 'hit'),
      precompressed: entries.sources,
      release: async () => {
        await resolving?.catch(() => undefined);
        await entries.close();
      },
      ...(resolving
        ? {
            confirm: async () => {
              const answer = await resolving;
              if (answer.resolvedList.join('\n') !== assumed) return false;
              if (answer.pipSources) await cache.rememberLast(config.dir, key, { ...notes, pipSources: answer.pipSources });
              return true;
            },
          }
        : {}),
    };
  }
  const reason = found.reason === 'no entry' ? await missReason(cache, config.dir, inputs) : found.reason;
  const staging = await cache.staging();
  try {
    const built = await buildLayer(options, staging, resolvedList);
    return {
      ...built,
      cache: status('miss', reason, { resolution, resolutionReason }, key, cache.root, 'miss'),
      precompressed: null,
      store: async (written, zipPath) => {
        await storeLayer(cache, staging, { key, inputs, functionDir: config.dir, layer: built.layer }, written, zipPath);
        await cache.rememberLast(config.dir, key, notes);
      },
      discard: () => cache.discard(staging),
    };
  } catch (error) {
    await cache.discard(staging);
    throw error;
  }
}

function status(
  kind: CacheStatus['status'],
  reason: string,
  { resolution, resolutionReason }: { resolution: Resolution | null; resolutionReason?: string },
  key: string | null,
  dir: string | null,
  layer: 'hit' | 'miss',
): CacheStatus {
  const stages = Object.fromEntries(['install', 'prune', 'strip', 'compile'].map((s) => [s, layer])) as Record<string, 'hit' | 'miss' | 'ran'>;
  return { status: kind, reason, resolution, resolutionReason: resolutionReason ?? null, key, dir, stages, reusedEntries: 0, compressedEntries: 0 };
}

/** Why a key has no entry: what differs from the last build of the same function. */
async function missReason(cache: DepsCache<DepsLayer>, functionDir: string, inputs: CacheInputs): Promise<string> {
  const previous = await cache.latestFor(functionDir);
  if (!previous) return 'first build of this function with this cache';
  const changed = changedInputs(previous.inputs, inputs);
  return changed.length > 0 ? `changed since the last cached build: ${changed.join(', ')}` : 'the entry was evicted or removed';
}

/** install → inventory → prune (→ strip) → compile, in `root` (tree/ and runtime/). */
async function buildLayer(options: DepsOptions, root: string, resolved: string[]): Promise<Omit<DepsOutcome, 'cache' | 'precompressed'>> {
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
    bytecode = { files: compiled.compiled, bytes: compiled.compiledBytes, failed: compiled.failed, keptSources: compiled.keptSources };
  }

  const plain = (f: TreeFile): LayerFile => ({ path: f.path, size: f.size, executable: f.executable, owner: f.owner });
  const layer: DepsLayer = {
    distributions: inventory.distributions,
    before: inventory.files.map(plain),
    removed: removed.map((r) => ({ ...plain(r.file), rule: r.rule, ...(r.savedBytes !== undefined ? { savedBytes: r.savedBytes } : {}) })),
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

/**
 * The layer's compressed entries, served from entries.bin through two reused blocks: the zip asks
 * for them in the order they were stored, so while it copies from one block the next is read into
 * the other. (The writer copies an entry's bytes before asking for the next, which is what lets a
 * block be reused.) The file is open from the hit on, so an eviction by another build cannot pull
 * it away mid-zip.
 */
export async function precompressedEntries(
  dir: string,
  entries: readonly CachedEntry[],
  totalBytes: number,
  blockBytes = ENTRIES_BLOCK,
): Promise<{ sources: Map<string, PrecompressedSource>; close: () => Promise<void> }> {
  const file = path.join(dir, 'entries.bin');
  const handle = await fs.open(file, 'r');
  interface Block {
    bytes: Buffer;
    start: number;
    end: number;
  }
  const load = async (bytes: Buffer, start: number, minimum: number): Promise<Block> => {
    if (bytes.length < minimum) bytes = Buffer.allocUnsafe(minimum);
    const want = Math.min(bytes.length, Math.max(totalBytes - start, minimum));
    let filled = 0;
    while (filled < want) {
      const { bytesRead } = await handle.read(bytes, filled, want - filled, start + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled < minimum) throw new PyslimError('INTERNAL', `${file} ended before the entry at ${start} (${minimum} bytes)`, { hint: 'Run pyslim cache clean, then build again' });
    return { bytes, start, end: start + filled };
  };
  let current: Block = { bytes: Buffer.allocUnsafe(blockBytes) as Buffer, start: 0, end: 0 };
  let spare: Buffer = Buffer.allocUnsafe(blockBytes);
  let ahead: Promise<Block> | null = null;
  const slice = async (offset: number, length: number): Promise<Buffer> => {
    if (offset < current.start || offset + length > current.end) {
      const next = ahead ? await ahead : null;
      ahead = null;
      const previous = current.bytes;
      current = next && offset >= next.start && offset + length <= next.end ? next : await load(next?.bytes ?? spare, offset, length);
      spare = previous;
      if (current.end < totalBytes) {
        ahead = load(spare, current.end, 0);
        ahead.catch(() => undefined); // surfaces when awaited
      }
    }
    return current.bytes.subarray(offset - current.start, offset - current.start + length);
  };
  const sources = new Map<string, PrecompressedSource>(
    entries.map((e) => [
      e.path,
      {
        kind: 'precompressed',
        method: e.method,
        crc32: e.crc32,
        compressedSize: e.compressedSize,
        uncompressedSize: e.uncompressedSize,
        read: () => readRawEntry(file, { dataOffset: e.offset, compressedSize: e.compressedSize }),
        bytes: () => slice(e.offset, e.compressedSize),
      },
    ]),
  );
  const close = async () => {
    await ahead?.catch(() => undefined);
    await handle.close();
  };
  return { sources, close };
}

/** Reads of entries.bin on a hit: large enough to be few, small enough to stay in one reused buffer. */
const ENTRIES_BLOCK = 4 * 1024 * 1024;

/**
 * Copies the layer's compressed entries out of the finished zip into entries.bin, then publishes
 * the entry. A later build of the same layer copies these bytes back verbatim, so its zip is
 * byte-identical to this one.
 */
async function storeLayer(
  cache: DepsCache<DepsLayer>,
  staging: string,
  entry: Pick<DepsManifest<DepsLayer>, 'key' | 'inputs' | 'functionDir' | 'layer'>,
  written: readonly WrittenEntry[],
  zipPath: string,
): Promise<void> {
  const layerPaths = new Set(entry.layer.files.map((f) => f.path));
  const entries: CachedEntry[] = [];
  const zip = await fs.open(zipPath, 'r');
  const out = await fs.open(path.join(staging, 'entries.bin'), 'w');
  const checksum = entriesHash();
  let offset = 0;
  try {
    // One positional read per entry from the finished zip, gathered into large sequential writes,
    // and hashed on the way (never the whole file in memory).
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes > 0) {
        const chunk = Buffer.concat(pending, pendingBytes);
        checksum.update(chunk);
        await out.write(chunk);
      }
      pending = [];
      pendingBytes = 0;
    };
    for (const w of written) {
      if (!layerPaths.has(w.name)) continue;
      const bytes = Buffer.allocUnsafe(w.compressedSize);
      const { bytesRead } = await zip.read(bytes, 0, w.compressedSize, w.dataOffset);
      if (bytesRead !== w.compressedSize) throw new Error(`short read of ${w.name} from ${zipPath}`);
      pending.push(bytes);
      pendingBytes += bytes.length;
      if (pendingBytes >= 4 * 1024 * 1024) await flush();
      entries.push({ path: w.name, method: w.method, crc32: w.crc32, compressedSize: w.compressedSize, uncompressedSize: w.uncompressedSize, offset });
      offset += w.compressedSize;
    }
    await flush();
  } finally {
    await Promise.all([zip.close(), out.close()]);
  }
  const tree = await measureTree(path.join(staging, 'tree'));
  await cache.commit(staging, {
    format: MANIFEST_FORMAT,
    ...entry,
    createdAt: new Date().toISOString(),
    entries,
    entriesBytes: offset,
    entriesChecksum: checksum.digest('hex'),
    treeFiles: tree.files,
    treeBytes: tree.bytes,
  });
  await cache.enforceLimit(entry.key);
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
