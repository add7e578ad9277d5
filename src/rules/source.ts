/**
 * What pyslim leaves out of the function's own folder. The folder is only read, never changed:
 * these rules decide which of its files go into the zip.
 */

export interface SourceEntry {
  /** Path relative to the function folder, with forward slashes. */
  path: string;
  name: string;
  isDirectory: boolean;
  /** For folders: whether the folder holds a pyvenv.cfg (it is a virtualenv). */
  isVirtualenv: boolean;
}

export interface SourceRule {
  name: string;
  reason: string;
  matches(entry: SourceEntry): boolean;
}

const VCS = new Set(['.git', '.hg', '.svn']);
const CACHES = new Set(['__pycache__', '.pytest_cache', '.mypy_cache', '.ruff_cache', '.tox', '.nox', '.ipynb_checkpoints']);
const TOOL_OUTPUT = new Set(['.aws-sam', '.serverless', '.pyslim']);

export const SOURCE_RULES: readonly SourceRule[] = [
  {
    name: 'source-vcs',
    reason: 'version-control metadata is not code',
    matches: (e) => e.isDirectory && VCS.has(e.name),
  },
  {
    name: 'source-virtualenv',
    reason: "a local virtualenv holds the host's packages; dependencies come from the requirements",
    matches: (e) => e.isDirectory && (e.isVirtualenv || e.name === '.venv'),
  },
  {
    name: 'source-node-modules',
    reason: 'node_modules belongs to the JavaScript tooling, not to the Python function',
    matches: (e) => e.isDirectory && e.name === 'node_modules',
  },
  {
    name: 'source-caches',
    reason: "bytecode and tool caches were written for the host's Python and tools",
    matches: (e) => (e.isDirectory ? CACHES.has(e.name) : /\.py[co]$/.test(e.name) || e.name === '.DS_Store'),
  },
  {
    name: 'source-dotenv',
    reason: '.env files often hold local secrets; Lambda takes its environment from the function configuration',
    matches: (e) => !e.isDirectory && e.name.startsWith('.env'),
  },
  {
    name: 'source-build-output',
    reason: "other packagers' build folders are output, not source",
    matches: (e) => e.isDirectory && TOOL_OUTPUT.has(e.name),
  },
];

/** Rule name for the output zip, its temp file and the JSON report when they lie inside the folder. */
export const SOURCE_OUTPUT_RULE = 'source-own-output';
