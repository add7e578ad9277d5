/**
 * The one user-facing error class, and the catalogue of what can go wrong.
 *
 * Every known failure is a PyslimError with a code from ERROR_CODES. The CLI prints its message
 * (what is wrong) and hint (what to do) on one line and maps its kind to an exit code; nothing
 * known ever reaches the user as a stack trace.
 */

/**
 * - usage: the input is wrong (a flag, a path, a config value). Nothing was built.
 * - environment: a tool pyslim needs is missing or unusable (pip, python, the container engine).
 * - build: the inputs are valid but the build failed (no wheel, pip failed, an import broke).
 * - interrupted: the user stopped the build.
 * - internal: a bug in pyslim.
 */
export type ErrorKind = 'usage' | 'environment' | 'build' | 'interrupted' | 'internal';

export const ERROR_CODES = {
  INVALID_OPTION: 'usage',
  DIR_NOT_FOUND: 'usage',
  FILE_NOT_FOUND: 'usage',
  UNKNOWN_RUNTIME: 'usage',
  UNKNOWN_ARCH: 'usage',
  INVALID_SIZE: 'usage',
  INVALID_CONFIG: 'usage',
  INVALID_ZIP: 'usage',
  INVALID_REPORT: 'usage',
  UNKNOWN_SERVICE: 'usage',
  /** A dependency file (requirements.txt, pyproject.toml, a lockfile) is malformed or stale. */
  INVALID_INPUT: 'usage',
  /** A dependency declaration pyslim reads but cannot build (a VCS URL under the local installer, an unknown pip option). */
  UNSUPPORTED_INPUT: 'usage',
  PYTHON_MISSING: 'environment',
  PIP_MISSING: 'environment',
  ENGINE_MISSING: 'environment',
  ENGINE_UNAVAILABLE: 'environment',
  IMAGE_MISSING: 'environment',
  IMAGE_MISMATCH: 'usage',
  EMULATION_MISSING: 'environment',
  STRIP_MISSING: 'environment',
  NO_TARGET_PYTHON: 'environment',
  NO_COMPATIBLE_WHEEL: 'build',
  UNRESOLVABLE: 'build',
  PIP_FAILED: 'build',
  CONTAINER_KILLED: 'build',
  NATIVE_CODE_MISMATCH: 'build',
  IMPORT_FAILED: 'build',
  /** The handler's module or function is not in the zip (pyslim doctor, --advise). */
  HANDLER_NOT_FOUND: 'usage',
  /** Importing the handler did not finish within the advisor's timeout. */
  INIT_TIMEOUT: 'build',
  COMPILE_FAILED: 'build',
  INTERRUPTED: 'interrupted',
  INTERNAL: 'internal',
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface PyslimErrorContext {
  /** What to do about it, phrased as an instruction. */
  hint?: string;
  /** The pipeline stage that failed. */
  stage?: string;
  /** The distribution involved, when one is. */
  distribution?: string;
  /** Longer diagnostics (for example pip's last lines), shown only with --debug. */
  details?: string;
  cause?: unknown;
}

export class PyslimError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly stage?: string;
  readonly distribution?: string;
  readonly details?: string;

  constructor(code: ErrorCode, message: string, context: PyslimErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'PyslimError';
    this.code = code;
    this.hint = context.hint;
    this.stage = context.stage;
    this.distribution = context.distribution;
    this.details = context.details;
  }

  get kind(): ErrorKind {
    return ERROR_CODES[this.code];
  }

  /** The one line shown to the user: what is wrong, then what to do. */
  get line(): string {
    return this.hint ? `${this.message}. ${this.hint}` : this.message;
  }
}

export function isPyslimError(error: unknown): error is PyslimError {
  return error instanceof PyslimError;
}

/** Throws INTERRUPTED when the build's signal has fired; stages call it between steps. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new PyslimError('INTERRUPTED', 'build interrupted');
}
