/**
 * The cold-start advisor on a tree as it ships (a read-only extraction of the zip): init per
 * Lambda memory setting under that setting's CPU quota, the function's own init statement by
 * statement, and the checks on its code (docker/advise.py). Findings are advice: they never fail
 * a build; only a handler that cannot be imported (or hangs) is an error.
 */
import { PyslimError, throwIfAborted } from '../errors.js';
import type { Exec } from '../exec.js';
import type { PathArg, TargetPython } from '../installers/types.js';
import type { Advice, AdviceFinding, MemoryInit } from '../model/report.js';
import { median } from '../pipeline/profile.js';
import { RUNTIMES, type ArchName, type RuntimeName } from '../runtimes.js';
import { checkArm64, type InstalledDistribution } from './arm64.js';
import { FINDINGS, HEAVY_IMPORT_MS, NEEDS_HEAVY_IMPORT, isFindingCode } from './catalogue.js';
import { INIT_LIMIT_MS, PRICES, RECOMMENDATION_MARGIN_PERCENT, estimateInitMs, initGbSeconds, recommendMemory, usdPerMillionColdStarts, vcpuShare } from './pricing.js';
import { CGROUP_ROOTS, createCgroup, findCpuController, removeCgroup, type CpuController } from './quota.js';
import { runUserCode, type UserCodeResult } from './sandbox.js';

export interface AdviseOptions {
  python: TargetPython;
  exec: Exec;
  /** The tree as it ships, in sys.path order; the function's own files are under the first. */
  roots: readonly string[];
  /** After the roots on sys.path: the layers, then the runtime's own packages. */
  fallbackRoots?: readonly string[];
  handler: string;
  /** The function's own files, relative to roots[0]: the checks read only these. */
  ownFiles: readonly string[];
  runtime: RuntimeName;
  arch: ArchName;
  /** Memory settings to measure, in MB. */
  memory: readonly number[];
  /** Fresh interpreters per setting; the report shows the median. */
  runs: number;
  /** Per import at the host's full CPU; runs under a quota get this plus the expected slow-down. */
  timeoutMs: number;
  /** Where the cgroup hierarchies are; a missing one means estimates. */
  cgroupRoots?: { v2: string; v1: string };
  /** How pip finds wheels, for the arm64 readiness of an x86_64 function. */
  pip: { env: Readonly<Record<string, string | undefined>>; options: readonly string[]; python?: string };
  signal?: AbortSignal;
}

interface CheckOutput {
  findings: { code: string; file: string; line: number; statement: string; subject: string }[];
  distributions: InstalledDistribution[];
}

interface LinesOutput {
  statements: { file: string; line: number; statement: string; ms: number; selfMs: number }[];
}

/** Statements shown, slowest first. */
const STATEMENTS_SHOWN = 10;
const round = (n: number) => Math.round(n * 10) / 10;

