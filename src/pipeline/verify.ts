/**
 * Import check, on every build (unless --no-verify): imports every top-level module of every
 * distribution that ships, and the handler, from the final tree on the target interpreter, with
 * bytecode writing off as on Lambda's read-only /var/task. A failed import fails the build; when
 * a pruned file caused it, the error names the rule and the --keep that restores it.
 */
import path from 'node:path';
import { isSharedObjectName } from '../elf.js';
import { PyslimError } from '../errors.js';
import { compileGlobs } from '../glob.js';
import type { PathArg, TargetPython } from '../installers/types.js';
import { USER_EXCLUDE_RULE } from '../rules/registry.js';
import type { Removal } from './prune.js';
import type { Distribution } from '../model/files.js';
import type { VerifySummary } from '../model/report.js';

/** Top-level names that are never importable library code, even when a wheel ships them. */
const NEVER_VERIFIED = new Set(['tests', 'test', 'docs', 'doc', 'examples', 'benchmarks', 'conftest', 'setup']);

export interface VerifyOptions {
  python: TargetPython | null;
  /** Why there is no target interpreter, when there is none. */
  noPythonReason?: string;
  /** The function's files as they ship, then the installed packages: /var/task on Lambda. */
  roots: readonly string[];
  /** After everything else on sys.path, in order: the layers (/opt/python), then the runtime's packages (--exclude-runtime-packages). */
  fallbackRoots: readonly string[];
  /** Distributions that ship. */
  distributions: readonly Distribution[];
  /** Paths of every file that ships. */
  shippedPaths: ReadonlySet<string>;
  /** module.function of the handler, when given. */
  handler?: string;
  /** Modules (or packages, with their submodules) not to import. */
  skip: readonly string[];
  /** Modules that imported from this same layer in an earlier build (the dependency cache); not imported again. */
  preverified?: readonly string[];
  removed: readonly Removal[];
  /** The --exclude patterns, to name the one that removed a needed file. */
  excludePatterns: readonly string[];
  signal?: AbortSignal;
}

interface ModuleResult {
  module: string;
  ok: boolean;
  handler?: boolean;
  error?: string;
  missing?: string;
  filename?: string;
}

/** Which top-level modules the shipped tree provides, by name, with the distribution that owns each. */
export function modulesToVerify(options: Pick<VerifyOptions, 'distributions' | 'shippedPaths' | 'skip'>): { modules: Map<string, string>; skipped: VerifySummary['skipped'] } {
  const present = new Set<string>();
  for (const p of options.shippedPaths) {
    const [top, ...rest] = p.split('/');
    if (rest.length > 0) present.add(top!);
    else if (top!.endsWith('.py')) present.add(top!.slice(0, -3));
    else if (isSharedObjectName(top!)) present.add(top!.split('.')[0]!);
  }
  const modules = new Map<string, string>();
  const skipped: VerifySummary['skipped'] = [];
  const skips = (name: string) => options.skip.some((s) => name === s || name.startsWith(`${s}.`));
  for (const dist of options.distributions) {
    for (const name of dist.topLevel) {
      if (!present.has(name) || modules.has(name)) continue;
      if (NEVER_VERIFIED.has(name)) skipped.push({ module: name, reason: `not library code (shipped by ${dist.name})` });
      else if (skips(name)) skipped.push({ module: name, reason: '--verify-skip' });
      else modules.set(name, dist.name);
    }
  }
  return { modules, skipped };
}

export async function verifyImports(options: VerifyOptions): Promise<VerifySummary> {
  const { modules, skipped } = modulesToVerify(options);
  if (!options.python) {
    return { interpreter: null, modules: [], reused: [], handler: null, skipped, limited: options.noPythonReason ?? 'no target interpreter' };
  }
  const reused = [...modules.keys()].filter((m) => options.preverified?.includes(m));
  for (const module of reused) modules.delete(module);
  if (modules.size === 0 && !options.handler) {
    return { interpreter: options.python.description, modules: reused, reused, handler: null, skipped, limited: null };
  }
  const args: (string | PathArg)[] = [];
  for (const root of options.roots) args.push('--root', { hostPath: root });
  for (const root of options.fallbackRoots) args.push('--fallback', { hostPath: root });
  if (options.handler) args.push('--handler', options.handler);
  for (const module of modules.keys()) args.push('--module', module);

  const run = await options.python.runScript('verify.py', args, { isolated: true, signal: options.signal, timeoutMs: 600_000 });
  const results = run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as ModuleResult);
  if (run.exitCode !== 0 || results.length !== modules.size + (options.handler ? 1 : 0)) {
    throw new PyslimError('IMPORT_FAILED', `the import check did not complete (exit ${run.exitCode}): ${run.stderr.trim().split('\n').pop() ?? ''}`, {
      hint: 'Run with --debug for its output, or skip the check with --no-verify',
      details: `${run.stdout}\n${run.stderr}`,
    });
  }
  const failures = results.filter((r) => !r.ok);
  if (failures.length > 0) throw importError(failures, modules, options);
  return {
    interpreter: options.python.description,
    modules: [...results.filter((r) => !r.handler).map((r) => r.module), ...reused],
    reused,
    handler: options.handler ?? null,
    skipped,
    limited: null,
  };
}

/** The pruned file behind a failed import, if one is: the missing module, or the missing file. */
export function prunedCause(result: ModuleResult, removed: readonly Removal[]): Removal | undefined {
  const candidates: ((p: string) => boolean)[] = [];
  if (result.missing) {
    const base = result.missing.replace(/\./g, '/');
    candidates.push((p) => p === `${base}.py` || p.startsWith(`${base}/`) || (p.startsWith(`${base}.`) && isSharedObjectName(p)));
  }
  if (result.filename) {
    // The path the interpreter saw ends with the zip path of the missing file, whatever the root.
    const seen = result.filename.split(path.sep).join('/');
    candidates.push((p) => seen.endsWith(`/${p}`) || seen.includes(`/${p}/`));
  }
  return removed.find((r) => candidates.some((matches) => matches(r.file.path)));
}

function importError(failures: ModuleResult[], modules: Map<string, string>, options: VerifyOptions): PyslimError {
  const first = failures[0]!;
  const owner = first.handler ? 'the handler' : modules.get(first.module);
  const cause = prunedCause(first, options.removed);
  const more = failures.length > 1 ? ` (and ${failures.length - 1} more: ${failures.slice(1).map((f) => f.module).join(', ')})` : '';
  let message = `import check failed: ${first.module}${owner ? ` (${owner})` : ''} raised ${first.error}${more}`;
  let hint: string;
  if (cause) {
    const rule = cause.rule === USER_EXCLUDE_RULE ? `rule ${USER_EXCLUDE_RULE} (--exclude ${excludePatternFor(cause.file.path, options.excludePatterns)})` : `rule ${cause.rule}`;
    message += `; ${cause.file.path} was removed by ${rule}`;
    hint = `Keep it with --keep '${cause.file.path}'`;
  } else if (first.handler) {
    hint = 'Check --handler (module.function, relative to the function folder)';
  } else {
    hint = `If ${first.module} cannot be imported outside Lambda, skip it with --verify-skip ${first.module}; --no-verify skips the check`;
  }
  return new PyslimError('IMPORT_FAILED', message, { hint, stage: 'verify', distribution: owner, details: failures.map((f) => `${f.module}: ${f.error}`).join('\n') });
}

function excludePatternFor(filePath: string, patterns: readonly string[]): string {
  return compileGlobs(patterns).match(filePath) ?? patterns.join(' ');
}
