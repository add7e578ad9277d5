/**
 * Budgets: the user's size limits, and Lambda's own, checked after the zip is written. A failed
 * budget names the biggest contributors and what would cut them, from the same attribution the
 * per-package table shows.
 */
import { botoDataBytes } from '../rules/boto.js';
import { PRUNE_RULES, type PruneRule } from '../rules/registry.js';
import { RUNTIME_CORE_PACKAGES } from '../rules/runtime-packages.js';
import { normalizeDistName } from '../python-names.js';
import { LAMBDA_UNZIPPED_LIMIT } from '../size.js';
import type { BudgetCheck, BudgetLimits, BudgetResult, Suggestion } from '../model/budget.js';
import type { TreeFile } from '../model/files.js';
import type { BuildReport } from '../model/report.js';

/** Checks every limit; Lambda's 250 MiB unzipped limit (layers included) always. */
export function checkBudgets(
  report: Pick<BuildReport, 'output' | 'packages' | 'source' | 'profile' | 'botoServices' | 'runtimePackages'>,
  limits: BudgetLimits,
  shipped: readonly TreeFile[],
): BudgetResult {
  const checks: BudgetCheck[] = [];
  const unzipped = report.output.unzippedBytes + limits.layersBytes;
  if (limits.zipBytes !== null) checks.push(check('zip', limits.zipBytes, report.output.bytes));
  if (limits.unzippedBytes !== null) checks.push(check('unzipped', limits.unzippedBytes, unzipped));
  for (const { name, limitBytes } of limits.packages) {
    const found = report.packages.find((p) => normalizeDistName(p.name) === normalizeDistName(name));
    checks.push({ ...check('package', limitBytes, found?.bytesAfter ?? 0), name: found?.name ?? name });
  }
  // Lambda refuses a function whose unzipped size, layers included, is over 250 MiB.
  checks.push(check('lambda-unzipped', LAMBDA_UNZIPPED_LIMIT, unzipped));
  const ok = checks.every((c) => c.ok);
  return {
    ok,
    checks,
    contributors: report.packages.slice(0, 5).map((p) => ({ name: p.name, bytes: p.bytesAfter, zipBytes: p.zipBytes })),
    suggestions: ok ? [] : suggestCuts(report, shipped),
  };
}

function check(kind: BudgetCheck['kind'], limitBytes: number, actualBytes: number): BudgetCheck {
  return { kind, limitBytes, actualBytes, ok: actualBytes <= limitBytes };
}

/** What the options pyslim has would save on this build, largest first. */
export function suggestCuts(report: Pick<BuildReport, 'packages' | 'profile' | 'botoServices' | 'runtimePackages'>, shipped: readonly TreeFile[]): Suggestion[] {
  const suggestions: Suggestion[] = [];
  // The AWS SDK part of the set: the generic libraries may have to stay for other packages.
  const sdk = new Set<string>(RUNTIME_CORE_PACKAGES);
  const hasBotocore = report.packages.some((p) => normalizeDistName(p.name) === 'botocore');
  if (!report.runtimePackages && hasBotocore) {
    const bytes = report.packages.filter((p) => sdk.has(normalizeDistName(p.name))).reduce((n, p) => n + p.bytesAfter, 0);
    suggestions.push({ action: '--exclude-runtime-packages (use the boto3 the Lambda runtime provides)', savesBytes: bytes });
  }
  if (!report.botoServices && !report.runtimePackages) {
    const bytes = botoDataBytes(shipped);
    if (bytes > 0) suggestions.push({ action: '--boto-services <the services you call> (botocore models)', savesBytes: bytes });
  }
  if (report.profile !== 'aggressive') {
    const aggressiveOnly = PRUNE_RULES.filter((r) => r.profile === 'aggressive');
    const bytes = shipped.filter((f) => f.origin === 'deps' && matchesAny(f, aggressiveOnly)).reduce((n, f) => n + f.size, 0);
    if (bytes > 0) suggestions.push({ action: '--prune aggressive (licences, docs, translations)', savesBytes: bytes });
  }
  return suggestions.sort((a, b) => b.savesBytes - a.savesBytes);
}

function matchesAny(file: TreeFile, rules: readonly PruneRule[]): boolean {
  const target = { path: file.path, segments: file.path.split('/'), owner: file.owner };
  return rules.some((rule) => !Object.hasOwn(rule.exceptions, file.owner) && rule.matches(target, { has: () => false }));
}