export async function adviseTree(options: AdviseOptions): Promise<Advice> {
  const base: (string | PathArg)[] = [];
  for (const root of options.roots) base.push('--root', { hostPath: root });
  for (const root of options.fallbackRoots ?? []) base.push('--fallback', { hostPath: root });
  base.push('--handler', options.handler);
  const own = options.ownFiles.filter((f) => f.endsWith('.py')).flatMap((f) => ['--own', f]);

  // At full CPU first: a missing, raising or hanging handler stops here, with one line.
  const host: number[] = [];
  for (let i = 0; i < options.runs; i++) host.push(readInit(await userRun(options, ['measure', ...base], options.timeoutMs)));
  const hostInitMs = median(host);

  const lineRuns: LinesOutput[] = [];
  for (let i = 0; i < options.runs; i++) lineRuns.push(parseLast<LinesOutput>(await userRun(options, ['lines', ...base, ...own], options.timeoutMs), options.handler));
  const statements = medianStatements(lineRuns);

  const memory = await measureMemory(options, base, hostInitMs);
  const checked = await options.python.runScript('advise.py', ['check', ...base, ...own], { isolated: true, signal: options.signal, timeoutMs: 120_000 });
  if (checked.exitCode !== 0) throw new PyslimError('INTERNAL', `the advisor's checks failed: ${lastLine(checked.stderr)}`, { details: checked.stderr });
  const check = parseJson<CheckOutput>(checked.stdout);
  const findings = toFindings(check.findings, statements.all);
  const arm64 =
    options.arch === 'x86_64'
      ? await checkArm64({ exec: options.exec, env: options.pip.env, runtime: options.runtime, distributions: check.distributions, pipOptions: options.pip.options, python: options.pip.python, signal: options.signal })
      : null;

  const chosen = recommendMemory(memory.settings);
  const fastest = memory.settings.filter((s) => s.initMs !== null).sort((a, b) => a.initMs! - b.initMs!)[0];
  const minor = Number(RUNTIMES[options.runtime].pythonVersion.split('.')[1]);
  return {
    handler: options.handler,
    interpreter: options.python.description,
    runtime: options.runtime,
    arch: options.arch,
    runs: options.runs,
    quota: memory.quota,
    hostInitMs: round(hostInitMs),
    memory: memory.settings,
    recommendation:
      chosen && fastest
        ? {
            memoryMb: chosen.memoryMb,
            initMs: chosen.initMs,
            usdPerMillion: chosen.usdPerMillion,
            marginPercent: RECOMMENDATION_MARGIN_PERCENT,
            reason:
              chosen === fastest
                ? `the fastest init (${Math.round(chosen.initMs)} ms${memory.quota.method ? '' : ', estimated'}), and no cheaper setting within ${RECOMMENDATION_MARGIN_PERCENT}% of it`
                : `init ${Math.round(chosen.initMs)} ms is within ${RECOMMENDATION_MARGIN_PERCENT}% of the fastest (${fastest.memoryMb} MB, ${Math.round(fastest.initMs!)} ms) and costs the least of those`,
          }
        : null,
    price: { arch: options.arch, usdPerGbSecond: PRICES.usdPerGbSecond[options.arch], region: PRICES.region, source: PRICES.source, date: PRICES.date },
    statements: statements.shown,
    findings,
    snapStart: {
      supported: minor >= 12,
      blockers: minor >= 12 ? [] : [`${options.runtime} is older than python3.12, the first Python runtime with SnapStart`],
    },
    arm64,
  };
}

/** Init per memory setting: under each setting's quota (rounds interleaved, so that load on the host spreads evenly), else estimated. */
async function measureMemory(options: AdviseOptions, base: readonly (string | PathArg)[], hostInitMs: number): Promise<{ quota: Advice['quota']; settings: MemoryInit[] }> {
  const found: CpuController | { note: string } =
    options.python.hostExecutable === undefined
      ? { note: 'no CPU quota could be applied (the interpreter runs in a container): the figures per memory setting are estimates from the host\'s init' }
      : await findCpuController(options.cgroupRoots ?? CGROUP_ROOTS);
  const samples = new Map<number, number[]>(options.memory.map((m) => [m, []]));
  const timedOut = new Set<number>();
  if ('method' in found) {
    for (let i = 0; i < options.runs; i++) {
      for (const memoryMb of options.memory) {
        if (timedOut.has(memoryMb)) continue;
        throwIfAborted(options.signal);
        const vcpu = vcpuShare(memoryMb);
        const cgroup = await createCgroup(found, vcpu);
        try {
          const expected = estimateInitMs(hostInitMs, memoryMb);
          const result = await userRun(options, ['measure', ...base], options.timeoutMs + 4 * expected, { cgroup, memoryMb }, true);
          if (result.timedOut) timedOut.add(memoryMb);
          else samples.get(memoryMb)!.push(readInit(result));
        } finally {
          await removeCgroup(cgroup);
        }
      }
    }
  }
  const settings = options.memory.map((memoryMb): MemoryInit => {
    const measured = samples.get(memoryMb)!;
    const estimated = !('method' in found);
    const initMs = estimated ? estimateInitMs(hostInitMs, memoryMb) : measured.length > 0 ? median(measured) : null;
    return {
      memoryMb,
      vcpu: Math.round(vcpuShare(memoryMb) * 1000) / 1000,
      initMs: initMs === null ? null : round(initMs),
      samplesMs: measured.map(round),
      estimated,
      overInitLimit: initMs === null || initMs > INIT_LIMIT_MS,
      gbSeconds: initMs === null ? null : Math.round(initGbSeconds(memoryMb, initMs) * 1e6) / 1e6,
      usdPerMillion: initMs === null ? null : Math.round(usdPerMillionColdStarts(memoryMb, initMs, options.arch) * 100) / 100,
    };
  });
  return { quota: 'method' in found ? { method: found.method, note: null } : { method: null, note: found.note }, settings };
}

