/** The size limits a build is checked against, and the result of checking them. */

export interface BudgetLimits {
  /** --budget: the zip file. */
  zipBytes: number | null;
  /** --budget-unzipped: the unzipped content, layers included. */
  unzippedBytes: number | null;
  /** --budget-package name=size: a package's unzipped size after trimming. */
  packages: { name: string; limitBytes: number }[];
  /** --layers-size: unzipped bytes of the layers the function runs with. */
  layersBytes: number;
}

/** One check: what was measured against what limit. */
export interface BudgetCheck {
  kind: 'zip' | 'unzipped' | 'package' | 'lambda-unzipped';
  /** The package, for kind 'package'. */
  name?: string;
  limitBytes: number;
  actualBytes: number;
  ok: boolean;
}

/** A way to make the package smaller, with the bytes it would save (unzipped). */
export interface Suggestion {
  action: string;
  savesBytes: number;
}

export interface BudgetResult {
  ok: boolean;
  checks: BudgetCheck[];
  /** The largest packages, biggest first, for the message of a failed budget. */
  contributors: { name: string; bytes: number; zipBytes: number }[];
  suggestions: Suggestion[];
}
