/**
 * `pyslim build`: one function folder, or the functions of a pyslim.config.json. Parses the flags
 * into build options, calls the library, renders the report and returns the exit code.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { findProjectConfig, nearest, type ProjectConfig } from '../../config-file.js';
import { DEFAULT_OUT } from '../../config.js';
import { EXIT_CODES, exitCodeFor } from '../../exit-codes.js';
import { diffReports, readComparable } from '../../inspect/diff.js';
import { INSTALLER_CHOICES, PRUNE_PROFILES } from '../../model/modes.js';
import type { BuildOptions } from '../../model/options.js';
import { build } from '../../pipeline/build.js';
import { buildFunctions, summarizeFunctions, worstExitCode } from '../../project.js';
import { ARCHITECTURES, DEFAULT_ARCH, DEFAULT_RUNTIME, RUNTIMES } from '../../runtimes.js';
import { abortOnSignals, renderError, writeFileAtomic, type Io, type SetExitCode } from '../io.js';
import { createProgressRenderer } from '../progress.js';
import { annotations, budgetFailureLines } from '../render-ci.js';
import { renderDiffTable } from '../render-inspect.js';
import { renderAdvice, renderAdviceMarkdown } from '../render-advice.js';
import { renderMarkdown } from '../render-markdown.js';
import { renderBuildTable, renderSummaryTable, renderWarnings } from '../render-table.js';

interface BuildFlags {
  requirements?: string;
  runtime: string;
  arch: string;
  installer: string;
  out: string;
  json?: string;
  budget?: string;
  exclude?: string[];
  keep?: string[];
  python?: string;
  containerCli?: string;
  image?: string;
  containerUser?: string;
  containerTimeout?: string;
  cacheDir?: string;
  indexUrl?: string;
  extraIndexUrl?: string[];
  findLinks?: string[];
  trustedHost?: string[];
  constraint?: string[];
  keepTemp?: boolean;
  cache?: boolean;
  cacheMaxSize?: string;
  remoteCache?: string;
  remoteCacheEndpoint?: string;
  remoteCacheReadOnly?: boolean;
  remoteCacheTimeout?: string;
  groups?: string[];
  prune?: string;
  botoServices?: string[];
  excludeRuntimePackages?: boolean;
  strip?: string | boolean;
  verify?: boolean;
  handler?: string;
  verifySkip?: string[];
  bytecode?: string;
  profile?: boolean;
  runs?: string;
  advise?: boolean;
  memory?: string[];
  timeout?: string;
  config?: string;
  concurrency?: string;
  layer?: boolean;
  withLayer?: string[];
  budgetUnzipped?: string;
  budgetPackage?: string[];
  layersSize?: string;
  format: string;
  annotations?: boolean;
  compare?: string;
  quiet?: boolean;
  strict?: boolean;
  debug?: boolean;
}

/** The build options the flags give; with `only`, just the flags set on the command line. */
function buildOptionsFrom(flags: BuildFlags, only?: (key: string) => boolean): BuildOptions {
  const all: BuildOptions = {
    requirements: flags.requirements,
    runtime: flags.runtime,
    arch: flags.arch,
    installer: flags.installer as (typeof INSTALLER_CHOICES)[number],
    out: flags.out,
    budget: flags.budget,
    exclude: flags.exclude,
    keep: flags.keep,
    python: flags.python,
    containerCli: flags.containerCli,
    image: flags.image,
    containerUser: flags.containerUser,
    containerTimeout: flags.containerTimeout === undefined ? undefined : Number(flags.containerTimeout),
    cacheDir: flags.cacheDir,
    indexUrl: flags.indexUrl,
    extraIndexUrls: flags.extraIndexUrl,
    findLinks: flags.findLinks,
    trustedHosts: flags.trustedHost,
    constraints: flags.constraint,
    keepTemp: flags.keepTemp,
    cache: flags.cache,
    cacheMaxSize: flags.cacheMaxSize,
    remoteCache: flags.remoteCache,
    remoteCacheEndpoint: flags.remoteCacheEndpoint,
    remoteCacheReadOnly: flags.remoteCacheReadOnly,
    remoteCacheTimeout: flags.remoteCacheTimeout === undefined ? undefined : Number(flags.remoteCacheTimeout),
    groups: flags.groups?.flatMap((g) => g.split(',')),
    prune: flags.prune as BuildOptions['prune'],
    botoServices: flags.botoServices,
    excludeRuntimePackages: flags.excludeRuntimePackages,
    strip: flags.strip === undefined ? undefined : ((flags.strip === true ? 'debug' : flags.strip) as BuildOptions['strip']),
    verify: flags.verify,
    handler: flags.handler,
    verifySkip: flags.verifySkip?.flatMap((v) => v.split(',')),
    bytecode: flags.bytecode as BuildOptions['bytecode'],
    budgetUnzipped: flags.budgetUnzipped,
    budgetPackages: flags.budgetPackage,
    layersSize: flags.layersSize,
    profile: flags.profile,
    profileRuns: flags.runs === undefined ? undefined : Number(flags.runs),
    advise: flags.advise,
    adviseMemory: flags.memory,
    adviseRuns: flags.advise && flags.runs !== undefined ? Number(flags.runs) : undefined,
    adviseTimeout: flags.timeout === undefined ? undefined : Number(flags.timeout),
    layer: flags.layer,
    withLayers: flags.withLayer,
  };
  if (!only) return all;
  // Option names of the flags that set each build option (commander's attribute names).
  const flagOf: Partial<Record<keyof BuildOptions, string>> = {
    extraIndexUrls: 'extraIndexUrl',
    trustedHosts: 'trustedHost',
    constraints: 'constraint',
    budgetPackages: 'budgetPackage',
    profileRuns: 'runs',
    adviseMemory: 'memory',
    adviseRuns: 'runs',
    adviseTimeout: 'timeout',
    withLayers: 'withLayer',
  };
  return Object.fromEntries(Object.entries(all).filter(([key]) => only(flagOf[key as keyof BuildOptions] ?? key))) as BuildOptions;
}

