/**
 * The build report: the one object that `build()` returns, `--json` writes, and the table, the
 * markdown summary, budgets and diffs read. Types only; src/pipeline/report.ts builds it.
 */
import type { ArchName, RuntimeName } from '../runtimes.js';
import type { BuildWarning } from '../warnings.js';
import type { BudgetResult } from './budget.js';
import type { BytecodeMode, InstallerKind, PruneProfile, StripMode } from './modes.js';

/** The report's schema version: 2 adds the installed/removed/added/shipped accounting and output.codeSha256. */
export const REPORT_SCHEMA_VERSION = 2;

/** What one rule removed (or, in `added`, wrote). */
export interface RuleTotal {
  name: string;
  /** Files taken out (in `added`: files written). A file a rule only shrinks (strip) is not counted here. */
  files: number;
  /** Bytes taken out, shrinking included (in `added`: bytes written). */
  bytes: number;
  /** Files shrunk in place (strip rules); they still ship. */
  shrunkFiles?: number;
}

/**
 * Where a package's bytes went, in unzipped bytes and files. It always holds that
 * installed − Σ removed + Σ added = shipped, for bytes and for files.
 */
export interface Accounting {
  /** What the installer put there (for (source): the function folder after the source rules), before pyslim touched it. */
  installedFiles: number;
  installedBytes: number;
  /** What each rule removed, largest first. */
  removed: RuleTotal[];
  /** What pyslim wrote, by rule (`bytecode`: unchecked-hash .pyc; `top-level-txt`: metadata kept working), largest first. */
  added: RuleTotal[];
  /** What ships in the zip. */
  shippedFiles: number;
  shippedBytes: number;
  /** Compressed bytes of these entries inside the zip. */
  zipBytes: number;
}

/** Fields of schema version 1, kept with the same values: filesBefore = installedFiles, bytesAfter = shippedBytes, … */
export interface DeprecatedSizes {
  /** @deprecated installedFiles */
  filesBefore: number;
  /** @deprecated shippedFiles */
  filesAfter: number;
  /** @deprecated installedBytes */
  bytesBefore: number;
  /** @deprecated shippedBytes */
  bytesAfter: number;
}

/** Sizes are unzipped content bytes unless the field says otherwise. */
export interface PackageReport extends Accounting, DeprecatedSizes {
  name: string;
  version: string;
}

/** What --exclude-runtime-packages and --boto-services decided. */
export interface TrimSummary {
  runtimePackages: { excluded: string[]; keptBecause: KeptRuntimePackage[] } | null;
  botoServices: { kept: string[]; implied: ImpliedService[]; aliased: AliasedService[] } | null;
  /** Packages left out because a layer (--with-layer) provides them. */
  layerProvided: string[] | null;
}

/** A runtime-provided package that stays in the zip, and the kept distributions that require it. */
export interface KeptRuntimePackage {
  /** Normalized name: python-dateutil, six or urllib3. */
  name: string;
  /** Normalized names of the kept distributions whose Requires-Dist names it, sorted. */
  requiredBy: string[];
}

/** A service kept although it was not requested. */
export interface ImpliedService {
  /** botocore service folder name. */
  service: string;
  /** Who needs it, in one line. */
  why: string;
}

/** A requested name that is not a folder name, and the service folder it stands for. */
export interface AliasedService {
  /** The name as the user wrote it, lower-cased and trimmed. */
  requested: string;
  /** botocore service folder name (the name boto3.client() takes). */
  service: string;
  why: string;
}

/** What the report says about the container, when one ran. */
export interface ContainerInfo {
  engine: string;
  engineVersion: string;
  image: string;
  /** The engine's local id of the image, when it has one. */
  imageId: string | undefined;
  platform: string;
  user: string;
}

/** What the audit found, for the report. */
export interface NativeSummary {
  /** Shared objects read. */
  sharedObjects: number;
  /** The newest glibc any of them needs, or null when none needs a versioned glibc symbol. */
  maxGlibc: string | null;
  /** The file that needs maxGlibc. */
  maxGlibcFile: string | null;
}

export interface VerifySummary {
  /** The interpreter that ran the check, or null when none was available. */
  interpreter: string | null;
  /** Modules imported successfully (in this build, or in the build that cached the layer). */
  modules: string[];
  /** Of those, the ones not imported again because the cached layer's check still holds. */
  reused: string[];
  /** The handler checked (module.function), or null. */
  handler: string | null;
  /** Modules not imported, with why. */
  skipped: { module: string; reason: string }[];
  /** Set when the check could not run or was limited, with why. */
  limited: string | null;
}

