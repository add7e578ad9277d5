/**
 * pyslim's library API. `build()` returns the same report object that `--json` writes; nothing
 * here prints. Progress arrives through `onProgress`, non-fatal findings in `report.warnings`,
 * and failures as a `PyslimError` with a code and a hint.
 */
import { diffReports, readComparable, type Comparable, type SizeDiff } from './inspect/diff.js';
import { inspectZip, type InspectOptions, type InspectReport } from './inspect/inspect.js';

export { build } from './pipeline/build.js';
export type { BuildOptions } from './model/options.js';
export type { ProgressEvent } from './model/progress.js';
export type { BuildReport, PackageReport, RuleTotal, TrimSummary, InitProfile, Advice, AdviceFinding, MemoryInit, Arm64Readiness } from './model/report.js';
export { doctorZip as doctor, type DoctorZipOptions, type ZipAdvice } from './advisor/advise-zip.js';
export type { BudgetCheck, BudgetResult, Suggestion } from './model/budget.js';
export type { InspectReport, InspectPackage, InspectOptions } from './inspect/inspect.js';
export type { SizeDiff, PackageDelta, SizeSnapshot } from './inspect/diff.js';
export { profileZip as profile, type ProfileZipOptions, type ZipProfile } from './inspect/profile-zip.js';
export { PyslimError, ERROR_CODES, type ErrorCode, type ErrorKind } from './errors.js';
export { WARNING_CODES, type BuildWarning, type WarningCode } from './warnings.js';
export { RUNTIMES, ARCHITECTURES, manylinuxTags, lambdaImage, type RuntimeName, type ArchName } from './runtimes.js';
export { EXIT_CODES } from './exit-codes.js';
export { parseSize } from './size.js';

/** Per-package sizes, compressed and unzipped, of any Lambda zip (pyslim's or another tool's). */
export function inspect(zip: string, options?: InspectOptions): Promise<InspectReport> {
  return inspectZip(zip, options);
}

/**
 * Per-package deltas between two builds. Each side is a zip path, a JSON report path (from
 * `--json` or `pyslim inspect --json`), or a report object from `build()` or `inspect()`.
 */
export async function diff(before: string | Comparable, after: string | Comparable): Promise<SizeDiff> {
  const load = async (side: string | Comparable) => (typeof side === 'string' ? readComparable(side) : side);
  return diffReports(await load(before), await load(after));
}
