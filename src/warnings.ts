/**
 * Non-fatal findings. The library returns them in the report; the CLI prints them.
 * Each code has a one-line explanation of why it matters.
 */

export const WARNING_CODES = {
  SOURCE_SHADOWS_PACKAGE: 'a file of the function has the same path as an installed file; the function\'s file is packaged',
  DIRECT_UPLOAD_LIMIT: 'the zip is over 50 MB, Lambda\'s limit for direct upload; deploy it through S3',
  NO_TARGET_INTERPRETER: 'no Python matching the runtime was available, so some checks were limited',
  OPTION_IGNORED: 'an option had no effect on this build',
  RUNTIME_PACKAGES_EXCLUDED: 'packages the Lambda runtime provides were left out; the runtime\'s versions will be used',
  RUNTIME_PACKAGE_KEPT: 'a package the Lambda runtime provides was kept because another package requires it; the runtime\'s botocore imports this copy instead of its own',
  RUNTIME_VERSION_PINNED: 'a kept package asks for a version range of a package left out for the runtime; the runtime\'s version may not satisfy it',
  BOTO_SERVICES_HINT: 'botocore ships data for every AWS service; --boto-services keeps only the ones the function uses',
  BYTECODE_NONE: 'no bytecode was compiled, so every cold start compiles the imported modules',
  SOURCES_REMOVED: 'sources were replaced by bytecode; tracebacks lose their source lines',
  REMOTE_CACHE: 'the remote cache could not be used, or one of its entries failed verification; the build went on as without it',
  VERSION_MISMATCH: 'a layer provides a different version of a package than the requirements ask for',
} as const;

export type WarningCode = keyof typeof WARNING_CODES;

export interface BuildWarning {
  code: WarningCode;
  /** The specific finding, in one line. */
  message: string;
}
