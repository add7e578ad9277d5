/**
 * `pyslim diff a.zip b.zip` and `--compare`: per-package size deltas between two builds.
 *
 * Both sides are first reduced to one comparable shape, a SizeSnapshot, so that a zip from any
 * tool, an inspect report and a pyslim build report (its JSON) compare alike. Packages match on
 * their normalized name.
 */
import { promises as fs } from 'node:fs';
import { PyslimError } from '../errors.js';
import { normalizeDistName } from '../python-names.js';
import { inspectZip, type InspectOptions, type InspectReport, type SizeTally } from './inspect.js';
import type { BuildReport } from '../model/report.js';

/** One package's size in a snapshot. */
export interface SnapshotPackage extends SizeTally {
  name: string;
  /** Normalized name, the key packages match on. */
  key: string;
  version: string;
  /** The part of `bytes` that is bytecode (.pyc), when the side tells it (schema-1 build reports do not). */
  bytecodeBytes?: number;
}

/** The comparable shape of one build: packages, the rest, and totals. */
export interface SizeSnapshot {
  kind: 'size-snapshot';
  /** What it was read from, e.g. the zip's or report's path. */
  label: string;
  from: 'zip' | 'build-report';
  /** By normalized name; a package found under two package roots is summed. */
  packages: SnapshotPackage[];
  /**
   * Bytes in no package: the function's own code and files no metadata claims. A build report's
   * source and unattributed files are summed here, because inspecting its zip could not tell
   * them apart.
   */
  other: SizeTally;
  /** Packages plus other. */
  totals: SizeTally;
  /** Size of the zip file, when known. */
  zipFileBytes: number | null;
}

/** Anything diffReports accepts. */
export type Comparable = SizeSnapshot | InspectReport | BuildReport;

/** A size before and after; `delta` is after minus before. */
export interface Change {
  before: number;
  after: number;
  delta: number;
}

export interface SizeChanges {
  files: Change;
  bytes: Change;
  zipBytes: Change;
}

export type PackageStatus = 'added' | 'removed' | 'changed' | 'unchanged';

export interface PackageDelta extends SizeChanges {
  /** The name as the newer side spells it (the older side's, for a removed package). */
  name: string;
  key: string;
  status: PackageStatus;
  /** Null when the package is absent on that side. */
  versionBefore: string | null;
  versionAfter: string | null;
  /** True when the package changed only by its bytecode: same version, and the unzipped delta is all .pyc. */
  bytecodeOnly: boolean;
}

/** What `pyslim diff --json` writes. */
export interface SizeDiff {
  before: { label: string; from: SizeSnapshot['from'] };
  after: { label: string; from: SizeSnapshot['from'] };
  /** Every package of either side, largest absolute unzipped delta first; unchanged ones last. */
  packages: PackageDelta[];
  other: SizeChanges;
  totals: SizeChanges;
  /** The zip files' sizes, when both are known. */
  zipFileBytes: Change | null;
  counts: Record<PackageStatus, number>;
}

/** Reduces an inspect report to a snapshot. */
export function snapshotFromInspect(report: InspectReport): SizeSnapshot {
  return {
    kind: 'size-snapshot',
    label: report.zip.path,
    from: 'zip',
    packages: mergeByKey(report.packages.map((p) => ({ name: p.name, key: p.key, version: p.version, files: p.files, bytes: p.bytes, zipBytes: p.zipBytes, bytecodeBytes: p.bytecode.bytes }))),
    other: pickTally(report.unattributed),
    totals: pickTally(report.totals),
    zipFileBytes: report.zip.bytes,
  };
}

