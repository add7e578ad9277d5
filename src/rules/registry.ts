/**
 * The prune rules: what pyslim removes from installed packages, and why each removal is safe.
 *
 * Each rule has a name (shown in reports, errors and `pyslim rules`), a one-line reason, the
 * profile that enables it, and exceptions keyed by normalized distribution name for packages
 * known to need what the rule would remove. Defaults are conservative: the import check after
 * pruning is the backstop, not the plan.
 */
import type { PruneProfile } from '../model/modes.js';

/** A file of the installed tree, as the rules see it. */
export interface RuleTarget {
  /** Path inside the zip, with forward slashes. */
  path: string;
  /** `path` split on "/". */
  segments: readonly string[];
  /** Normalized name of the distribution that owns the file. */
  owner: string;
}

export interface RuleContext {
  /** Whether the installed tree holds this path (a file), before pruning. */
  has(path: string): boolean;
}

export interface PruneRule {
  name: string;
  /** One line: why removing this never breaks a function on Lambda. */
  reason: string;
  /** The least aggressive profile that applies the rule. */
  profile: Exclude<PruneProfile, 'none'>;
  /** Distributions the rule leaves alone, with why. */
  exceptions: Readonly<Record<string, string>>;
  matches(file: RuleTarget, context: RuleContext): boolean;
}

const DIST_INFO = /\.dist-info$/;

/** True when a folder named like one of `names` sits inside a package (never at the zip root). */
function insidePackageFolder(segments: readonly string[], names: ReadonlySet<string>): number {
  // The last segment is the file itself; folders are segments[1 .. length-2].
  for (let i = 1; i < segments.length - 1; i++) if (names.has(segments[i]!)) return i;
  return -1;
}

const TEST_FOLDERS = new Set(['tests', 'test']);
const DOC_FOLDERS = new Set(['docs', 'doc', 'examples', 'example']);
const INSTALLER_FILES = new Set(['RECORD', 'INSTALLER', 'REQUESTED', 'direct_url.json']);
const C_SOURCE = /\.(c|h|pyx|pxd)$/;

const LICENSE_NAME = /^(LICEN[CS]E|COPYING|NOTICE|AUTHORS|COPYRIGHT)([._-].*)?$/i;
const DOC_EXTENSION = /\.(md|rst|txt)$/i;
const TRANSLATION = /\.(po|pot)$/;
const DEBUG_FILE = /\.(pdb|debug|dbg)$/;
/** Code is never a licence file, whatever its name (a module may be called license.py). */
const CODE_FILE = /\.(py|pyc|so|pyd)$|\.so\.\d/;

