/**
 * Prune stage: decides which files leave the package, and records the rule behind each removal.
 *
 * Removed installed files are deleted from the temp install folder, so that later stages (import
 * checks, bytecode) see exactly what ships. The function folder is never touched: its removals
 * only keep files out of the zip.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { GlobSet } from '../glob.js';
import { normalizeDistName } from '../python-names.js';
import { USER_EXCLUDE_RULE, rulesForProfile, type PruneRule, type RuleTarget } from '../rules/registry.js';
import { compareZipPaths, type Inventory } from './inventory.js';
import type { Distribution, TreeFile } from '../model/files.js';
import type { PruneProfile } from '../model/modes.js';

export interface PruneOptions {
  inventory: Inventory;
  profile: PruneProfile;
  /** --exclude: extra paths to remove, from installed packages and the source alike. */
  exclude: GlobSet;
  /** --keep: paths no rule may remove. It wins over every rule, --exclude included. */
  keep: GlobSet;
  /** The install folder the deps files live in; removals are deleted from it. */
  depsDir: string | null;
  /** Rules beyond the profile's (botocore services, runtime packages), applied first. */
  extraRules?: readonly PruneRule[];
  /**
   * Removals by this rule are moved to `dir` instead of deleted: packages the Lambda runtime
   * provides stay available to the import check, as the runtime's copies are on Lambda.
   */
  setAside?: { rule: string; dir: string };
}

/** One removed (or shrunk) file and the rule responsible. */
export interface Removal {
  file: TreeFile;
  rule: string;
  /** Bytes saved when the file was only shrunk (stripped) rather than removed. */
  savedBytes?: number;
}

/** One file pyslim wrote into the tree, and the rule that wrote it. */
export interface Addition {
  file: TreeFile;
  rule: string;
}

/** Rule name for the top_level.txt pyslim writes when RECORD is pruned (see restoreTopLevel). */
export const TOP_LEVEL_RULE = 'top-level-txt';

export interface PruneResult {
  /** What remains, sorted by path. */
  kept: TreeFile[];
  removed: Removal[];
  /** Files pyslim wrote to keep metadata working after a removal (see restoreTopLevel). */
  added: Addition[];
}

export async function prune(options: PruneOptions): Promise<PruneResult> {
  const { inventory, exclude, keep } = options;
  const rules = [...(options.extraRules ?? []), ...rulesForProfile(options.profile)];
  const present = new Set(inventory.files.filter((f) => f.origin === 'deps').map((f) => f.path));
  const context = { has: (p: string) => present.has(p) };
  const kept: TreeFile[] = [];
  const removed: Removal[] = [];
  for (const file of inventory.files) {
    const rule = keep.match(file.path) ? undefined : ruleFor(file, rules, exclude, context);
    if (rule) removed.push({ file, rule });
    else kept.push(file);
  }
  if (options.depsDir) await deleteRemovals(removed, options.depsDir, options.setAside);
  const added = options.depsDir ? await restoreTopLevel(options.depsDir, inventory.distributions, removed) : [];
  return { kept: [...kept, ...added.map((a) => a.file)].sort((a, b) => compareZipPaths(a.path, b.path)), removed, added };
}

/** The name of the first rule that removes the file, or undefined to keep it. */
export function ruleFor(
  file: TreeFile,
  rules: readonly PruneRule[],
  exclude: GlobSet,
  context: { has(path: string): boolean },
): string | undefined {
  if (exclude.match(file.path)) return USER_EXCLUDE_RULE;
  if (file.origin !== 'deps') return undefined;
  const target: RuleTarget = { path: file.path, segments: file.path.split('/'), owner: file.owner };
  return rules.find((rule) => !Object.hasOwn(rule.exceptions, file.owner) && rule.matches(target, context))?.name;
}

async function deleteRemovals(removed: readonly Removal[], depsDir: string, setAside: PruneOptions['setAside']): Promise<void> {
  const deps = removed.filter((r) => r.file.origin === 'deps');
  const remove = async (r: Removal) => {
    if (r.rule !== setAside?.rule) return fs.rm(r.file.abs, { force: true });
    const target = path.join(setAside.dir, path.relative(depsDir, r.file.abs));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(r.file.abs, target);
  };
  // Deleting thousands of files one by one is I/O bound; a small pool keeps it quick.
  for (let i = 0; i < deps.length; i += 64) await Promise.all(deps.slice(i, i + 64).map(remove));
}

/**
 * `importlib.metadata.packages_distributions()` falls back to RECORD for distributions whose
 * wheel has no top_level.txt. When RECORD is pruned, pyslim writes the top_level.txt it inferred
 * from RECORD, so that the mapping keeps working on Lambda.
 */
async function restoreTopLevel(depsDir: string, distributions: readonly Distribution[], removed: readonly Removal[]): Promise<Addition[]> {
  const removedPaths = new Set(removed.filter((r) => r.file.origin === 'deps').map((r) => r.file.path));
  const added: Addition[] = [];
  for (const dist of distributions) {
    if (dist.hasTopLevelFile || dist.topLevel.length === 0 || !removedPaths.has(`${dist.distInfo}/RECORD`)) continue;
    if (removedPaths.has(`${dist.distInfo}/METADATA`)) continue; // the whole distribution is gone
    const zipPath = `${dist.distInfo}/top_level.txt`;
    const abs = path.join(depsDir, dist.distInfo, 'top_level.txt');
    const content = `${dist.topLevel.join('\n')}\n`;
    await fs.writeFile(abs, content);
    added.push({ file: { path: zipPath, abs, size: Buffer.byteLength(content), executable: false, owner: normalizeDistName(dist.name), origin: 'deps' }, rule: TOP_LEVEL_RULE });
  }
  return added;
}