function markdownWithAdvice(report: Awaited<ReturnType<typeof build>>, compare?: Parameters<typeof renderMarkdown>[1]): string {
  return report.advice ? `${renderMarkdown(report, compare)}\n\n${renderAdviceMarkdown(report.advice)}\n` : renderMarkdown(report, compare);
}

function checkFormat(flags: BuildFlags, io: Io): boolean {
  if (['table', 'json', 'markdown'].includes(flags.format)) return true;
  io.err(`error: invalid --format "${flags.format}". Use one of table, json, markdown\n`);
  return false;
}

/**
 * `pyslim build [targets...]`: with a pyslim.config.json (or a "pyslim" key in package.json), the
 * targets are function names and none means all of them; otherwise the one target is a folder.
 */
async function runBuild(targets: string[], flags: BuildFlags, io: Io, fromCli: (key: string) => boolean): Promise<number> {
  if (!checkFormat(flags, io)) return EXIT_CODES.usage;
  let project;
  try {
    project = await findProjectConfig(process.cwd(), flags.config);
  } catch (error) {
    io.err(`${renderError(error, Boolean(flags.debug))}\n`);
    return exitCodeFor({ error });
  }
  if (project) {
    const names = targets.filter((t) => project.functions.has(t));
    if (names.length === targets.length) return runMany(project, names.length > 0 ? names : [...project.functions.keys()], flags, io, fromCli);
    // A folder that is not a function name is built on its own, as without a config.
    const isFolder = targets.length === 1 && (await fs.stat(targets[0]!).catch(() => undefined))?.isDirectory();
    if (!isFolder) {
      const name = targets.find((t) => !project.functions.has(t))!;
      const near = nearest(name, [...project.functions.keys()]);
      io.err(`error: unknown function "${name}" in ${path.basename(project.file)}. Use one of ${[...project.functions.keys()].join(', ')}${near && targets.length === 1 ? ` (did you mean "${near}"?)` : ''}\n`);
      return EXIT_CODES.usage;
    }
  } else if (targets.length > 1) {
    io.err('error: pyslim build takes one function folder. Name several functions in a pyslim.config.json to build them together\n');
    return EXIT_CODES.usage;
  }
  return runSingle(targets[0] ?? '.', flags, io);
}

