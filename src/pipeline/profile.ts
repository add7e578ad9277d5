/**
 * Init-time profile: imports the handler module in fresh interpreters with `-X importtime`, from
 * read-only roots with bytecode writing off, several times, and attributes each imported
 * module's self time to the distribution that owns its file. It also flags module-level imports
 * that only some code paths use: deferring those into the branch that needs them removes their
 * cost from every cold start that does not take that branch.
 */
import { PyslimError } from '../errors.js';
import type { PathArg, TargetPython } from '../installers/types.js';
import type { InitProfile } from '../model/report.js';
import { UNATTRIBUTED, type Distribution, type TreeFile } from '../model/files.js';

/** Owner of modules that come from the interpreter itself (the standard library). */
export const STDLIB_OWNER = '(stdlib)';

export interface ProfileOptions {
  python: TargetPython;
  /** The tree as it ships (/var/task), in sys.path order. */
  roots: readonly string[];
  /** After everything else on sys.path: the layers, then the runtime's own packages. */
  fallbackRoots?: readonly string[];
  handler: string;
  runs: number;
  /** The distribution (display name) that owns a file, by its path relative to a root. */
  ownerOf: (relativePath: string) => string;
  signal?: AbortSignal;
}

interface ScriptOutput {
  runs: { wallMs: number; modules: { name: string; selfUs: number; file: string | null }[] }[];
  deferrable: { module: string; names: string[]; usage: 'some-paths' | 'unused' }[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

export async function profileInit(options: ProfileOptions): Promise<InitProfile> {
  const args: (string | PathArg)[] = [];
  for (const root of options.roots) args.push('--root', { hostPath: root });
  for (const root of options.fallbackRoots ?? []) args.push('--fallback', { hostPath: root });
  args.push('--handler', options.handler, '--runs', String(options.runs));
  const run = await options.python.runScript('importtime.py', args, { isolated: true, signal: options.signal, timeoutMs: 900_000 });
  const last = run.stdout.trim().split('\n').pop() ?? '';
  if (run.exitCode !== 0 || !last.startsWith('{')) {
    throw new PyslimError('IMPORT_FAILED', `the init profile could not import ${options.handler.replace(/\.[^.]+$/, '')}: ${lastLine(run.stderr)}`, {
      hint: 'Check --handler; the import check (pyslim build) shows which module fails',
      details: `${run.stdout}\n${run.stderr}`,
    });
  }
  const output = JSON.parse(last) as ScriptOutput;
  return summarize(output, options);
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? '';
}

/** Which root a module file lies under, as a path relative to that root; null for the stdlib. */
function relativeToRoots(file: string | null, roots: readonly string[]): string | null {
  if (!file) return null;
  for (const root of roots) {
    const prefix = root.endsWith('/') ? root : `${root}/`;
    if (file.startsWith(prefix)) return file.slice(prefix.length);
  }
  return null;
}

export function summarize(output: ScriptOutput, options: Pick<ProfileOptions, 'ownerOf' | 'handler' | 'python' | 'roots' | 'fallbackRoots'> & { scriptRoots?: readonly string[] }): InitProfile {
  const perRunPackage: Map<string, number>[] = [];
  const perModule = new Map<string, { package: string; samples: number[] }>();
  const ownerOfModule = new Map<string, string>();
  for (const run of output.runs) {
    const packages = new Map<string, number>();
    for (const module of run.modules) {
      let owner = ownerOfModule.get(module.name);
      if (!owner) {
        const relative = module.file ? relativeFile(module.file) : null;
        owner = relative === null ? STDLIB_OWNER : options.ownerOf(relative);
        ownerOfModule.set(module.name, owner);
      }
      const ms = module.selfUs / 1000;
      packages.set(owner, (packages.get(owner) ?? 0) + ms);
      const entry = perModule.get(module.name) ?? { package: owner, samples: [] };
      entry.samples.push(ms);
      perModule.set(module.name, entry);
    }
    perRunPackage.push(packages);
  }
  const totalMs = median(output.runs.map((r) => r.wallMs));
  const names = new Set(perRunPackage.flatMap((m) => [...m.keys()]));
  const packages = [...names]
    .map((name) => {
      const ms = median(perRunPackage.map((m) => m.get(name) ?? 0));
      return { name, ms: round(ms), share: totalMs > 0 ? Math.round((ms / totalMs) * 1000) / 1000 : 0 };
    })
    .sort((a, b) => b.ms - a.ms);
  const modules = [...perModule]
    .map(([module, { package: pkg, samples }]) => ({ module, package: pkg, ms: round(median(samples)) }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 15);
  const cumulative = (top: string) =>
    [...perModule].filter(([name]) => name === top || name.startsWith(`${top}.`)).reduce((n, [, e]) => n + median(e.samples), 0);
  const deferrable = output.deferrable
    .map((d) => {
      const top = d.module.split('.')[0]!;
      return { ...d, package: ownerOfModule.get(top) ?? ownerOfModule.get(d.module) ?? STDLIB_OWNER, ms: round(cumulative(top)) };
    })
    .filter((d) => d.package !== STDLIB_OWNER && d.ms > 0)
    .sort((a, b) => b.ms - a.ms);
  return { interpreter: options.python.description, handler: options.handler, runs: output.runs.length, totalMs: round(totalMs), packages, modules, deferrable };

  function relativeFile(file: string): string | null {
    // The script reports paths as its interpreter saw them: host paths, or mount points in a container.
    const seen = relativeToRoots(file, options.scriptRoots ?? [...options.roots, ...(options.fallbackRoots ?? [])]);
    if (seen !== null) return seen;
    const mount = /^\/pyslim\/mnt\/\d+\/(.*)$/.exec(file);
    return mount ? mount[1]! : null;
  }
}

/** The handler module for --profile without --handler: the names the Lambda console and tools use. */
export function inferHandler(files: readonly TreeFile[], option = '--profile'): string {
  const found = handlerFromPaths(files.filter((f) => f.origin === 'source').map((f) => f.path));
  if (found) return found;
  throw new PyslimError('INVALID_OPTION', `${option} needs the handler`, { hint: 'Pass --handler module.function, e.g. --handler app.handler' });
}

/** The first of the usual handler files among the paths, as module.function. */
export function handlerFromPaths(paths: readonly string[]): string | undefined {
  const candidates: [string, string][] = [
    ['lambda_function.py', 'lambda_function.lambda_handler'],
    ['handler.py', 'handler.handler'],
    ['app.py', 'app.handler'],
    ['main.py', 'main.handler'],
  ];
  return candidates.find(([file]) => paths.includes(file))?.[1];
}

/** The distribution (display name) owning a file, by its path: from the files that ship, were installed, or were left out for the runtime. */
export function ownerLookup(distributions: readonly Distribution[], fileLists: readonly (readonly { path: string; owner: string }[])[]): (relativePath: string) => string {
  const names = new Map(distributions.map((d) => [d.key, d.name]));
  const owners = new Map<string, string>();
  for (const files of fileLists) for (const file of files) owners.set(file.path, names.get(file.owner) ?? file.owner);
  return (relativePath) => owners.get(relativePath) ?? UNATTRIBUTED;
}
