/**
 * Report stage: the one report object that the terminal table, the JSON file and the library
 * API all show. It only does arithmetic over what the other stages recorded.
 */
import { checkBudgets } from './budget.js';
import type { Inventory } from './inventory.js';
import type { PruneResult } from './prune.js';
import type { BudgetLimits } from '../model/budget.js';
import { SOURCE_OWNER, type TreeFile, UNATTRIBUTED } from '../model/files.js';
import type { BuildReport, PackageReport, RuleTotal, TrimSummary } from '../model/report.js';

/** What the other stages recorded; the fields named like the report's are copied into it. */
export interface ReportInput
  extends Pick<
    BuildReport,
    | 'pyslimVersion'
    | 'runtime'
    | 'arch'
    | 'installer'
    | 'installerReason'
    | 'requirements'
    | 'container'
    | 'output'
    | 'profile'
    | 'layer'
    | 'withLayers'
    | 'strip'
    | 'native'
    | 'verify'
    | 'bytecode'
    | 'init'
    | 'timings'
    | 'warnings'
  > {
  inventory: Inventory;
  pruned: PruneResult;
  /** The files that went into the zip. */
  zipped: readonly TreeFile[];
  compressedSizes: ReadonlyMap<string, number>;
  budgetBytes: number | null;
  budgetLimits: BudgetLimits;
  trim: TrimSummary;
}

interface Tally {
  filesBefore: number;
  filesAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  zipBytes: number;
  removed: Map<string, RuleTotal>;
}

const emptyTally = (): Tally => ({ filesBefore: 0, filesAfter: 0, bytesBefore: 0, bytesAfter: 0, zipBytes: 0, removed: new Map() });

function addRemoval(totals: Map<string, RuleTotal>, rule: string, bytes: number): void {
  const total = totals.get(rule) ?? { name: rule, files: 0, bytes: 0 };
  total.files += 1;
  total.bytes += bytes;
  totals.set(rule, total);
}

const bySizeThenName = (a: RuleTotal, b: RuleTotal) => b.bytes - a.bytes || a.name.localeCompare(b.name);

export function createReport(input: ReportInput): BuildReport {
  const tallies = new Map<string, Tally>();
  const tally = (owner: string) => {
    let t = tallies.get(owner);
    if (!t) tallies.set(owner, (t = emptyTally()));
    return t;
  };
  const rules = new Map<string, RuleTotal>();

  for (const file of input.inventory.files) {
    const t = tally(file.owner);
    t.filesBefore += 1;
    t.bytesBefore += file.size;
  }
  for (const { file, rule, savedBytes } of input.pruned.removed) {
    addRemoval(tally(file.owner).removed, rule, savedBytes ?? file.size);
    addRemoval(rules, rule, savedBytes ?? file.size);
  }
  for (const file of input.zipped) {
    const t = tally(file.owner);
    t.filesAfter += 1;
    t.bytesAfter += file.size;
    t.zipBytes += input.compressedSizes.get(file.path) ?? 0;
  }

  const summary = (t: Tally) => ({
    filesBefore: t.filesBefore,
    filesAfter: t.filesAfter,
    bytesBefore: t.bytesBefore,
    bytesAfter: t.bytesAfter,
    zipBytes: t.zipBytes,
    removed: [...t.removed.values()].sort(bySizeThenName),
  });
  const packages = input.inventory.distributions
    .map((dist): PackageReport => ({ name: dist.name, version: dist.version, ...summary(tallies.get(dist.key) ?? emptyTally()) }))
    .sort((a, b) => b.bytesAfter - a.bytesAfter || a.name.localeCompare(b.name));
  const source = tallies.get(SOURCE_OWNER) ?? emptyTally();
  const all = [...tallies.values()];
  const sum = (pick: (t: Tally) => number) => all.reduce((n, t) => n + pick(t), 0);

  const report: Omit<BuildReport, 'budgets' | 'input' | 'cache' | 'advice'> = {
    pyslimVersion: input.pyslimVersion,
    runtime: input.runtime,
    arch: input.arch,
    installer: input.installer,
    installerReason: input.installerReason,
    requirements: input.requirements,
    container: input.container,
    output: input.output,
    packages,
    unattributed: summary(tallies.get(UNATTRIBUTED) ?? emptyTally()),
    source: {
      files: source.filesAfter,
      bytes: source.bytesAfter,
      zipBytes: source.zipBytes,
      excluded: input.inventory.sourceExclusions.map(({ path, rule }) => ({ path, rule })),
    },
    totals: {
      filesBefore: sum((t) => t.filesBefore),
      filesAfter: sum((t) => t.filesAfter),
      bytesBefore: sum((t) => t.bytesBefore),
      bytesAfter: sum((t) => t.bytesAfter),
    },
    rules: [...rules.values()].sort(bySizeThenName),
    profile: input.profile,
    runtimePackages: input.trim.runtimePackages,
    botoServices: input.trim.botoServices,
    layer: input.layer,
    withLayers: input.withLayers,
    strip: input.strip,
    native: input.native,
    verify: input.verify,
    bytecode: input.bytecode,
    init: input.init,
    budget: input.budgetBytes === null ? null : { limitBytes: input.budgetBytes, ok: input.output.bytes <= input.budgetBytes },
    timings: input.timings,
    warnings: input.warnings,
  };
  const budgets = checkBudgets(report, input.budgetLimits, input.zipped);
  const { timings, warnings, ...head } = report;
  // budgets sits beside budget in the JSON, before timings and warnings.
  return { ...head, budgets, input: null, cache: null, advice: null, timings, warnings };
}
