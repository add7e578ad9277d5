/**
 * Compile stage: bytecode that stays valid on Lambda.
 *
 * /var/task is read-only, so Python cannot cache bytecode there: every cold start compiles each
 * imported module that has no valid .pyc, then throws the result away. Timestamp-checked .pyc do
 * not help in a reproducible zip (every entry has the same fixed date, so they arrive stale), so
 * pyslim compiles with the target runtime's own interpreter to PEP 552 unchecked-hash .pyc, which
 * Python trusts whatever the mtimes. `only` ships sourceless bytecode instead of the sources.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PyslimError } from '../errors.js';
import type { TargetPython } from '../installers/types.js';
import { normalizeDistName } from '../python-names.js';
import type { Addition, Removal } from './prune.js';
import type { Distribution, TreeFile } from '../model/files.js';
import type { BytecodeMode } from '../model/modes.js';
import type { BuildReport } from '../model/report.js';
import type { BuildWarning } from '../warnings.js';

/** Rule under which the report counts the .pyc this stage writes. */
export const BYTECODE_RULE = 'bytecode';

/** Rule under which `--bytecode only` reports the sources it replaced. */
export const SOURCELESS_RULE = 'sourceless';

/**
 * Packages that read their own source at runtime (inspect.getsource, JIT compilers, assertion
 * rewriting): under `--bytecode only` they keep their .py files and get regular bytecode.
 */
export const NEEDS_SOURCE: Readonly<Record<string, string>> = {
  numba: 'compiles Python functions from their source',
  torch: 'TorchScript reads function sources',
  triton: 'compiles kernels from their source',
  pytest: 'rewrites assertions from source',
  typeguard: 'instruments functions from their source',
  pydantic: 'reads attribute docstrings from source when asked to',
};

/** Where the code will live on Lambda; recorded in each code object instead of the build folder. */
export const TASK_ROOT = '/var/task';

export interface CompileOptions {
  files: readonly TreeFile[];
  mode: Exclude<BytecodeMode, 'none'>;
  python: TargetPython;
  depsDir: string | null;
  sourceDir: string | null;
  distributions: readonly Distribution[];
  /** The folder the code lands in on Lambda: /var/task for functions, /opt/python for layers. */
  prefix?: string;
  signal?: AbortSignal;
}

export interface CompileResult {
  /** What ships now: the files plus their bytecode (minus the replaced sources under `only`). */
  files: TreeFile[];
  /** Sources replaced by sourceless bytecode. */
  removed: Removal[];
  /** The .pyc written, under BYTECODE_RULE. */
  added: Addition[];
  /** Bytecode files written. */
  compiled: number;
  compiledBytes: number;
  /** Files Python cannot compile (they could not be imported either), with why. */
  failed: { file: string; error: string }[];
  /** Distributions whose sources were kept under `only`. */
  keptSources: string[];
}

/** The source file a .pyc was compiled from: pkg/__pycache__/m.cpython-311.pyc or pkg/m.pyc → pkg/m.py. */
export function sourceOfBytecode(pycPath: string): string {
  const cached = /^(.*?)__pycache__\/([^/]+?)\.[^./]+\.pyc$/.exec(pycPath);
  return cached ? `${cached[1]}${cached[2]}.py` : pycPath.replace(/\.pyc$/, '.py');
}