/** The `init` section of the report. */
export interface InitProfile {
  interpreter: string;
  handler: string;
  runs: number;
  /** Median wall time of importing the handler module. */
  totalMs: number;
  /** Median self time per distribution, largest first; (source) and (stdlib) included. */
  packages: { name: string; ms: number; share: number }[];
  /** The costliest modules (median self time). */
  modules: { module: string; package: string; ms: number }[];
  /** Module-level imports of the handler that only some code paths use (or none). */
  deferrable: { module: string; package: string; names: string[]; usage: 'some-paths' | 'unused'; ms: number }[];
}

/** One finding of the cold-start advisor, on the function's own code. */
export interface AdviceFinding {
  /** A code from the advisor's catalogue (src/advisor/catalogue.ts). */
  code: string;
  /** Path inside the zip, and the 1-based line. */
  file: string;
  line: number;
  /** The statement's first line, as written. */
  statement: string;
  /** What the finding is about: the call (boto3.client, requests.get) or the module imported. */
  subject: string;
  /** Why it costs, in one line. */
  reason: string;
  /** What to do about it, in one line. */
  fix: string;
  /** The statement's measured init time at the host's full CPU, when it was measured. */
  ms: number | null;
}

/** Init at one Lambda memory setting. */
export interface MemoryInit {
  memoryMb: number;
  /** Lambda's CPU share at this setting: memory / 1,769 MB. */
  vcpu: number;
  /** Median init (import of the handler module); null when every run passed the timeout. */
  initMs: number | null;
  /** Every run's init, in ms (empty for an estimate). */
  samplesMs: number[];
  /** True when no CPU quota could be applied and initMs is the host figure scaled by the share. */
  estimated: boolean;
  /** Over Lambda's 10 s INIT limit: the function would fail to start at this setting. */
  overInitLimit: boolean;
  /** Billed INIT: memory in GB × init in seconds. */
  gbSeconds: number | null;
  /** Dollars per million cold starts, for the INIT phase alone. */
  usdPerMillion: number | null;
}

/** Whether an x86_64 function could switch to arm64: a wheel for every distribution. */
export interface Arm64Readiness {
  ready: boolean;
  /** Distributions in the zip, and how many of them are pure Python. */
  distributions: number;
  pure: number;
  /** Those with no arm64 wheel of the same version for the runtime (manylinux aarch64 within its glibc). */
  missing: { name: string; version: string; tags: string[] }[];
  /** Set when the check could not run, with why. */
  note: string | null;
}

/** The `advice` section (pyslim doctor, pyslim build --advise). */
export interface Advice {
  handler: string;
  interpreter: string;
  runtime: RuntimeName;
  arch: ArchName;
  /** Fresh interpreters per memory setting (and for the line timing). */
  runs: number;
  /** How the CPU share was applied; method null (and note set) when it could not be, so every figure is an estimate. */
  quota: { method: 'cgroup-v2' | 'cgroup-v1' | null; note: string | null };
  /** Median init at the host's full CPU, no quota. */
  hostInitMs: number;
  memory: MemoryInit[];
  /** The cheapest setting whose init is within marginPercent of the fastest; null when none was measured. */
  recommendation: { memoryMb: number; initMs: number; usdPerMillion: number; marginPercent: number; reason: string } | null;
  /** The price the dollars come from. */
  price: { arch: ArchName; usdPerGbSecond: number; region: string; source: string; date: string };
  /** The slowest top-level statements of the function's own modules (median self time at the host's full CPU). */
  statements: { file: string; line: number; statement: string; ms: number; selfMs: number }[];
  /** Checks on the function's code, SnapStart hazards (codes SNAPSTART_*) included. */
  findings: AdviceFinding[];
  /** SnapStart for Python: what blocks it for this function. */
  snapStart: { supported: boolean; blockers: string[] };
  /** arm64 readiness, for an x86_64 function (null on arm64). */
  arm64: Arm64Readiness | null;
}

/**
 * How the resolved versions in the key were found: from the hash lock itself, reused from the
 * function's last build because the requirements pin every distribution, reused because
 * everything pip read for it is unchanged (revalidated), or asked of pip.
 */
export type Resolution = 'locked' | 'pinned' | 'revalidated' | 'pip';