/** Reduces a pyslim build report (the `--json` output) to a snapshot, using the sizes after pruning. */
export function snapshotFromBuildReport(report: BuildReport, label = report.output.path): SizeSnapshot {
  const packages = mergeByKey(
    report.packages.map((p) => ({
      name: p.name,
      key: normalizeDistName(p.name),
      version: p.version,
      // Shipped sizes; schema-1 reports name them filesAfter and bytesAfter, and do not split out bytecode.
      files: p.shippedFiles ?? p.filesAfter,
      bytes: p.shippedBytes ?? p.bytesAfter,
      zipBytes: p.zipBytes,
      ...(p.added ? { bytecodeBytes: p.added.filter((r) => r.name === 'bytecode').reduce((n, r) => n + r.bytes, 0) } : {}),
    })),
  );
  const other: SizeTally = {
    files: report.unattributed.filesAfter + report.source.files,
    bytes: report.unattributed.bytesAfter + report.source.bytes,
    zipBytes: report.unattributed.zipBytes + report.source.zipBytes,
  };
  const sum = (pick: (t: SizeTally) => number) => packages.reduce((n, p) => n + pick(p), pick(other));
  return {
    kind: 'size-snapshot',
    label,
    from: 'build-report',
    packages,
    other,
    totals: { files: sum((t) => t.files), bytes: sum((t) => t.bytes), zipBytes: sum((t) => t.zipBytes) },
    zipFileBytes: report.output.bytes,
  };
}

/** Any comparable to a snapshot. */
export function toSnapshot(value: Comparable): SizeSnapshot {
  if ('kind' in value && value.kind === 'size-snapshot') return value;
  if ('zip' in value) return snapshotFromInspect(value);
  if ('output' in value) return snapshotFromBuildReport(value);
  throw new PyslimError('INVALID_REPORT', 'not a pyslim report or size snapshot');
}

/** Per-package deltas from `a` (before) to `b` (after). */
export function diffReports(a: Comparable, b: Comparable): SizeDiff {
  const before = toSnapshot(a);
  const after = toSnapshot(b);
  const old = new Map(before.packages.map((p) => [p.key, p]));
  const now = new Map(after.packages.map((p) => [p.key, p]));
  const none: SizeTally = { files: 0, bytes: 0, zipBytes: 0 };
  const packages: PackageDelta[] = [];
  for (const key of new Set([...old.keys(), ...now.keys()])) {
    const was = old.get(key);
    const is = now.get(key);
    const changes = changesBetween(was ?? none, is ?? none);
    const status: PackageStatus = !was
      ? 'added'
      : !is
        ? 'removed'
        : was.version !== is.version || changes.files.delta !== 0 || changes.bytes.delta !== 0 || changes.zipBytes.delta !== 0
          ? 'changed'
          : 'unchanged';
    const bytecodeOnly =
      status === 'changed' && was!.version === is!.version && was!.bytecodeBytes !== undefined && is!.bytecodeBytes !== undefined && changes.bytes.delta === is!.bytecodeBytes - was!.bytecodeBytes;
    packages.push({ name: (is ?? was)!.name, key, status, versionBefore: was?.version ?? null, versionAfter: is?.version ?? null, bytecodeOnly, ...changes });
  }
  packages.sort(
    (x, y) =>
      Number(x.status === 'unchanged') - Number(y.status === 'unchanged') ||
      Math.abs(y.bytes.delta) - Math.abs(x.bytes.delta) ||
      Math.abs(y.zipBytes.delta) - Math.abs(x.zipBytes.delta) ||
      x.key.localeCompare(y.key),
  );
  const counts: Record<PackageStatus, number> = { added: 0, removed: 0, changed: 0, unchanged: 0 };
  for (const p of packages) counts[p.status] += 1;
  return {
    before: { label: before.label, from: before.from },
    after: { label: after.label, from: after.from },
    packages,
    other: changesBetween(before.other, after.other),
    totals: changesBetween(before.totals, after.totals),
    zipFileBytes: before.zipFileBytes === null || after.zipFileBytes === null ? null : change(before.zipFileBytes, after.zipFileBytes),
    counts,
  };
}

/** Inspects two zips and diffs them. */
export async function diffZips(aPath: string, bPath: string, options: InspectOptions = {}): Promise<SizeDiff> {
  const [a, b] = await Promise.all([inspectZip(aPath, options), inspectZip(bPath, options)]);
  return diffReports(a, b);
}

/**
 * Reads what `--compare` names: a zip (from any tool), a pyslim build report, an inspect report
 * or a snapshot, told apart by content rather than by extension.
 */
