/**
 * How the key's resolved versions are found without asking pip when that is safe: from a hash
 * lock, reused from the function's last build when the requirements pin every distribution, or
 * revalidated when everything pip read for that build is unchanged; else pip resolves, possibly
 * alongside a build that goes on with the last resolution (LayerInputs.pending).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { changedInputs, sha256, type CacheInputs } from '../../cache/key.js';
import { validPipSources, type PipSources } from '../../installers/pip-sources.js';
import { normalizeDistName } from '../../python-names.js';
import type { Resolution } from '../../model/report.js';
import { fixedInputs } from './key.js';
import { type DepsOptions, installRequest } from './stages.js';

/** A resolution as the key holds it, and what pip read to find it (when recorded). */
export interface PipAnswer {
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
