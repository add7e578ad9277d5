/**
 * The orchestrator: install → inventory → prune (→ strip) → audit → verify → zip → report. It
 * only chains the stages, times them, and owns the temp folder and the final rename, so that a
 * failed or interrupted build leaves nothing behind and never a partial zip at the output path.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PYSLIM_VERSION } from '../assets.js';
import { resolveBuildConfig, type BuildOptions, type ProgressEvent, type ResolvedBuildConfig } from '../config.js';
import { PyslimError, throwIfAborted } from '../errors.js';
import { execSubprocess } from '../exec.js';
import { botoDataBytes, botoServicesRule, listBotoServices, resolveBotoServices } from '../rules/boto.js';
import type { PruneRule } from '../rules/registry.js';
import { RUNTIME_PROVIDED_RULE, planRuntimeExclusion, runtimePackagesRule } from '../rules/runtime-packages.js';
import { LAMBDA_DIRECT_UPLOAD_LIMIT } from '../size.js';
import type { BuildWarning } from '../warnings.js';
import { auditNativeCode } from './audit.js';
import { installDependencies } from './install.js';
import { UNATTRIBUTED, stageSourceFiles, takeInventory, type Inventory, type TreeFile } from './inventory.js';
import type { TargetPython } from '../installers/types.js';
import { compileBytecode } from './compile.js';
import { profileInit } from './profile.js';
import { prune, type Removal } from './prune.js';
import { createReport, type BuildReport, type TrimSummary } from './report.js';
import { stripSharedObjects } from './strip.js';
import { verifyImports } from './verify.js';
import { writeZip } from './zip.js';

/** Rule name for installed files that a file of the function replaces at the same path. */
export const SHADOWED_RULE = 'shadowed-by-source';