async function runSingle(dir: string, flags: BuildFlags, io: Io): Promise<number> {
  const controller = new AbortController();
  const release = abortOnSignals(controller);
  const format = flags.format;
  const showProgress = io.stderrIsTTY && !flags.quiet && !io.env.CI && format !== 'json';
  const progress = showProgress ? createProgressRenderer({ write: io.err, columns: io.columns }) : undefined;
  try {
    const report = await build({
      ...buildOptionsFrom(flags),
      dir,
      reportPaths: flags.json ? [flags.json] : [],
      env: io.env,
      signal: controller.signal,
      onProgress: progress?.onProgress,
    });
    progress?.stop();
    const compare = flags.compare ? diffReports(await readComparable(flags.compare), report) : undefined;
    const json = `${JSON.stringify(compare ? { ...report, compare } : report, null, 2)}\n`;
    if (flags.json) await writeFileAtomic(path.resolve(flags.json), json);
    if (!flags.quiet) {
      if (format === 'json') io.out(json);
      else if (format === 'markdown') io.out(markdownWithAdvice(report, compare));
      else {
        const advice = report.advice ? `\n\n${renderAdvice(report.advice, { chart: io.stdoutIsTTY })}` : '';
        io.out(`${renderBuildTable(report)}${compare ? `\n\n${renderDiffTable(compare)}` : ''}${advice}\n`);
      }
    }
    // In GitHub Actions, the summary lands on the run's page.
    if (io.env.GITHUB_STEP_SUMMARY) await fs.appendFile(io.env.GITHUB_STEP_SUMMARY, `${markdownWithAdvice(report, compare)}\n`);
    if (flags.annotations) for (const line of annotations(report)) io.out(`${line}\n`);
    if (report.warnings.length > 0) io.err(`${renderWarnings(report)}\n`);
    const overBudget = budgetFailureLines(report);
    if (overBudget.length > 0) io.err(`${overBudget.join('\n')}\n`);
    // Advice counts toward --strict like a warning, never otherwise.
    return exitCodeFor({ withinBudget: report.budgets.ok, warnings: report.warnings.length + (report.advice?.findings.length ?? 0), strict: flags.strict });
  } catch (error) {
    progress?.stop();
    io.err(`${renderError(error, Boolean(flags.debug))}\n`);
    return exitCodeFor({ error });
  } finally {
    release();
  }
}

