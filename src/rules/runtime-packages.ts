/**
 * --exclude-runtime-packages: leave out, as one coherent set, what the Lambda Python runtime
 * already ships (boto3, botocore, s3transfer, jmespath, python-dateutil, six, urllib3).
 *
 * Bundling only part of the set is what AWS warns against (a bundled urllib3 under the runtime's
 * botocore, for example), so the four AWS SDK packages always go together. The three generic
 * libraries go too unless a distribution that stays in the zip requires them: /var/task comes
 * first on sys.path, so a kept copy shadows the runtime's for every importer, botocore included,
 * and the plan says which package made it stay so the report can warn.
 *
 * This module is pure: it reads Distribution objects and returns names and a PruneRule.
 */
import { normalizeDistName, requirementName } from '../python-names.js';
import type { PruneRule } from './registry.js';
import type { Distribution } from '../model/files.js';
import type { KeptRuntimePackage } from '../model/report.js';

/** Name under which --exclude-runtime-packages removals are reported. */
export const RUNTIME_PROVIDED_RULE = 'runtime-provided';

/** The AWS SDK packages: always excluded together, whatever else requires them. */
export const RUNTIME_CORE_PACKAGES = ['boto3', 'botocore', 's3transfer', 'jmespath'] as const;
/** Generic libraries the runtime also ships: excluded only when no kept distribution requires them. */
export const RUNTIME_CONDITIONAL_PACKAGES = ['python-dateutil', 'six', 'urllib3'] as const;

export type RuntimeCorePackage = (typeof RUNTIME_CORE_PACKAGES)[number];
export type RuntimeConditionalPackage = (typeof RUNTIME_CONDITIONAL_PACKAGES)[number];

const CONDITIONAL: ReadonlySet<string> = new Set(RUNTIME_CONDITIONAL_PACKAGES);

/**
 * A kept distribution that asks for a version range of an excluded package: on Lambda it gets
 * whatever version the runtime ships, which may not satisfy the range (aiobotocore pins botocore).
 */
export interface PinnedRuntimePackage {
  /** Normalized name of the excluded package. */
  name: string;
  /** Normalized name of the kept distribution. */
  requiredBy: string;
  /** The requirement as its METADATA writes it, without the marker, e.g. "botocore<1.35.37,>=1.35.16". */
  requirement: string;
}

export interface RuntimeExclusionPlan {
  /** Normalized names of the distributions to leave out, sorted. Empty when botocore is absent. */
  excluded: string[];
  /** Conditional packages present in the tree but kept, with the reason. */
  keptBecause: KeptRuntimePackage[];
  /** Version ranges that kept distributions ask of excluded packages. */
  pinned: PinnedRuntimePackage[];
}

interface Requirement {
  name: string;
  /** The requirement without its environment marker. */
  text: string;
  hasVersion: boolean;
}

/**
 * The requirements a distribution needs whatever extras are chosen. A marker that mentions
 * `extra ==` makes the dependency optional; any other marker (python_version, platform) is
 * counted as required, since keeping a package is the safe side of a guess.
 */
export function requiredDistributions(requires: readonly string[]): Requirement[] {
  const out: Requirement[] = [];
  for (const raw of requires) {
    const semicolon = raw.indexOf(';');
    const marker = semicolon < 0 ? '' : raw.slice(semicolon + 1);
    if (/\bextra\s*==/.test(marker)) continue;
    const name = requirementName(raw);
    if (!name) continue;
    const text = (semicolon < 0 ? raw : raw.slice(0, semicolon)).trim();
    // Whatever follows the name and its [extras]: "(<2,>=1)", ">=1.5", "@ https://…".
    const rest = text.slice(name.length).replace(/^\s*\[[^\]]*\]/, '');
    out.push({ name: normalizeDistName(name), text, hasVersion: /[<>=!~@]/.test(rest) });
  }
  return out;
}

/**
 * Decides which runtime-provided distributions to leave out. Nothing is excluded when botocore
 * is not installed: without it there is no AWS SDK to defer to, and a lone jmespath or six is
 * just a dependency of something else.
 */
export function planRuntimeExclusion(distributions: readonly Distribution[]): RuntimeExclusionPlan {
  const present = new Map(distributions.map((d) => [d.key, d]));
  if (!present.has('botocore')) return { excluded: [], keptBecause: [], pinned: [] };

  const excluded = new Set<string>([...RUNTIME_CORE_PACKAGES, ...RUNTIME_CONDITIONAL_PACKAGES].filter((name) => present.has(name)));
  const requirementsOf = new Map(distributions.map((d) => [d.key, requiredDistributions(d.requires)]));
  const requiredBy = new Map<RuntimeConditionalPackage, Set<string>>();

  // A conditional package kept for one distribution can keep another (pandas keeps
  // python-dateutil, which keeps six), so repeat until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const dist of distributions) {
      if (excluded.has(dist.key)) continue;
      for (const requirement of requirementsOf.get(dist.key) ?? []) {
        if (!CONDITIONAL.has(requirement.name) || !present.has(requirement.name)) continue;
        const name = requirement.name as RuntimeConditionalPackage;
        const by = requiredBy.get(name) ?? new Set<string>();
        by.add(dist.key);
        requiredBy.set(name, by);
        if (excluded.delete(name)) changed = true;
      }
    }
  }

  const keptBecause = RUNTIME_CONDITIONAL_PACKAGES.filter((name) => requiredBy.has(name)).map(
    (name): KeptRuntimePackage => ({ name, requiredBy: [...requiredBy.get(name)!].sort() }),
  );
  const pinned: PinnedRuntimePackage[] = [];
  for (const dist of distributions) {
    if (excluded.has(dist.key)) continue;
    for (const requirement of requirementsOf.get(dist.key) ?? []) {
      if (excluded.has(requirement.name) && requirement.hasVersion) {
        pinned.push({ name: requirement.name, requiredBy: dist.key, requirement: requirement.text });
      }
    }
  }
  pinned.sort((a, b) => compare(a.requiredBy, b.requiredBy) || compare(a.name, b.name));
  return { excluded: [...excluded].sort(), keptBecause, pinned };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The rule that removes every file owned by an excluded distribution (its package, its
 * dist-info, its console scripts). Profile 'safe': the pipeline applies it only when the user
 * passes --exclude-runtime-packages.
 */
export function runtimePackagesRule(excluded: readonly string[]): PruneRule {
  const owners = new Set(excluded.map(normalizeDistName));
  return {
    name: RUNTIME_PROVIDED_RULE,
    reason: 'the Lambda Python runtime ships boto3, botocore, s3transfer, jmespath and their dependencies, and the function uses those copies',
    profile: 'safe',
    exceptions: {},
    matches: (file) => owners.has(file.owner),
  };
}