export async function readComparable(file: string, options: InspectOptions = {}): Promise<SizeSnapshot> {
  let head: Buffer;
  try {
    const handle = await fs.open(file, 'r');
    try {
      head = Buffer.alloc(4);
      head = head.subarray(0, (await handle.read(head, 0, 4, 0)).bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new PyslimError('FILE_NOT_FOUND', `not found: ${file}`, { hint: 'Check the path given to --compare' });
    throw error;
  }
  // "PK": a zip (a local header, or the end record of an empty zip).
  if (head.length >= 2 && head[0] === 0x50 && head[1] === 0x4b) return snapshotFromInspect(await inspectZip(file, options));

  const notReport = (why: string) =>
    new PyslimError('INVALID_REPORT', `${file} is not a zip or a pyslim report: ${why}`, {
      hint: 'Pass a zip, or the JSON that pyslim build --json or pyslim inspect --json wrote',
    });
  let value: unknown;
  try {
    value = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (error) {
    throw notReport(`it is not JSON (${(error as Error).message})`);
  }
  if (isBuildReport(value)) return snapshotFromBuildReport(value, file);
  if (isInspectReport(value)) return { ...snapshotFromInspect(value), label: file };
  if (isSnapshot(value)) return value;
  throw notReport('it has none of the fields of a build report, an inspect report or a snapshot');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const areNumbers = (v: Record<string, unknown>, keys: readonly string[]) => keys.every((k) => typeof v[k] === 'number');
const arePackages = (v: unknown, keys: readonly string[]) =>
  Array.isArray(v) && v.every((p) => isObject(p) && typeof p.name === 'string' && typeof p.version === 'string' && areNumbers(p, keys));

function isBuildReport(v: unknown): v is BuildReport {
  return (
    isObject(v) &&
    isObject(v.output) &&
    areNumbers(v.output, ['bytes']) &&
    arePackages(v.packages, ['filesAfter', 'bytesAfter', 'zipBytes']) &&
    isObject(v.unattributed) &&
    areNumbers(v.unattributed, ['filesAfter', 'bytesAfter', 'zipBytes']) &&
    isObject(v.source) &&
    areNumbers(v.source, ['files', 'bytes', 'zipBytes'])
  );
}

function isInspectReport(v: unknown): v is InspectReport {
  return (
    isObject(v) &&
    isObject(v.zip) &&
    areNumbers(v.zip, ['bytes']) &&
    typeof v.zip.path === 'string' &&
    arePackages(v.packages, ['files', 'bytes', 'zipBytes']) &&
    (v.packages as Record<string, unknown>[]).every((p) => typeof p.key === 'string') &&
    isObject(v.unattributed) &&
    areNumbers(v.unattributed, ['files', 'bytes', 'zipBytes']) &&
    isObject(v.totals) &&
    areNumbers(v.totals, ['files', 'bytes', 'zipBytes'])
  );
}

function isSnapshot(v: unknown): v is SizeSnapshot {
  return isObject(v) && v.kind === 'size-snapshot' && arePackages(v.packages, ['files', 'bytes', 'zipBytes']) && isObject(v.other) && isObject(v.totals);
}

function mergeByKey(packages: readonly SnapshotPackage[]): SnapshotPackage[] {
  const merged = new Map<string, SnapshotPackage>();
  for (const p of packages) {
    const seen = merged.get(p.key);
    if (!seen) {
      merged.set(p.key, { ...p });
      continue;
    }
    seen.files += p.files;
    seen.bytes += p.bytes;
    seen.zipBytes += p.zipBytes;
    if (seen.bytecodeBytes !== undefined) seen.bytecodeBytes = p.bytecodeBytes === undefined ? undefined : seen.bytecodeBytes + p.bytecodeBytes;
    if (!seen.version.split(', ').includes(p.version)) seen.version = `${seen.version}, ${p.version}`;
  }
  return [...merged.values()];
}

const pickTally = (t: SizeTally): SizeTally => ({ files: t.files, bytes: t.bytes, zipBytes: t.zipBytes });
const change = (before: number, after: number): Change => ({ before, after, delta: after - before });
const changesBetween = (a: SizeTally, b: SizeTally): SizeChanges => ({
  files: change(a.files, b.files),
  bytes: change(a.bytes, b.bytes),
  zipBytes: change(a.zipBytes, b.zipBytes),
});