/** Builds several functions of a project config: one report each, then a summary. */
async function runMany(project: ProjectConfig, names: string[], flags: BuildFlags, io: Io, fromCli: (key: string) => boolean): Promise<number> {
  const controller = new AbortController();
  const release = abortOnSignals(controller);
  try {
    const flagOptions = buildOptionsFrom(flags, fromCli);
    const concurrency = flags.concurrency === undefined ? project.concurrency : Number(flags.concurrency);
    const jsonBase = flags.json ? path.resolve(flags.json) : undefined;
    const results = await buildFunctions({
      project,
      names,
      flagOptions,
      concurrency,
      env: io.env,
      signal: controller.signal,
      reportPath: jsonBase ? (name) => jsonBase.replace(/(\.json)?$/, `.${name}.json`) : undefined,
      onDone: (result) => {
        if (flags.quiet) return;
        const line = result.report ? `✓ ${result.name} ${result.summary.zip}` : `✗ ${result.name}`;
        if (io.stderrIsTTY && !io.env.CI && flags.format !== 'json') io.err(`${line}\n`);
      },
    });
    const summary = summarizeFunctions(project, results);
    if (jsonBase) {
      for (const result of results) if (result.report) await writeFileAtomic(result.reportPath!, `${JSON.stringify(result.report, null, 2)}\n`);
      await writeFileAtomic(jsonBase, `${JSON.stringify(summary, null, 2)}\n`);
    }
    if (!flags.quiet) {
      if (flags.format === 'json') io.out(`${JSON.stringify({ ...summary, reports: Object.fromEntries(results.map((r) => [r.name, r.report ?? null])) }, null, 2)}\n`);
      else if (flags.format === 'markdown') io.out(results.flatMap((r) => (r.report ? [renderMarkdown(r.report)] : [])).join('\n'));
      else {
        for (const r of results) if (r.report) io.out(`== ${r.name} ==\n${renderBuildTable(r.report)}\n\n`);
        io.out(`${renderSummaryTable(summary)}\n`);
      }
    }
    if (io.env.GITHUB_STEP_SUMMARY) {
      await fs.appendFile(io.env.GITHUB_STEP_SUMMARY, results.flatMap((r) => (r.report ? [renderMarkdown(r.report)] : [])).join('\n'));
    }
    for (const r of results) {
      if (r.error) io.err(`${renderError(r.error, Boolean(flags.debug)).replace(/^error: /, `error: ${r.name}: `)}\n`);
      if (r.report) {
        if (flags.annotations) for (const line of annotations(r.report)) io.out(`${line}\n`);
        for (const w of r.report.warnings) io.err(`warning: ${r.name}: ${w.message}\n`);
        for (const line of budgetFailureLines(r.report)) io.err(`${line.replace(/^error: /, `error: ${r.name}: `)}\n`);
      }
    }
    return worstExitCode(results.map((r) => (r.error ? exitCodeFor({ error: r.error }) : exitCodeFor({ withinBudget: r.report!.budgets.ok, warnings: r.report!.warnings.length, strict: flags.strict }))));
  } finally {
    release();
  }
}

