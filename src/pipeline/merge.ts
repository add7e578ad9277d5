/**
 * Merge stage: the dependency layer's files and the function's own, as one tree. A file of the
 * function with the same path as an installed file replaces it, as the hand-rolled recipe's
 * `zip -g` would; the installed file counts as removed by SHADOWED_RULE.
 */
import type { TreeFile } from '../model/files.js';
import type { BuildWarning } from '../warnings.js';
import type { Removal } from './prune.js';

/** Rule name for installed files that a file of the function replaces at the same path. */
export const SHADOWED_RULE = 'shadowed-by-source';

/** The merged tree, sorted by path, and the installed files the function's files replaced. */
export function mergeTrees(deps: readonly TreeFile[], source: readonly TreeFile[], warnings: BuildWarning[]): { files: TreeFile[]; shadowed: Removal[] } {
  const byName = new Map<string, TreeFile>();
  const shadowed: Removal[] = [];
  for (const file of [...deps, ...source].sort(byPath)) {
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

const byPath = (a: TreeFile, b: TreeFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