async function userRun(
  options: AdviseOptions,
  args: readonly (string | PathArg)[],
  timeoutMs: number,
  extra: Partial<Pick<Parameters<typeof runUserCode>[0], 'cgroup' | 'memoryMb'>> = {},
  tolerateTimeout = false,
): Promise<UserCodeResult> {
  const result = await runUserCode({ python: options.python, exec: options.exec, args, timeoutMs, signal: options.signal, ...extra });
  if (result.cancelled || options.signal?.aborted) throw new PyslimError('INTERRUPTED', 'interrupted');
  if (result.timedOut && !tolerateTimeout) {
    throw new PyslimError('INIT_TIMEOUT', `importing ${moduleOf(options.handler)} did not finish within ${Math.round(timeoutMs / 1000)} s (it was stopped)`, {
      hint: 'Look for a loop, a sleep or a network call at module level, or raise --timeout',
    });
  }
  if (!result.timedOut) failOnImportError(result, options.handler);
  return result;
}

/** Turns advise.py's error line into the one line the user sees. */
function failOnImportError(result: UserCodeResult, handler: string): void {
  if (result.exitCode === 0) return;
  const last = lastLine(result.stdout);
  const error = last.startsWith('{') ? (JSON.parse(last) as { error?: string; type?: string; message?: string; file?: string | null; line?: number | null; function?: string }) : {};
  const module = moduleOf(handler);
  if (error.error === 'missing') {
    throw new PyslimError('HANDLER_NOT_FOUND', `the handler module ${module} is not in the zip`, { hint: 'Check --handler (module.function, the module at the zip\'s top level)' });
  }
  if (error.error === 'no-function') {
    throw new PyslimError('HANDLER_NOT_FOUND', `${module} has no function ${error.function}`, { hint: 'Check the function name in --handler' });
  }
  if (error.error === 'raised') {
    const where = error.file ? ` (${error.file.replace(/^.*\/task\//, '')}:${error.line})` : '';
    throw new PyslimError('IMPORT_FAILED', `importing ${module} raised ${error.type}: ${error.message}${where}`, {
      hint: 'Fix the error at import; on Lambda it is an init error that discards the environment',
      details: result.stderr,
    });
  }
  throw new PyslimError('IMPORT_FAILED', `importing ${module} failed: ${lastLine(result.stderr) || `exit code ${result.exitCode}`}`, { details: result.stderr });
}

function readInit(result: UserCodeResult): number {
  return parseJson<{ initMs: number }>(result.stdout).initMs;
}

function parseLast<T>(result: UserCodeResult, handler: string): T {
  failOnImportError(result, handler);
  return parseJson<T>(result.stdout);
}

function parseJson<T>(stdout: string): T {
  const last = lastLine(stdout);
  if (!last.startsWith('{')) throw new PyslimError('INTERNAL', `the advisor's script printed no result (${last.slice(0, 200)})`);
  return JSON.parse(last) as T;
}

/** The median of each statement over the runs; all of them for the findings, the slowest for the report. */
function medianStatements(runs: readonly LinesOutput[]) {
  const byKey = new Map<string, { file: string; line: number; statement: string; ms: number[]; selfMs: number[] }>();
  for (const run of runs) {
    for (const s of run.statements) {
      const key = `${s.file}:${s.line}`;
      const entry = byKey.get(key) ?? { file: s.file, line: s.line, statement: s.statement, ms: [], selfMs: [] };
      entry.ms.push(s.ms);
      entry.selfMs.push(s.selfMs);
      byKey.set(key, entry);
    }
  }
  const all = [...byKey.values()].map((e) => ({ file: e.file, line: e.line, statement: e.statement, ms: round(median(e.ms)), selfMs: round(median(e.selfMs)) }));
  const shown = [...all].sort((a, b) => b.selfMs - a.selfMs || a.file.localeCompare(b.file) || a.line - b.line).slice(0, STATEMENTS_SHOWN);
  return { all, shown };
}

function toFindings(raw: CheckOutput['findings'], statements: readonly { file: string; line: number; ms: number }[]): AdviceFinding[] {
  const msAt = new Map(statements.map((s) => [`${s.file}:${s.line}`, s.ms]));
  const findings: AdviceFinding[] = [];
  for (const f of raw) {
    if (!isFindingCode(f.code)) continue;
    const ms = msAt.get(`${f.file}:${f.line}`) ?? null;
    // "Heavy" is measured: an import that costs little is not worth moving.
    if (NEEDS_HEAVY_IMPORT.includes(f.code) && (ms === null || ms < HEAVY_IMPORT_MS)) continue;
    const entry = FINDINGS[f.code];
    findings.push({ ...f, reason: entry.reason(f.subject, ms), fix: entry.fix(f.subject), ms });
  }
  return findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

function moduleOf(handler: string): string {
  return handler.replace(/\.[^.]+$/, '');
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? '';
}