export function registerBuild(program: Command, io: Io, setExitCode: SetExitCode): void {
  program
    .command('build')
    .description('build a deployment zip from a function folder and its requirements (or the functions of a pyslim.config.json)')
    .argument('[dir...]', 'the folder with the handler code (default: .); with a pyslim.config.json, function names (default: all)')
    .option('--config <file>', 'project config: pyslim.config.json, or a package.json with a "pyslim" key (default: found in the working directory)')
    .option('--concurrency <n>', 'functions built at once (default: the config\'s, else 2)')
    .option('--layer', 'write a Lambda layer: everything under python/')
    .option('--with-layer <zip|report...>', 'layers the function runs with; packages they provide are left out')
    .option('-r, --requirements <file>', 'requirements.txt, pyproject.toml, uv.lock or poetry.lock (default: the first found in <dir>; without one only the source is packaged)')
    .addOption(new Option('--runtime <name>', `Lambda runtime: ${Object.keys(RUNTIMES).join(', ')}`).default(DEFAULT_RUNTIME))
    .addOption(new Option('--arch <arch>', `architecture: ${Object.keys(ARCHITECTURES).join(', ')}`).default(DEFAULT_ARCH))
    .addOption(new Option('--installer <kind>', `${INSTALLER_CHOICES.join(', ')}: auto picks a container when an engine answers, else local`).default('auto'))
    .option('-o, --out <file>', 'output zip', DEFAULT_OUT)
    .option('--json <file>', 'write the machine-readable report')
    .option('--budget <size>', 'exit 3 when the zip is larger, e.g. 10MB, 50MiB, 3000000')
    .option('--budget-unzipped <size>', 'exit 3 when the unzipped content (layers included) is larger')
    .option('--budget-package <name=size>', 'exit 3 when a package is larger unzipped (repeatable)', (value: string, previous: string[] = []) => [...previous, value])
    .option('--layers-size <size>', 'unzipped size of the layers the function runs with (counts toward the 250 MiB limit)')
    .addOption(new Option('--format <format>', 'stdout: table, json or markdown').default('table'))
    .option('--annotations', 'print GitHub workflow commands for budget failures and warnings')
    .option('--compare <report.json|zip>', 'show per-package deltas against a previous build')
    .addOption(new Option('--prune <profile>', `prune profile: ${PRUNE_PROFILES.join(', ')} (see pyslim rules)`).default('safe'))
    .option('--exclude <glob...>', 'extra paths to prune (.gitignore-style globs)')
    .option('--keep <glob...>', 'paths no prune rule may remove')
    .option('--boto-services <names...>', 'keep only these AWS services in botocore/data, e.g. s3,dynamodb')
    .option('--exclude-runtime-packages', "leave out boto3 and the packages the Lambda runtime provides")
    .option('--strip [mode]', 'strip installed shared objects: debug (default) or unneeded; never a full strip')
    .option('--no-verify', 'skip the import check')
    .option('--handler <module.function>', 'also check that the handler imports')
    .option('--verify-skip <modules...>', 'modules the import check leaves out')
    .option('--bytecode <mode>', 'none, compile (unchecked-hash .pyc) or only (sourceless); default compile when an interpreter for the runtime is available')
    .option('--profile', 'measure what the handler import costs at init, per package')
    .option('--runs <n>', 'fresh interpreters the profile imports in (default 5), and per memory setting for --advise (default 3)')
    .option('--advise', 'cold-start advice: init per Lambda memory setting under its CPU share, the slowest lines of the function\'s own init, checks on its code (see pyslim doctor)')
    .option('--memory <mb...>', 'memory settings --advise measures, e.g. 128,512,1769 (default 128,256,512,1024,1769,3008)')
    .option('--timeout <seconds>', 'stop an import of the handler that takes longer at full CPU (--advise; default 60)')
    .option('--python <path>', 'host Python that runs pip for the local installer')
    .option('--container-cli <cmd>', 'container engine: docker, podman, or a path (default: $PYSLIM_CONTAINER_CLI, else docker, then podman)')
    .option('--image <ref>', 'image for the container installer (default: public.ecr.aws/lambda/python:<version>-<arch>)')
    .option('--container-user <uid:gid>', "user the container runs as (default: the caller's; 0:0 for rootless engines)")
    .option('--container-timeout <seconds>', 'stop the container after this long (default 1800)')
    .option('--cache-dir <dir>', "pyslim's cache folder (default: $PYSLIM_CACHE_DIR, else $XDG_CACHE_HOME/pyslim, else ~/.cache/pyslim)")
    .option('--index-url <url>', "package index for pip, replacing the host pip's index-url")
    .option('--extra-index-url <url...>', 'extra package indexes')
    .option('--find-links <path|url...>', 'wheel folders or pages for pip')
    .option('--trusted-host <host...>', 'hosts pip may reach without valid HTTPS')
    .option('-c, --constraint <file...>', 'pip constraint files')
    .option('--keep-temp', "keep the build's temp folder for inspection (its path is in the JSON report)")
    .option('--no-cache', 'build the dependency layer from scratch and do not store it')
    .option('--cache-max-size <size>', 'cap on the cache; least-recently used entries go first (default 5GiB)')
    .option('--remote-cache <s3://bucket/prefix>', 'share the dependency cache through S3: look up on a local miss, upload after one (entries signed with $PYSLIM_CACHE_SIGNING_KEY)')
    .option('--remote-cache-endpoint <url>', 'S3-compatible endpoint for the remote cache (default: $AWS_ENDPOINT_URL_S3, else AWS)')
    .option('--remote-cache-read-only', 'download from the remote cache, never upload (for pull requests)')
    .option('--remote-cache-timeout <seconds>', 'give the remote cache up for the build when a request takes longer (default 30)')
    .option('--groups <names...>', 'optional-dependency extras or dependency groups to include (dev groups only when named)')
    .option('--strict', `exit ${EXIT_CODES.warnings} when the build has warnings (or --advise findings)`)
    .option('-q, --quiet', 'print only warnings and errors')
    .option('--debug', "show pip's output and stack traces on failure")
    .action(async (targets: string[], flags: BuildFlags, command: Command) =>
      setExitCode(await runBuild(targets, flags, io, (key) => command.getOptionValueSource(key) === 'cli')),
    );
}
