/**
 * Building several functions of a project config at once, with a concurrency bound. Functions
 * that resolve to the same dependency set are built one after another in one group, so the first
 * installs the dependency layer and the others take it from the cache: installed once.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { EXIT_CODES } from './exit-codes.js';
import { functionOptions, type ProjectConfig } from './config-file.js';
import { INPUT_KINDS } from './inputs/index.js';
import { build } from './pipeline/build.js';
import type { BuildOptions } from './model/options.js';
import type { BuildReport } from './model/report.js';

export interface FunctionResult {
  name: string;
  report?: BuildReport;
  error?: unknown;
  /** Where its JSON report goes, with --json. */
  reportPath?: string;
  /** For the summary line: the zip's size, or why it failed. */
  summary: { zip: string };
  /** The function whose build installed the dependencies this one reused, when they were shared. */
  sharedWith?: string;
}

export interface BuildFunctionsOptions {
  project: ProjectConfig;
  names: readonly string[];
  /** Command-line flags: they win over the function's entry and `defaults`. */
  flagOptions: BuildOptions;
  concurrency: number;
  env: Readonly<Record<string, string | undefined>>;
  signal: AbortSignal;
  reportPath?: (name: string) => string;
  onDone?: (result: FunctionResult) => void;
}

/** Options that change a function's dependency layer (not its own files or checks). */
const LAYER_OPTIONS = [
  'requirements',
  'groups',
  'runtime',
  'arch',
  'installer',
  'prune',
  'exclude',
  'keep',
  'botoServices',
  'excludeRuntimePackages',
  'strip',
  'bytecode',
  'layer',
  'withLayers',
  'image',
  'indexUrl',
  'extraIndexUrls',
  'findLinks',
  'constraints',
] as const;

/** Which functions will resolve to the same dependency layer: same dependency file content and layer options. */
export async function dependencySignature(options: BuildOptions): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(LAYER_OPTIONS.map((key) => options[key] ?? null)));
  const dir = options.dir ?? '.';
  const files = options.requirements ? [options.requirements] : INPUT_KINDS.map((kind) => path.join(dir, kind));
  for (const file of files) {
    const text = await fs.readFile(path.resolve(dir, file), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    hash.update(`${path.basename(file)}\0${text}`);
    // A lockfile's roots are in the pyproject.toml beside it.
    if (file.endsWith('.lock')) hash.update(await fs.readFile(path.join(path.dirname(path.resolve(dir, file)), 'pyproject.toml'), 'utf8').catch(() => ''));
    break;
  }
  return hash.digest('hex');
}

export async function buildFunctions(options: BuildFunctionsOptions): Promise<FunctionResult[]> {
  const planned = await Promise.all(
    options.names.map(async (name) => {
      const merged: BuildOptions = { ...functionOptions(options.project, name), ...options.flagOptions };
      return { name, merged, signature: await dependencySignature(merged) };
    }),
  );
  const groups = new Map<string, typeof planned>();
  for (const entry of planned) groups.set(entry.signature, [...(groups.get(entry.signature) ?? []), entry]);

  const results = new Map<string, FunctionResult>();
  const queue = [...groups.values()];
  const worker = async () => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      for (const [i, { name, merged }] of group.entries()) {
        const reportPath = options.reportPath?.(name);
        let result: FunctionResult;
        try {
          const report = await build({ ...merged, env: options.env, signal: options.signal, reportPaths: reportPath ? [reportPath] : [] });
          const builder = group[0]!.name;
          const shared = i > 0 && report.cache?.status === 'hit' && results.get(builder)?.report?.cache?.key === report.cache.key;
          result = { name, report, reportPath, summary: { zip: `${(report.output.bytes / 1e6).toFixed(1)} MB` }, ...(shared ? { sharedWith: builder } : {}) };
        } catch (error) {
          result = { name, error, reportPath, summary: { zip: 'failed' } };
        }
        results.set(name, result);
        options.onDone?.(result);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, groups.size)) }, worker));
  return options.names.map((name) => results.get(name)!);
}

export interface ProjectSummary {
  config: string;
  ok: boolean;
  functions: {
    name: string;
    ok: boolean;
    error: string | null;
    out: string | null;
    report: string | null;
    runtime: string | null;
    arch: string | null;
    bytes: number | null;
    unzippedBytes: number | null;
    withinBudget: boolean | null;
    /** hit, miss or disabled. */
    cache: string | null;
    /** The function whose build installed the shared dependencies, when this one reused them. */
    sharedWith: string | null;
  }[];
}

export function summarizeFunctions(project: ProjectConfig, results: readonly FunctionResult[]): ProjectSummary {
  const functions = results.map((r) => ({
    name: r.name,
    ok: Boolean(r.report && r.report.budgets.ok),
    error: r.error instanceof Error ? r.error.message : r.error === undefined ? null : String(r.error),
    out: r.report?.output.path ?? null,
    report: r.report ? (r.reportPath ?? null) : null,
    runtime: r.report?.runtime ?? null,
    arch: r.report?.arch ?? null,
    bytes: r.report?.output.bytes ?? null,
    unzippedBytes: r.report?.output.unzippedBytes ?? null,
    withinBudget: r.report ? r.report.budgets.ok : null,
    cache: r.report?.cache?.status ?? null,
    sharedWith: r.sharedWith ?? null,
  }));
  return { config: project.file, ok: functions.every((f) => f.ok), functions };
}

/** The exit code of several builds: an error first, then a budget, then strict warnings. */
export function worstExitCode(codes: readonly number[]): number {
  const order: number[] = [EXIT_CODES.interrupted, EXIT_CODES.usage, EXIT_CODES.environment, EXIT_CODES.buildFailed, EXIT_CODES.budgetExceeded, EXIT_CODES.warnings];
  return order.find((code) => codes.includes(code)) ?? EXIT_CODES.ok;
}
