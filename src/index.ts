/**
 * pyslim's library API. `build()` returns the same report object that `--json` writes; it never
 * prints. Progress arrives through `onProgress`, non-fatal findings in `report.warnings`, and
 * failures as a `PyslimError` with a code and a hint.
 */
export { build } from './pipeline/build.js';
export type { BuildOptions, ProgressEvent } from './config.js';
export type { BuildReport, PackageReport, RuleTotal } from './pipeline/report.js';
export { PyslimError, ERROR_CODES, type ErrorCode, type ErrorKind } from './errors.js';
export { WARNING_CODES, type BuildWarning, type WarningCode } from './warnings.js';
export { RUNTIMES, ARCHITECTURES, manylinuxTags, lambdaImage, type RuntimeName, type ArchName } from './runtimes.js';
export { EXIT_CODES } from './cli/exit-codes.js';
export { parseSize } from './size.js';