export const PRUNE_RULES: readonly PruneRule[] = [
  {
    name: 'tests',
    reason: 'test suites inside packages are run by their developers, never imported by the package at runtime',
    profile: 'safe',
    exceptions: {
      django: 'django.test is public API that applications import at runtime',
      astropy: "astropy/__init__.py imports astropy.tests.runner",
      twisted: 'twisted.test.proto_helpers is public API used by other packages',
    },
    // Only folders named exactly tests/test: `testing` modules are library code (numpy.testing).
    matches: (file) => insidePackageFolder(file.segments, TEST_FOLDERS) >= 0,
  },
  {
    name: 'bytecode-cache',
    reason: "__pycache__ and .pyc files left by the install were compiled for the build host's Python, not Lambda's",
    profile: 'safe',
    exceptions: {},
    matches: (file) => file.segments.includes('__pycache__') || /\.py[co]$/.test(file.path),
  },
  {
    name: 'installer-leftovers',
    reason: "console scripts in bin/ and pip's RECORD, INSTALLER, REQUESTED and direct_url.json are not read at runtime (METADATA and entry_points.txt stay)",
    profile: 'safe',
    exceptions: {},
    matches: (file) =>
      file.segments[0] === 'bin' ||
      (file.segments.length === 2 && DIST_INFO.test(file.segments[0]!) && INSTALLER_FILES.has(file.segments[1]!)),
  },
  {
    name: 'type-stubs',
    reason: '.pyi stubs are read by type checkers, never by the interpreter',
    profile: 'safe',
    exceptions: {
      mypy: 'mypy reads its bundled typeshed stubs as data',
      jedi: 'jedi reads its bundled typeshed stubs as data',
      pytype: 'pytype reads its bundled typeshed stubs as data',
    },
    matches: (file) => file.path.endsWith('.pyi'),
  },
  {
    name: 'docs-examples',
    reason: 'docs and examples folders that are not Python packages (no __init__.py) cannot be imported',
    profile: 'safe',
    exceptions: {},
    matches: (file, context) => {
      const at = insidePackageFolder(file.segments, DOC_FOLDERS);
      if (at < 0) return false;
      const folder = file.segments.slice(0, at + 1).join('/');
      return !context.has(`${folder}/__init__.py`);
    },
  },
  {
    name: 'c-sources',
    reason: 'C and Cython sources and headers are only needed to compile extensions, which Lambda never does',
    profile: 'safe',
    exceptions: {
      cython: 'pyximport compiles .pyx at runtime against the bundled .pxd files',
      'cppyy-cling': 'cppyy parses C++ headers at runtime',
      'cppyy-backend': 'cppyy parses C++ headers at runtime',
      cffi: 'cffi reads its bundled headers when a package compiles in API mode at runtime',
    },
    matches: (file) => C_SOURCE.test(file.path) && !DIST_INFO.test(file.segments[0]!),
  },
  {
    name: 'licenses',
    reason: 'licence texts are for people reading the package, never read by the code (keep them if your distribution terms require it)',
    profile: 'aggressive',
    exceptions: {},
    matches: (file) =>
      (LICENSE_NAME.test(file.segments.at(-1)!) && !CODE_FILE.test(file.path)) || (DIST_INFO.test(file.segments[0]!) && file.segments[1] === 'licenses'),
  },
  {
    name: 'package-docs',
    reason: '.md, .rst and .txt files inside packages are documentation, except for the packages known to read them',
    profile: 'aggressive',
    exceptions: {
      docutils: 'docutils reads its bundled .txt entity definitions at runtime',
      'scikit-learn': 'dataset loaders read their .rst descriptions at runtime',
      statsmodels: 'dataset loaders read their bundled text files',
      matplotlib: 'matplotlib reads text data from mpl-data',
      nltk: 'nltk reads its bundled word lists',
      tld: 'tld reads its bundled effective TLD list (.txt)',
      jieba: 'jieba reads its dictionary (dict.txt)',
      certifi: 'keep the CA bundle package exactly as shipped',
    },
    // dist-info metadata (top_level.txt, entry_points.txt) and top-level files are never docs of a package.
    matches: (file) => file.segments.length > 1 && !DIST_INFO.test(file.segments[0]!) && DOC_EXTENSION.test(file.path),
  },
  {
    name: 'translations',
    reason: 'message catalogues (.po sources and compiled .mo under locale folders) only serve non-English users; --keep the locales you need',
    profile: 'aggressive',
    exceptions: {
      django: 'Django applications usually translate at runtime',
      babel: 'babel is a localization library',
    },
    matches: (file) => TRANSLATION.test(file.path) || (file.path.endsWith('.mo') && file.segments.includes('LC_MESSAGES')),
  },
  {
    name: 'debug-symbols',
    reason: 'separate debug-symbol files (.pdb, .debug, .dbg) are only read by debuggers',
    profile: 'aggressive',
    exceptions: {},
    matches: (file) => DEBUG_FILE.test(file.path) || file.segments.some((s) => s.endsWith('.dSYM')),
  },
];

/** The rules a profile applies, in registry order. */
export function rulesForProfile(profile: PruneProfile): PruneRule[] {
  if (profile === 'none') return [];
  return PRUNE_RULES.filter((rule) => profile === 'aggressive' || rule.profile === 'safe');
}

/** Rule name under which --exclude removals are reported. */
export const USER_EXCLUDE_RULE = 'user-exclude';
