/**
 * The lifecycle of a dependency input: a declaration on disk (requirements.txt, pyproject.toml,
 * uv.lock, poetry.lock) → a ResolvedInput, the one requirement set pip installs and the report
 * records.
 */
import type { MarkerEnv } from './markers.js';

/** The dependency files pyslim reads, in the order it looks for them in a function folder. */
export const INPUT_KINDS = ['requirements.txt', 'uv.lock', 'poetry.lock', 'pyproject.toml'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

/** Index options declared inside a requirements file (or by a lockfile's registries), for pip's command line. */
export interface PipIndexOptions {
  /** `--index-url`; the last one declared wins, as in pip. */
  indexUrl?: string;
  /** `--extra-index-url`, in order, without duplicates. */
  extraIndexUrls: string[];
  /** `--find-links`; relative paths are made absolute against the declaring file. */
  findLinks: string[];
  /** `--trusted-host`. */
  trustedHosts: string[];
  /** `--no-index`. */
  noIndex: boolean;
}

/** A package pinned to one version. */
export interface Pin {
  /** PEP 503-normalized name. */
  name: string;
  version: string;
}

/**
 * A local folder or archive to build into the package (`-e ./lib`, a path dependency, a workspace
 * member). It is not part of requirementsText: pip cannot hash a folder, so the caller installs
 * it on its own. For locked inputs its dependencies are already pinned in requirementsText, so
 * install it with `--no-deps`.
 */
export interface LocalPathRequirement {
  /** The distribution name, when declared (`name @ file:...`, lockfiles). */
  name?: string;
  /** Absolute path of the folder or archive. */
  path: string;
  /** Declared editable (`-e`, `develop = true`, uv `editable`); Lambda gets a normal install either way. */
  editable: boolean;
  /** Extras requested on the path (`./lib[s3]`). */
  extras?: string[];
  /** Where it was declared, e.g. "requirements.txt:4" or 'uv.lock package "lib"'. */
  line?: string;
}

/** A dependency fetched from version control. The local installer cannot build these. */
export interface VcsRequirement {
  name?: string;
  /** pip's spelling: git+https://host/repo@rev (credentials included; redact before showing). */
  url: string;
  /** Where it was declared, e.g. "requirements.txt:7" or 'poetry.lock package "lib"'. */
  line?: string;
}

/** One dependency source resolved to the set pip installs. */
export interface ResolvedInput {
  kind: InputKind;
  /** Absolute path of every file read, in reading order: the cache key of the install. */
  files: string[];
  /**
   * What pyslim hands to pip with -r: one requirement per line, each with its `--hash` options
   * when there are any. Markers are already evaluated for the target (lines that do not apply are
   * left out), includes are flattened and paths are absolute, so the text works from any folder,
   * a container's included. Local paths and VCS URLs are not in it (see localPaths and vcs).
   */
  requirementsText: string;
  /** Every line carries hashes: run pip with --require-hashes. */
  requireHashes: boolean;
  /** The flattened `-c` constraints, for a second file passed with -c. */
  constraintsText?: string;
  /** Exact versions: every package for lockfiles, the `==` lines of a requirements file, empty otherwise. Sorted by name for lockfiles. */
  pins: Pin[];
  localPaths: LocalPathRequirement[];
  vcs: VcsRequirement[];
  pipOptions: PipIndexOptions;
}

/** Options of resolveDependencyInput. */
export interface ResolveInputOptions {
  /** The function folder, searched for a dependency file when `requirements` is not given. */
  dir: string;
  /** An explicit dependency file (requirements.txt, pyproject.toml, uv.lock or poetry.lock), absolute or relative to `dir`. */
  requirements?: string;
  /** Optional-dependency extras, PEP 735 dependency groups or Poetry groups to add, by name. */
  groups?: string[];
  /** The target's marker environment, e.g. targetMarkers(runtime, arch). */
  markerEnv: MarkerEnv;
  /** Values for `${VAR}` in requirements files, as pip expands them. Unset variables stay as written. */
  env?: Readonly<Record<string, string | undefined>>;
}

export function emptyPipOptions(): PipIndexOptions {
  return { extraIndexUrls: [], findLinks: [], trustedHosts: [], noIndex: false };
}

/** One requirements.txt line: the requirement, then its hashes. */
export function requirementLine(requirement: string, hashes: readonly string[]): string {
  return [requirement, ...hashes.map((h) => `--hash=${h}`)].join(' ');
}

/** Pushes a value once, keeping first-seen order. */
export function pushUnique<T>(list: T[], value: T): void {
  if (!list.includes(value)) list.push(value);
}
