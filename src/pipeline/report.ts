/**
 * Report stage: the one report object that the terminal table, the JSON file and the library
 * API all show. It only does arithmetic over what the other stages recorded.
 */
import { checkBudgets } from './budget.js';
import type { Inventory } from './inventory.js';
import type { PruneResult } from './prune.js';
import type { BudgetLimits } from '../model/budget.js';
import { SOURCE_OWNER, type TreeFile, UNATTRIBUTED } from '../model/files.js';
import { type Accounting, type BuildReport, type DeprecatedSizes, type PackageReport, REPORT_SCHEMA_VERSION, type RuleTotal, type TrimSummary } from '../model/report.js';

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
    | 'trace'
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
  installedFiles: number;
  installedBytes: number;
  shippedFiles: number;
  shippedBytes: number;
  zipBytes: number;
  removed: Map<string, RuleTotal>;
  added: Map<string, RuleTotal>;
}

const emptyTally = (): Tally => ({ installedFiles: 0, installedBytes: 0, shippedFiles: 0, shippedBytes: 0, zipBytes: 0, removed: new Map(), added: new Map() });

/** Counts one file under a rule; a shrunk file (savedBytes set) counts its bytes but stays a shipped file. */
function addToRule(totals: Map<string, RuleTotal>, rule: string, bytes: number, shrunk: boolean): void {
  const total = totals.get(rule) ?? { name: rule, files: 0, bytes: 0 };
  if (shrunk) total.shrunkFiles = (total.shrunkFiles ?? 0) + 1;
  else total.files += 1;
  total.bytes += bytes;
  totals.set(rule, total);
}

/** The base64 form of a hex SHA-256, as Lambda reports CodeSha256. */
export function codeSha256(sha256Hex: string): string {
  return Buffer.from(sha256Hex, 'hex').toString('base64');
}

const bySizeThenName = (a: RuleTotal, b: RuleTotal) => b.bytes - a.bytes || a.name.localeCompare(b.name);

/** A tally as the report shows it, with the schema-1 names beside the new ones. */
function summarize(t: Tally): Accounting & DeprecatedSizes {
  return {
    installedFiles: t.installedFiles,
    installedBytes: t.installedBytes,
    removed: [...t.removed.values()].sort(bySizeThenName),
    added: [...t.added.values()].sort(bySizeThenName),
    shippedFiles: t.shippedFiles,
    shippedBytes: t.shippedBytes,
    zipBytes: t.zipBytes,
    filesBefore: t.installedFiles,
    filesAfter: t.shippedFiles,
    bytesBefore: t.installedBytes,
    bytesAfter: t.shippedBytes,
  };
}

export function createReport(input: ReportInput): BuildReport {
  const tallies = new Map<string, Tally>();
  const tally = (owner: string) => {
    let t = tallies.get(owner);
    if (!t) tallies.set(owner, (t = emptyTally()));
    return t;
  };
  const total = emptyTally();

  for (const file of input.inventory.files) {
    for (const t of [tally(file.owner), total]) {
      t.installedFiles += 1;
      t.installedBytes += file.size;
    }
  }
  for (const { file, rule, savedBytes } of input.pruned.removed) {
    for (const t of [tally(file.owner), total]) addToRule(t.removed, rule, savedBytes ?? file.size, savedBytes !== undefined);
  }
  for (const { file, rule } of input.pruned.added) {
    for (const t of [tally(file.owner), total]) addToRule(t.added, rule, file.size, false);
  }
  for (const file of input.zipped) {
    const zipBytes = input.compressedSizes.get(file.path) ?? 0;
    for (const t of [tally(file.owner), total]) {
      t.shippedFiles += 1;
      t.shippedBytes += file.size;
      t.zipBytes += zipBytes;
    }
  }

  const packages = input.inventory.distributions
    .map((dist): PackageReport => ({ name: dist.name, version: dist.version, ...summarize(tallies.get(dist.key) ?? emptyTally()) }))
    .sort((a, b) => b.shippedBytes - a.shippedBytes || a.name.localeCompare(b.name));
  const { filesBefore, filesAfter, bytesBefore, bytesAfter, ...source } = summarize(tallies.get(SOURCE_OWNER) ?? emptyTally());
  const totals = summarize(total);

  const report: Omit<BuildReport, 'budgets' | 'input' | 'cache' | 'advice'> = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    pyslimVersion: input.pyslimVersion,
    runtime: input.runtime,
    arch: input.arch,
    installer: input.installer,
    installerReason: input.installerReason,
    requirements: input.requirements,
    container: input.container,
    output: input.output,
    packages,
    unattributed: summarize(tallies.get(UNATTRIBUTED) ?? emptyTally()),
    source: {
      ...source,
      files: source.shippedFiles,
      bytes: source.shippedBytes,
      excluded: input.inventory.sourceExclusions.map(({ path, rule }) => ({ path, rule })),
    },
    totals,
    rules: totals.removed,
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
    trace: input.trace,
    warnings: input.warnings,
  };
  const budgets = checkBudgets(report, input.budgetLimits, input.zipped);
  const { timings, trace, warnings, ...head } = report;
  // budgets sits beside budget in the JSON, before timings, trace and warnings.
  return { ...head, budgets, input: null, cache: null, advice: null, timings, trace, warnings };
}
