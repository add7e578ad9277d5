/**
 * The installer interface. The pipeline depends only on this: the local pip installer and the
 * container installer both implement it.
 */
import type { InstallerKind } from '../model/modes.js';
import type { ArchName, RuntimeName } from '../runtimes.js';
import type { ResolvedDistribution } from './pip-report.js';
import type { PipSources } from './pip-sources.js';

/** The installer that actually ran ('none' when there was nothing to install). */

export interface InstallRequest {
  /** The requirements file to install (absolute): pyslim's flattened copy, one requirement per line. */
  requirementsFile: string;
  /** A constraints file for pip's -c, when the input has constraints. */
  constraintsFile?: string;
  /** Every requirement carries hashes: pip runs with --require-hashes. */
  requireHashes: boolean;
  /** Local folders or archives to build into the package (copies in pyslim's temp folder), installed without their dependencies. */
  localPaths: readonly string[];
  /** An empty folder to install into. */
  targetDir: string;
  /** A folder for the installer's temp files (TMPDIR); the build deletes it, even when pip is killed. */
  scratchDir: string;
  runtime: RuntimeName;
  arch: ArchName;
  signal?: AbortSignal;
  /** Receives pip's output line by line, for progress. */
  onLine?: (line: string) => void;
}

export interface InstallResult {
  /** pip's output, credentials masked, kept for --debug and diagnostics. */
  log: string;
}

/** What pip would install, and what it read to decide (when that could be recorded). */
export interface PipResolution {
  distributions: ResolvedDistribution[];
  sources?: PipSources;
}

/** A folder handed to a script that runs on the target interpreter. */
export interface PathArg {
  hostPath: string;
  /** Folders are read-only to the script unless marked writable. */
  writable?: boolean;
}

export interface TargetPythonRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/**
 * A Python interpreter whose X.Y equals the runtime's: the container's, or the host's when it
 * matches. Used to compile bytecode and to check imports.
 */
export interface TargetPython {
  /** Human-readable, e.g. "host python3.11 (/usr/bin/python3)". */
  readonly description: string;
  /** The interpreter's path when it runs on the host (not in a container): user code can then run under a CPU quota. */
  readonly hostExecutable?: string;
  /** Runs one of the scripts in pyslim's docker/ folder with the given arguments. */
  runScript(
    script: string,
    args: readonly (string | PathArg)[],
    options?: {
      env?: Record<string, string>;
      signal?: AbortSignal;
      timeoutMs?: number;
      /** Keep the host's site-packages and PYTHON* settings out, as nothing of the build host exists on Lambda. */
      isolated?: boolean;
      /** Skip the site module only (-S), keeping PYTHON* settings: for scripts that need nothing beyond the standard library. */
      withoutSite?: boolean;
    },
  ): Promise<TargetPythonRun>;
}

export interface Installer {
  readonly kind: Exclude<InstallerKind, 'none'>;
  /** Why this installer was chosen, for the report and the terminal. */
  readonly reason: string;
  install(request: InstallRequest): Promise<InstallResult>;
  /** What pip would install, without installing it (pip --dry-run --report), for the cache key. */
  resolve(request: InstallRequest): Promise<PipResolution>;
  /**
   * What pip would read differently now than for an earlier resolution (its `sources`), in
   * words; undefined when it would read the same, and so resolve the same. Absent when this
   * installer records no sources.
   */
  sourcesChange?(sources: PipSources): Promise<string | undefined>;
  /** The interpreter matching the runtime, or null when this installer has none. */
  targetPython(): Promise<TargetPython | null>;
}