/** Whether the layer came from the cache, and why it did not. */
export interface CacheStatus {
  status: 'hit' | 'miss' | 'disabled';
  /** Why it missed (or 'hit'). */
  reason: string;
  /** How the key's resolved versions were found; null with the cache off (nothing is resolved ahead). */
  resolution: Resolution | null;
  /** When pip resolved: why the last build's resolution could not be reused. */
  resolutionReason: string | null;
  key: string | null;
  dir: string | null;
  /** Per stage: hit (reused), miss (ran), or ran (not cached: the function's own files). */
  stages: Record<string, 'hit' | 'miss' | 'ran'>;
  /** Zip entries copied from the cache as they were, and compressed in this build. */
  reusedEntries: number;
  compressedEntries: number;
  /** The remote cache (--remote-cache), or null without one. */
  remote: RemoteCacheStatus | null;
}

/** What the remote cache did in this build. */
export interface RemoteCacheStatus {
  /** s3://bucket/prefix. */
  url: string;
  readOnly: boolean;
  /**
   * hit (downloaded and verified), miss (no entry), rejected (an entry failed verification: see
   * lookupReason), or skipped (not asked: the local cache had it, or the store is unusable).
   */
  lookup: 'hit' | 'miss' | 'rejected' | 'skipped';
  lookupReason: string | null;
  /** uploaded after a miss, or skipped (a hit, read-only, or the store is unusable: see uploadReason). */
  upload: 'uploaded' | 'skipped';
  uploadReason: string | null;
  bytesDownloaded: number;
  bytesUploaded: number;
  downloadSeconds: number;
  uploadSeconds: number;
}

export interface BuildReport {
  /** REPORT_SCHEMA_VERSION: bumped when a field changes meaning or goes away. */
  schemaVersion: number;
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
    /** SHA-256 of the zip file, hex. */
    sha256: string;
    /** The same digest in base64: Lambda's CodeSha256, Terraform's source_code_hash, `aws lambda publish-version --code-sha256`. */
    codeSha256: string;
  };
  /** Installed distributions, largest shipped first. */
  packages: PackageReport[];
  /** Installed files no distribution's RECORD claims. */
  unattributed: Omit<PackageReport, 'name' | 'version'>;
  /** The function's own files, and what the source rules left out before the inventory. */
  source: Accounting & {
    /** @deprecated shippedFiles */
    files: number;
    /** @deprecated shippedBytes */
    bytes: number;
    excluded: { path: string; rule: string }[];
  };
  /** Everything installed plus the source. shippedBytes equals output.unzippedBytes. */
  totals: Accounting & DeprecatedSizes;
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
  /** The cold-start advisor (--advise), or null. */
  advice: Advice | null;
  /** The --budget check on the zip's size, or null without one. */
  budget: { limitBytes: number; ok: boolean } | null;
  /** Every size check (--budget, --budget-unzipped, --budget-package, Lambda's 250 MiB), contributors and what would cut them. */
  budgets: BudgetResult;
  /** Milliseconds per stage. */
  timings: Record<string, number>;
  /** Where a build's time went: wall and CPU per stage run, in the order they started. */
  trace: BuildTrace;
  warnings: BuildWarning[];
  /** The dependency input: its kind, the files read, and the set pip resolved (name==version), or null without one. */
  input: { kind: string; files: string[]; requireHashes: boolean; resolved: string[]; localPaths: string[] } | null;
  /** The dependency cache: hit or miss and why, per stage, and how many zip entries were reused. */
  cache: CacheStatus | null;
  /** The build's temp folder, only when it was kept (--keep-temp). */
  workDir?: string;
}

/**
 * One run of a stage. CPU is what the process used while the stage ran: stages that overlap (the
 * function's compile beside the dependency layer) each count the CPU of both.
 */
export interface StageTrace {
  stage: string;
  /** Milliseconds from the build's start. */
  startMs: number;
  wallMs: number;
  /** CPU of the pyslim process itself (user + system). */
  cpuMs: number;
  /** CPU of the subprocesses (pip, python) that ended meanwhile; null where the OS does not say (not Linux). */
  childCpuMs: number | null;
}

export interface BuildTrace {
  /** The whole build, from configuration resolved to the zip published. */
  wallMs: number;
  cpuMs: number;
  childCpuMs: number | null;
  /** The pyslim process's peak resident memory (its subprocesses not included). */
  peakRssBytes: number;
  stages: StageTrace[];
}
