/**
 * The exit-code contract, in one pure function. The README documents the same table; CI scripts
 * depend on it, so codes never change meaning.
 */
import { isPyslimError, type ErrorKind } from './errors.js';

export const EXIT_CODES = {
  /** The build succeeded (warnings, if any, were printed). */
  ok: 0,
  /** The build failed: no compatible wheel, pip failed, an import broke, a native-code check failed. */
  buildFailed: 1,
  /** Invalid input: an unknown flag or value, a missing folder or file, a bad size, a bad config. */
  usage: 2,
  /** The build succeeded but a size budget or Lambda's size limit was exceeded. */
  budgetExceeded: 3,
  /** A tool pyslim needs is missing or unusable: python, pip, the container engine or its image. */
  environment: 4,
  /** The build succeeded with warnings and --strict was given. */
  warnings: 5,
  /** Interrupted (Ctrl-C / SIGTERM); nothing was written. */
  interrupted: 130,
} as const;

const BY_KIND: Record<ErrorKind, number> = {
  usage: EXIT_CODES.usage,
  environment: EXIT_CODES.environment,
  build: EXIT_CODES.buildFailed,
  interrupted: EXIT_CODES.interrupted,
  internal: EXIT_CODES.buildFailed,
};

export interface Outcome {
  error?: unknown;
  /** Whether every size budget held. */
  withinBudget?: boolean;
  warnings?: number;
  strict?: boolean;
}

export function exitCodeFor(outcome: Outcome): number {
  if (outcome.error !== undefined) return isPyslimError(outcome.error) ? BY_KIND[outcome.error.kind] : EXIT_CODES.buildFailed;
  if (outcome.withinBudget === false) return EXIT_CODES.budgetExceeded;
  if (outcome.strict && (outcome.warnings ?? 0) > 0) return EXIT_CODES.warnings;
  return EXIT_CODES.ok;
}