export async function build(options: BuildOptions = {}): Promise<BuildReport> {
  const config = await resolveBuildConfig(options);
  const exec = options.exec ?? execSubprocess;
  const { signal } = options;
  const emit = (event: ProgressEvent) => options.onProgress?.(event);
  const warnings: BuildWarning[] = [];
  const timings: Record<string, number> = {};
  const stage = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    throwIfAborted(signal);
    emit({ stage: name, status: 'start' });
    const started = performance.now();
    try {
      return await run();
    } finally {
      timings[name] = Math.round(performance.now() - started);
      emit({ stage: name, status: 'done' });
    }
  };

  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'pyslim-'));
  const dirs = { deps: path.join(work, 'deps'), tmp: path.join(work, 'tmp'), src: path.join(work, 'src'), runtime: path.join(work, 'runtime') };
  let tempZip: string | undefined;
  try {
    let collected = 0;
    const installed = await stage('install', () =>
      installDependencies({
        config,
        exec,
        depsDir: dirs.deps,
        scratchDir: dirs.tmp,
        signal,
        onLine: (line) => {
          // pip announces each distribution it resolves with "Collecting" (or "Processing" for files).
          const found = /^\s*(?:Collecting|Processing) (\S+)/.exec(line);
          if (!found) return;
          const name = path.basename(found[1]!).replace(/-\d.*\.(whl|tar\.gz|zip)$/, '');
          emit({ stage: 'install', status: 'progress', current: ++collected, message: `installing package ${collected} (${name})` });
        },
      }),
    );
    const inventory = await stage('inventory', () =>
      takeInventory({ depsDir: installed.depsDir, sourceDir: config.dir, ownOutputs: config.ownOutputs }),
    );
    const trim = planTrimming(config, inventory, warnings);
    const pruned = await stage('prune', () =>
      prune({
        inventory,
        profile: config.prune,
        exclude: config.exclude,
        keep: config.keep,
        depsDir: installed.depsDir,
        extraRules: trim.rules,
        setAside: { rule: RUNTIME_PROVIDED_RULE, dir: dirs.runtime },
      }),
    );
    const shadowing = resolveShadowing(pruned.kept, warnings);
    pruned.removed.push(...shadowing.shadowed);
    let files = await stageSourceFiles(shadowing.files, dirs.src);

    let strip: BuildReport['strip'] = null;
    if (config.strip && installed.depsDir) {
      const { depsDir } = installed;
      const stripped = await stage('strip', () =>
        stripSharedObjects({
          files,
          depsDir,
          mode: config.strip!,
          arch: config.arch,
          exec,
          env: config.env,
          container: installed.installer === 'docker' ? installed.targetPython : null,
          hostArch: process.arch,
          signal,
        }),
      );
      files = stripped.files;
      pruned.removed.push(...stripped.savings);
      strip = {
        mode: config.strip,
        tool: stripped.tool,
        files: stripped.savings.length,
        savedBytes: sum(stripped.savings.map((s) => s.savedBytes ?? 0)),
        refused: stripped.refused,
      };
    }

    const native = await stage('audit', () => auditNativeCode({ files, distributions: inventory.distributions, runtime: config.runtime, arch: config.arch }));

    const python = installed.targetPython;
    const bytecodeMode = config.bytecode ?? (python ? 'compile' : 'none');
    let bytecode: BuildReport['bytecode'] = { mode: 'none', interpreter: null, files: 0, bytes: 0, failed: [], keptSources: [] };
    if (bytecodeMode !== 'none') {
      const target = requirePython(python, installed.noTargetPython, `--bytecode ${bytecodeMode}`);
      const compiled = await stage('compile', () =>
        compileBytecode({ files, mode: bytecodeMode, python: target, depsDir: installed.depsDir, sourceDir: dirs.src, distributions: inventory.distributions, signal }),
      );
      files = compiled.files;
      pruned.removed.push(...compiled.removed);
      bytecode = { mode: bytecodeMode, interpreter: target.description, files: compiled.compiled, bytes: compiled.compiledBytes, failed: compiled.failed, keptSources: compiled.keptSources };
      if (bytecodeMode === 'only') {
        const kept = compiled.keptSources.length ? `; ${compiled.keptSources.join(', ')} keep their sources (they read them at runtime)` : '';
        warnings.push({ code: 'SOURCES_REMOVED', message: `--bytecode only: installed packages ship without .py sources, so their tracebacks show no source lines${kept}` });
      }
    } else if (config.bytecode === undefined) {
      warnings.push({
        code: 'BYTECODE_NONE',
        message: `no bytecode compiled: every cold start compiles each module it imports (imports of pandas, boto3, pydantic and requests measured 2.6× slower); ${installed.noTargetPython ?? 'no interpreter for the runtime is available'}`,
      });
    }

    const shipped = new Set(files.map((f) => f.path));
    const verify = config.verify
      ? await stage('verify', () =>
          verifyImports({
            python: installed.targetPython,
            noPythonReason: installed.noTargetPython,
            roots: [dirs.src, ...(installed.depsDir ? [installed.depsDir] : [])],
            fallbackRoot: trim.runtimeExcluded.length > 0 ? dirs.runtime : null,
            distributions: inventory.distributions.filter((d) => files.some((f) => f.owner === d.key)),
            shippedPaths: shipped,
            handler: config.handler,
            skip: config.verifySkip,
            removed: pruned.removed,
            excludePatterns: config.exclude.patterns,
            signal,
          }),
        )
      : null;
    if (verify?.limited) warnings.push({ code: 'NO_TARGET_INTERPRETER', message: `import check skipped: ${verify.limited}` });

    const init = config.profile
      ? await stage('profile', () =>
          profileInit({
            python: requirePython(python, installed.noTargetPython, '--profile'),
            roots: [dirs.src, ...(installed.depsDir ? [installed.depsDir] : [])],
            fallbackRoot: trim.runtimeExcluded.length > 0 ? dirs.runtime : null,
            handler: config.handler ?? inferHandler(files),
            runs: config.profileRuns,
            ownerOf: ownerLookup(inventory, files),
            signal,
          }),
        )
      : null;

    const zipped = await stage('zip', () =>
      writeZip({
        files,
        out: config.out,
        signal,
        onProgress: (current, total) => emit({ stage: 'zip', status: 'progress', current, total }),
      }),
    );
    tempZip = zipped.tempPath;
    if (zipped.bytes > LAMBDA_DIRECT_UPLOAD_LIMIT) {
      warnings.push({ code: 'DIRECT_UPLOAD_LIMIT', message: `the zip is over 50 MiB (${zipped.bytes} bytes), Lambda's limit for direct upload: deploy it through S3` });
    }

    const report = createReport({
      pyslimVersion: PYSLIM_VERSION,
      runtime: config.runtime,
      arch: config.arch,
      installer: installed.installer,
      installerReason: installed.reason,
      requirements: config.requirements,
      container: installed.container,
      inventory,
      pruned,
      zipped: files,
      output: { path: config.out, bytes: zipped.bytes, entries: zipped.entries, unzippedBytes: zipped.unzippedBytes, sha256: zipped.sha256 },
      compressedSizes: zipped.compressedSizes,
      budgetBytes: config.budgetBytes,
      budgetLimits: config.budgets,
      profile: config.prune,
      trim: trim.summary,
      strip,
      native,
      verify,
      bytecode,
      init,
      timings,
      warnings,
    });
    if (config.keepTemp) report.workDir = work;
    throwIfAborted(signal);
    await fs.rename(zipped.tempPath, config.out);
    tempZip = undefined;
    return report;
  } catch (error) {
    throw error instanceof PyslimError || !signal?.aborted ? error : new PyslimError('INTERRUPTED', 'build interrupted');
  } finally {
    if (tempZip) await fs.rm(tempZip, { force: true });
    if (!config.keepTemp) await fs.rm(work, { recursive: true, force: true });
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

function requirePython(python: TargetPython | null, why: string | undefined, option: string): TargetPython {
  if (python) return python;
  throw new PyslimError('NO_TARGET_PYTHON', `${option} needs the runtime's interpreter: ${why ?? 'none is available'}`);
}

/** The handler module for --profile without --handler: the names the Lambda console and tools use. */
function inferHandler(files: readonly TreeFile[]): string {
  const candidates: [string, string][] = [
    ['lambda_function.py', 'lambda_function.lambda_handler'],
    ['handler.py', 'handler.handler'],
    ['app.py', 'app.handler'],
    ['main.py', 'main.handler'],
  ];
  const found = candidates.find(([file]) => files.some((f) => f.origin === 'source' && f.path === file));
  if (found) return found[1];
  throw new PyslimError('INVALID_OPTION', '--profile needs the handler', { hint: 'Pass --handler module.function, e.g. --handler app.handler' });
}

/** The distribution (display name) owning a file that ships or was left out for the runtime. */
function ownerLookup(inventory: Inventory, files: readonly TreeFile[]): (relativePath: string) => string {
  const names = new Map(inventory.distributions.map((d) => [d.key, d.name]));
  const owners = new Map<string, string>();
  for (const file of [...inventory.files, ...files]) owners.set(file.path, names.get(file.owner) ?? file.owner);
  return (relativePath) => owners.get(relativePath) ?? UNATTRIBUTED;
}
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/**
 * The rules beyond the prune profile: runtime-provided packages and botocore services, planned
 * from the inventory before anything is removed. Adds the warnings the report shows about them.
 */
function planTrimming(config: ResolvedBuildConfig, inventory: Inventory, warnings: BuildWarning[]): { rules: PruneRule[]; runtimeExcluded: string[]; summary: TrimSummary } {
  const rules: PruneRule[] = [];
  const summary: TrimSummary = { runtimePackages: null, botoServices: null };
  const names = new Map(inventory.distributions.map((d) => [d.key, d.name]));
  let runtimeExcluded: string[] = [];

  if (config.excludeRuntimePackages) {
    const plan = planRuntimeExclusion(inventory.distributions);
    runtimeExcluded = plan.excluded;
    summary.runtimePackages = { excluded: plan.excluded.map((k) => names.get(k) ?? k), keptBecause: plan.keptBecause };
    if (plan.excluded.length > 0) {
      rules.push(runtimePackagesRule(plan.excluded));
      warnings.push({ code: 'RUNTIME_PACKAGES_EXCLUDED', message: `left out ${summary.runtimePackages.excluded.join(', ')}: the Lambda runtime's versions will be used` });
    }
    for (const kept of plan.keptBecause) {
      warnings.push({ code: 'RUNTIME_PACKAGE_KEPT', message: `${kept.name} stays in the zip because ${kept.requiredBy.join(', ')} requires it; on Lambda it shadows the runtime's copy` });
    }
    for (const pin of plan.pinned) {
      warnings.push({ code: 'RUNTIME_VERSION_PINNED', message: `${pin.requiredBy} requires ${pin.requirement}, but ${pin.name} is left out for the runtime's version` });
    }
  }

  const botoBytes = botoDataBytes(inventory.files);
  if (config.botoServices) {
    if (runtimeExcluded.includes('botocore')) {
      warnings.push({ code: 'OPTION_IGNORED', message: '--boto-services has no effect with --exclude-runtime-packages: botocore is left out entirely' });
    } else {
      const resolved = resolveBotoServices(config.botoServices, listBotoServices(inventory.files));
      rules.push(botoServicesRule(resolved.keep));
      summary.botoServices = { kept: resolved.keep, implied: resolved.implied, aliased: resolved.aliased };
    }
  } else if (botoBytes > 0 && !runtimeExcluded.includes('botocore')) {
    warnings.push({
      code: 'BOTO_SERVICES_HINT',
      message: `botocore ships models for ${listBotoServices(inventory.files).length} AWS services (${mb(botoBytes)}); --boto-services s3,dynamodb,… keeps only the ones the function uses, or --exclude-runtime-packages uses the runtime's boto3`,
    });
  }
  return { rules, runtimeExcluded, summary };
}

/**
 * A file of the function that has the same path as an installed file replaces it, as the
 * hand-rolled recipe's `zip -g` would; the installed file counts as removed by SHADOWED_RULE.
 */
function resolveShadowing(kept: readonly TreeFile[], warnings: BuildWarning[]): { files: TreeFile[]; shadowed: Removal[] } {
  const byPath = new Map<string, TreeFile>();
  const shadowed: Removal[] = [];
  for (const file of kept) {
    const other = byPath.get(file.path);
    if (!other) {
      byPath.set(file.path, file);
      continue;
    }
    const [winner, loser] = file.origin === 'source' ? [file, other] : [other, file];
    byPath.set(file.path, winner);
    shadowed.push({ file: loser, rule: SHADOWED_RULE });
    warnings.push({ code: 'SOURCE_SHADOWS_PACKAGE', message: `${file.path} from the function folder replaces the installed file of ${loser.owner}` });
  }
  return { files: [...byPath.values()], shadowed };
}
