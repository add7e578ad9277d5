/**
 * The dependency layer from the cache when it has it, else built by the dependency stages (and
 * stored once the zip is written). It is the expensive, slow-changing part of a build: keyed on
 * everything that can change it, and reused as is when only the function's own files changed.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { cacheKey, changedInputs, sha256, type CacheInputs } from '../../cache/key.js';
import type { RemoteCache } from '../../cache/remote.js';
import { DepsCache } from '../../cache/store.js';
import type { PrecompressedSource, WrittenEntry } from '../../zip/writer.js';
import type { BuildReport, CacheStatus, Resolution } from '../../model/report.js';
import { precompressedEntries, storeLayer } from './entries.js';
import { type LayerInputs, layerInputs } from './resolution.js';
import { buildLayer, type BuiltLayer, type DepsLayer, type DepsOptions } from './stages.js';
import type { TreeFile } from '../../model/files.js';

export interface DepsOutcome extends BuiltLayer {
  cache: CacheStatus;
  /** On a hit, the layer's compressed zip entries, by path. */
  precompressed: Map<string, PrecompressedSource> | null;
  /** On a miss with the cache on: stores the layer once the zip is written. */
  store?: (written: readonly WrittenEntry[], zipPath: string) => Promise<void>;
  /** On a miss with a remote cache: uploads the stored layer (after `store`). */
  upload?: () => Promise<void>;
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
  // On a local miss, a shared cache may have what another machine built.
  const { remote } = options;
  let fromRemote = false;
  if (found.status !== 'hit' && remote) {
    fromRemote = await options.stage('remote-cache', () => remote.fetch(key, cache));
    if (fromRemote) {
      const local = await cache.lookup(key);
      if (local.status === 'hit') found = local;
      else {
        fromRemote = false;
        remote.status.lookup = 'rejected';
        remote.status.lookupReason = local.reason;
      }
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
      cache: status('hit', fromRemote ? 'hit: downloaded from the remote cache' : 'hit', { resolution, resolutionReason }, key, cache.root, 'hit', remote),
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
      cache: status('miss', reason, { resolution, resolutionReason }, key, cache.root, 'miss', remote),
      precompressed: null,
      store: async (written, zipPath) => {
        await storeLayer(cache, staging, { key, inputs, functionDir: config.dir, layer: built.layer }, written, zipPath);
        await cache.rememberLast(config.dir, key, notes);
      },
      ...(remote ? { upload: () => remote.upload(key, cache.entryDir(key)) } : {}),
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
  remote?: RemoteCache | null,
): CacheStatus {
  const stages = Object.fromEntries(['install', 'prune', 'strip', 'compile'].map((s) => [s, layer])) as Record<string, 'hit' | 'miss' | 'ran'>;
  return { status: kind, reason, resolution, resolutionReason: resolutionReason ?? null, key, dir, stages, reusedEntries: 0, compressedEntries: 0, remote: remote?.status ?? null };
}

/** Why a key has no entry: what differs from the last build of the same function. */
async function missReason(cache: DepsCache<DepsLayer>, functionDir: string, inputs: CacheInputs): Promise<string> {
  const previous = await cache.latestFor(functionDir);
  if (!previous) return 'first build of this function with this cache';
  const changed = changedInputs(previous.inputs, inputs);
  return changed.length > 0 ? `changed since the last cached build: ${changed.join(', ')}` : 'the entry was evicted or removed';
}

/** The cache's part of the report: per stage, and how many zip entries were copied as they were. */
export function cacheReport(status: CacheStatus | undefined, precompressed: ReadonlyMap<string, unknown> | null, files: readonly TreeFile[]): BuildReport['cache'] {
  if (!status) return null;
  const reused = precompressed ? files.filter((f) => precompressed.has(f.path)).length : 0;
  return { ...status, stages: { ...status.stages, zip: reused > 0 ? 'hit' : 'miss' }, reusedEntries: reused, compressedEntries: files.length - reused };
}