export async function compileBytecode(options: CompileOptions): Promise<CompileResult> {
  const prefix = options.prefix ?? TASK_ROOT;
  const legacy = options.mode === 'only';
  const owners = new Map(options.files.map((f) => [f.path, f]));
  const keptSources = options.distributions.filter((d) => Object.hasOwn(NEEDS_SOURCE, normalizeDistName(d.name)));
  const keepFolders = keptSources.flatMap((d) => [...d.topLevel, d.distInfo]);

  const roots: { dir: string; origin: TreeFile['origin']; legacy: boolean }[] = [
    ...(options.depsDir ? [{ dir: options.depsDir, origin: 'deps' as const, legacy }] : []),
    // The function's own files keep their sources, so its tracebacks keep their lines.
    ...(options.sourceDir ? [{ dir: options.sourceDir, origin: 'source' as const, legacy: false }] : []),
  ];
  const added: TreeFile[] = [];
  const removed: Removal[] = [];
  const failed: CompileResult['failed'] = [];
  for (const root of roots) {
    const args: (string | { hostPath: string; writable: boolean })[] = ['--root', { hostPath: root.dir, writable: true }, '--prefix', prefix];
    if (root.legacy) args.push('--legacy', ...keepFolders.flatMap((f) => ['--keep-source', f]));
    // PYTHONHASHSEED must reach the interpreter, so not -I; without site it starts 40 ms sooner.
    const run = await options.python.runScript('compile.py', args, { env: { PYTHONHASHSEED: '0' }, withoutSite: true, signal: options.signal, timeoutMs: 1_800_000 });
    const output = run.stdout.trim().split('\n').pop() ?? '';
    if (run.exitCode !== 0 || !output.startsWith('{')) {
      throw new PyslimError('COMPILE_FAILED', `bytecode compilation failed on ${options.python.description} (exit ${run.exitCode}): ${run.stderr.trim().split('\n').pop() ?? ''}`, {
        hint: 'Run with --debug for its output, or build with --bytecode none',
        details: `${run.stdout}\n${run.stderr}`,
      });
    }
    const result = JSON.parse(output) as { compiled: string[]; failed: { file: string; error: string }[] };
    failed.push(...result.failed);
    for (const pyc of result.compiled) {
      const source = owners.get(sourceOfBytecode(pyc));
      const abs = path.join(root.dir, ...pyc.split('/'));
      // Bytecode of a file that does not ship from this root (one the function shadows) stays out.
      if (source?.origin !== root.origin) {
        await fs.rm(abs, { force: true });
        continue;
      }
      const { size } = await fs.stat(abs);
      added.push({ path: pyc, abs, size, executable: false, owner: source.owner, origin: root.origin });
      if (root.legacy && !pyc.includes('__pycache__/')) {
        await fs.rm(source.abs);
        removed.push({ file: source, rule: SOURCELESS_RULE });
      }
    }
  }
  const gone = new Set(removed.map((r) => r.file.path));
  const files = [...options.files.filter((f) => !gone.has(f.path)), ...added].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    files,
    removed,
    added: added.map((file) => ({ file, rule: BYTECODE_RULE })),
    compiled: added.length,
    compiledBytes: added.reduce((n, f) => n + f.size, 0),
    failed,
    keptSources: legacy ? keptSources.map((d) => d.name) : [],
  };
}

/** The report's bytecode section: the dependency layer's (built now or cached) and the function's, with the warnings they call for. */
export function summarizeBytecode(options: {
  mode: BytecodeMode;
  /** The interpreter that compiled, or null when nothing was compiled. */
  interpreter: string | null;
  fromLayer: Omit<BuildReport['bytecode'], 'mode' | 'interpreter'> | null;
  fromSource: CompileResult | undefined;
  /** The mode asked for, or undefined when pyslim chose. */
  asked: BytecodeMode | undefined;
  noPython: string | undefined;
  warnings: BuildWarning[];
}): BuildReport['bytecode'] {
  const { fromSource, warnings } = options;
  if (!options.interpreter || !fromSource) {
    if (options.asked === undefined) {
      warnings.push({
        code: 'BYTECODE_NONE',
        message: `no bytecode compiled: every cold start compiles each module it imports (imports of pandas, boto3, pydantic and requests measured 2.6× slower); ${options.noPython ?? 'no interpreter for the runtime is available'}`,
      });
    }
    return { mode: 'none', interpreter: null, files: 0, bytes: 0, failed: [], keptSources: [] };
  }
  const fromLayer = options.fromLayer ?? { files: 0, bytes: 0, failed: [], keptSources: [] };
  const bytecode: BuildReport['bytecode'] = {
    mode: options.mode,
    interpreter: options.interpreter,
    files: fromLayer.files + fromSource.compiled,
    bytes: fromLayer.bytes + fromSource.compiledBytes,
    failed: [...fromLayer.failed, ...fromSource.failed],
    keptSources: fromLayer.keptSources,
  };
  if (options.mode === 'only') {
    const kept = bytecode.keptSources.length ? `; ${bytecode.keptSources.join(', ')} keep their sources (they read them at runtime)` : '';
    warnings.push({ code: 'SOURCES_REMOVED', message: `--bytecode only: installed packages ship without .py sources, so their tracebacks show no source lines${kept}` });
  }
  return bytecode;
}
