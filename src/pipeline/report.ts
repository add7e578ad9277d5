/**
 * Report stage: the one report object that the terminal table, the JSON file and the library
 * API all show. It only does arithmetic over what the other stages recorded.
 */
import type { InstallerKind } from '../installers/types.js';
import type { PruneProfile } from '../rules/registry.js';
import type { AliasedService, ImpliedService } from '../rules/boto.js';
import type { KeptRuntimePackage } from '../rules/runtime-packages.js';
import type { NativeSummary } from './audit.js';
import { checkBudgets, type BudgetLimits, type BudgetResult } from './budget.js';
import type { CacheStatus } from './deps.js';
import type { ContainerInfo } from './install.js';
import type { StripMode } from './strip.js';
import type { BytecodeMode } from './compile.js';
import type { InitProfile } from './profile.js';
import type { VerifySummary } from './verify.js';
import type { ArchName, RuntimeName } from '../runtimes.js';
import type { BuildWarning } from '../warnings.js';
import { SOURCE_OWNER, UNATTRIBUTED, type Inventory, type TreeFile } from './inventory.js';
import type { PruneResult } from './prune.js';

/** What one rule removed. */
export interface RuleTotal {
  name: string;
  files: number;
  bytes: number;
}

/** Sizes are unzipped content bytes unless the field says otherwise. */
export interface PackageReport {
  name: string;
  version: string;
  filesBefore: number;
  filesAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  /** Compressed bytes of the package's entries inside the zip. */
  zipBytes: number;
  /** What each rule removed from this package, largest first. */
  removed: RuleTotal[];
}

/** What --exclude-runtime-packages and --boto-services decided. */
export interface TrimSummary {
  runtimePackages: { excluded: string[]; keptBecause: KeptRuntimePackage[] } | null;
  botoServices: { kept: string[]; implied: ImpliedService[]; aliased: AliasedService[] } | null;
  /** Packages left out because a layer (--with-layer) provides them. */
  layerProvided: string[] | null;
}

export interface BuildReport {
  pyslimVersion: string;
  runtime: RuntimeName;
  arch: ArchName;
  /** The installer that ran: local, docker, or none when there were no requirements. */
  installer: InstallerKind;
  /** Why that installer ran. */
  installerReason: string;
  /** The requirements file installed, or null. */
  requirements: string | null;
  /** The engine, image and user of the container installer, or null when it did not run. */
  container: ContainerInfo | null;
  output: {
    path: string;
    /** Size of the zip file itself. */
    bytes: number;
    /** Entries in the zip, folders included. */
    entries: number;
    /** Sum of the files' unzipped sizes. */
    unzippedBytes: number;
    sha256: string;
  };
  /** Installed distributions, largest after pruning first. */
  packages: PackageReport[];
  /** Installed files no distribution's RECORD claims. */
  unattributed: Omit<PackageReport, 'name' | 'version'>;
  /** The function's own files that ship, and what the source rules left out. */
  source: { files: number; bytes: number; zipBytes: number; excluded: { path: string; rule: string }[] };
  /** Everything installed plus the source, before and after pruning. bytesAfter equals output.unzippedBytes. */
  totals: { filesBefore: number; filesAfter: number; bytesBefore: number; bytesAfter: number };
  /** Savings by rule, largest first. */
  rules: RuleTotal[];
  /** The prune profile applied. */
  profile: PruneProfile;
  runtimePackages: TrimSummary['runtimePackages'];
  botoServices: TrimSummary['botoServices'];
  /** Whether this zip is a Lambda layer (everything under python/). */
  layer: boolean;
  /** Layers the function runs with (--with-layer): what they provide and weigh. */
  withLayers: { path: string; packages: number; unzippedBytes: number; provides: string[] }[];
  /** What --strip did, or null without it. */
  strip: {
    mode: StripMode;
    tool: string;
    /** Files stripped. */
    files: number;
    savedBytes: number;
    /** Files left unstripped because the stripped copy would not load, with why. */
    refused: { path: string; reason: string }[];
  } | null;
  /** The native-code audit: every shared object matched the architecture and the runtime's glibc. */
  native: NativeSummary;
  /** The import check, or null with --no-verify. */
  verify: VerifySummary | null;
  /** Bytecode shipped: unchecked-hash .pyc compiled by the runtime's interpreter, or none. */
  bytecode: {
    mode: BytecodeMode;
    /** The interpreter that compiled, or null. */
    interpreter: string | null;
    /** .pyc files written, and their bytes. */
    files: number;
    bytes: number;
    /** Files Python cannot compile (they ship as they are). */
    failed: { file: string; error: string }[];
    /** Distributions that kept their sources under `only`. */
    keptSources: string[];
  };
  /** The init-time profile (--profile), or null. */
  init: InitProfile | null;
  /** The --budget check on the zip's size, or null without one. */
  budget: { limitBytes: number; ok: boolean } | null;
  /** Every size check (--budget, --budget-unzipped, --budget-package, Lambda's 250 MiB), contributors and what would cut them. */
  budgets: BudgetResult;
  /** Milliseconds per stage. */
  timings: Record<string, number>;
  warnings: BuildWarning[];
  /** The dependency input: its kind, the files read, and the set pip resolved (name==version), or null without one. */
  input: { kind: string; files: string[]; requireHashes: boolean; resolved: string[]; localPaths: string[] } | null;
  /** The dependency cache: hit or miss and why, per stage, and how many zip entries were reused. */
  cache: CacheStatus | null;
  /** The build's temp folder, only when it was kept (--keep-temp). */
  workDir?: string;
}

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

  const report: Omit<BuildReport, 'budgets' | 'input' | 'cache'> = {
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
  return { ...head, budgets, input: null, cache: null, timings, warnings };
}
