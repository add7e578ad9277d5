/**
 * The command line: parses, calls the library, renders, and sets the exit code. Nothing here
 * builds anything.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import prettyBytes from 'pretty-bytes';
import { PYSLIM_VERSION } from '../assets.js';
import { DepsCache } from '../cache/store.js';
import { findProjectConfig, nearest, type ProjectConfig } from '../config-file.js';
import { buildFunctions, summarizeFunctions, worstExitCode } from '../project.js';
import { DEFAULT_OUT, resolveCacheDir } from '../config.js';
import { isPyslimError } from '../errors.js';
import { build } from '../pipeline/build.js';
import { ARCHITECTURES, DEFAULT_ARCH, DEFAULT_RUNTIME, RUNTIMES } from '../runtimes.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';
import { createProgressRenderer } from './progress.js';
import { diffReports, readComparable } from '../inspect/diff.js';
import { inspectZip } from '../inspect/inspect.js';
import { profileZip, type ProfileZipOptions } from '../inspect/profile-zip.js';
import { renderDiffTable, renderInspectTable } from './render-inspect.js';
import { describeCheck, renderMarkdown } from './render-markdown.js';
import { renderBuildTable, renderProfileTable, renderRules, renderSummaryTable, renderWarnings } from './render-table.js';
import { INSTALLER_CHOICES, PRUNE_PROFILES } from '../model/modes.js';
import type { BuildOptions } from '../model/options.js';
import type { BuildReport } from '../model/report.js';

interface Io {
  out(text: string): void;
  err(text: string): void;
  stderrIsTTY: boolean;
  columns: number | undefined;
  env: Readonly<Record<string, string | undefined>>;
}

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

/** Renders any failure as one line (plus details and stack with --debug). */
export function renderError(error: unknown, debug: boolean): string {
  if (isPyslimError(error)) {
    const lines = [`error: ${error.line}`];
    if (debug && error.details) lines.push(error.details);
    if (debug && error.kind === 'internal' && error.stack) lines.push(error.stack);
    return lines.join('\n');
  }
  const message = error instanceof Error ? error.message : String(error);
  return debug && error instanceof Error && error.stack
    ? `error: internal error: ${error.stack}`
    : `error: internal error: ${message} (run with --debug for the stack trace, and please report it)`;
}

async function writeFileAtomic(file: string, content: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, content);
  await fs.rename(temp, file);
}

/** Ctrl-C and SIGTERM abort the build; a second Ctrl-C exits at once. */
function abortOnSignals(controller: AbortController): () => void {
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(EXIT_CODES.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** One line per exceeded limit, then the biggest contributors and what would cut them. */
export function budgetFailureLines(report: BuildReport): string[] {
  const failed = report.budgets.checks.filter((c) => !c.ok);
  if (failed.length === 0) return [];
  const over = (actual: number, limit: number) => `${prettyBytes(actual)}, over ${prettyBytes(limit)} by ${prettyBytes(actual - limit)}`;
  const lines = failed.map((c) => {
    switch (c.kind) {
      case 'zip':
        return `error: the zip is ${prettyBytes(c.actualBytes)}, over the budget of ${prettyBytes(c.limitBytes)} by ${prettyBytes(c.actualBytes - c.limitBytes)}`;
      case 'unzipped':
        return `error: unzipped (layers included) is ${over(c.actualBytes, c.limitBytes)} (--budget-unzipped)`;
      case 'package':
        return `error: ${c.name} is ${over(c.actualBytes, c.limitBytes)} unzipped (--budget-package)`;
      case 'lambda-unzipped':
        return `error: function and layers unzip to ${over(c.actualBytes, c.limitBytes)}, Lambda's limit (250 MiB): Lambda will refuse to create it`;
    }
  });
  const biggest = report.budgets.contributors.map((p) => `${p.name} ${prettyBytes(p.bytes)}`).join(', ');
  const cuts = report.budgets.suggestions.map((s) => `${s.action} −${prettyBytes(s.savesBytes)}`).join('; ');
  lines.push(`biggest: ${biggest || 'the function source'}${cuts ? `. Would cut: ${cuts}` : ''}`);
  return lines;
}

/** GitHub workflow commands: one error annotation per exceeded limit, one warning per warning. */
export function annotations(report: BuildReport): string[] {
  const escape = (text: string) => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  return [
    ...report.budgets.checks.filter((c) => !c.ok).map((c) => `::error title=pyslim budget::${escape(describeCheck(c))}, over by ${prettyBytes(c.actualBytes - c.limitBytes)}`),
    ...report.warnings.map((w) => `::warning title=pyslim ${w.code}::${escape(w.message)}`),
  ];
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
    withLayers: 'withLayer',
  };
  return Object.fromEntries(Object.entries(all).filter(([key]) => only(flagOf[key as keyof BuildOptions] ?? key))) as BuildOptions;
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
      else if (format === 'markdown') io.out(renderMarkdown(report, compare));
      else io.out(`${renderBuildTable(report)}${compare ? `\n\n${renderDiffTable(compare)}` : ''}\n`);
    }
    // In GitHub Actions, the summary lands on the run's page.
    if (io.env.GITHUB_STEP_SUMMARY) await fs.appendFile(io.env.GITHUB_STEP_SUMMARY, `${renderMarkdown(report, compare)}\n`);
    if (flags.annotations) for (const line of annotations(report)) io.out(`${line}\n`);
    if (report.warnings.length > 0) io.err(`${renderWarnings(report)}\n`);
    const overBudget = budgetFailureLines(report);
    if (overBudget.length > 0) io.err(`${overBudget.join('\n')}\n`);
    return exitCodeFor({ withinBudget: report.budgets.ok, warnings: report.warnings.length, strict: flags.strict });
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



interface ProfileFlags {
  handler: string;
  runtime?: string;
  arch: string;
  installer: string;
  python?: string;
  containerCli?: string;
  image?: string;
  runs?: string;
  json?: string;
  quiet?: boolean;
  debug?: boolean;
}

async function runProfile(zip: string, flags: ProfileFlags, io: Io): Promise<number> {
  const controller = new AbortController();
  const release = abortOnSignals(controller);
  try {
    const profile = await profileZip({
      zip,
      handler: flags.handler,
      runtime: flags.runtime,
      arch: flags.arch,
      installer: flags.installer as ProfileZipOptions['installer'],
      python: flags.python,
      containerCli: flags.containerCli,
      image: flags.image,
      runs: flags.runs === undefined ? undefined : Number(flags.runs),
      env: io.env,
      signal: controller.signal,
    });
    if (flags.json) await writeFileAtomic(path.resolve(flags.json), `${JSON.stringify(profile, null, 2)}\n`);
    if (!flags.quiet) io.out(`${renderProfileTable(profile)}\n`);
    return EXIT_CODES.ok;
  } catch (error) {
    io.err(`${renderError(error, Boolean(flags.debug))}\n`);
    return exitCodeFor({ error });
  } finally {
    release();
  }
}

/** Runs a read-only command (inspect, diff): errors are one line with the documented exit code. */
async function runReader(io: Io, flags: { debug?: boolean }, work: () => Promise<void>): Promise<number> {
  try {
    await work();
    return EXIT_CODES.ok;
  } catch (error) {
    io.err(`${renderError(error, Boolean(flags.debug))}\n`);
    return exitCodeFor({ error });
  }
}

export function createProgram(io: Io, setExitCode: (code: number) => void): Command {
  const program = new Command('pyslim')
    .description('Build AWS Lambda deployment packages (.zip) for Python functions, trimmed for fast cold starts.')
    .version(PYSLIM_VERSION, '-V, --version')
    .showHelpAfterError(false)
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();

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
    .option('--runs <n>', 'fresh interpreters the profile imports in (default 5)')
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
    .option('--groups <names...>', 'optional-dependency extras or dependency groups to include (dev groups only when named)')
    .option('--strict', `exit ${EXIT_CODES.warnings} when the build has warnings`)
    .option('-q, --quiet', 'print only warnings and errors')
    .option('--debug', "show pip's output and stack traces on failure")
    .action(async (targets: string[], flags: BuildFlags, command: Command) =>
      setExitCode(await runBuild(targets, flags, io, (key) => command.getOptionValueSource(key) === 'cli')),
    );

  program
    .command('profile')
    .description('measure what importing the handler of any Lambda zip costs at init, per package')
    .argument('<zip>', 'a deployment zip, from pyslim or any other tool')
    .requiredOption('--handler <module.function>', 'the handler, as in the Lambda configuration')
    .option('--runtime <name>', "Lambda runtime (default: from the zip's bytecode, else python3.12)")
    .addOption(new Option('--arch <arch>', `architecture: ${Object.keys(ARCHITECTURES).join(', ')}`).default(DEFAULT_ARCH))
    .addOption(new Option('--installer <kind>', 'where the runtime interpreter comes from: auto, local (the host) or docker (the Lambda image)').default('auto'))
    .option('--python <path>', "host Python of the runtime's version")
    .option('--container-cli <cmd>', 'container engine: docker, podman, or a path')
    .option('--image <ref>', 'image whose Python imports the zip')
    .option('--runs <n>', 'fresh interpreters to import in (default 5)')
    .option('--json <file>', 'write the profile as JSON')
    .option('-q, --quiet', 'print only errors')
    .option('--debug', 'show the interpreter output on failure')
    .action(async (zip: string, flags: ProfileFlags) => setExitCode(await runProfile(zip, flags, io)));

  program
    .command('inspect')
    .description('per-package sizes, compressed and unzipped, of any Lambda zip')
    .argument('<zip>', 'a deployment zip, from pyslim or any other tool')
    .option('--json <file>', 'write the result as JSON')
    .option('--debug', 'show stack traces on failure')
    .action(async (zip: string, flags: { json?: string; debug?: boolean }) =>
      setExitCode(
        await runReader(io, flags, async () => {
          const report = await inspectZip(zip);
          if (flags.json) await writeFileAtomic(path.resolve(flags.json), `${JSON.stringify(report, null, 2)}\n`);
          io.out(`${renderInspectTable(report)}\n`);
        }),
      ),
    );

  program
    .command('diff')
    .description('per-package deltas between two zips (or pyslim JSON reports)')
    .argument('<before>', 'zip or report JSON')
    .argument('<after>', 'zip or report JSON')
    .option('--json <file>', 'write the diff as JSON')
    .option('--all', 'list unchanged packages too')
    .option('--debug', 'show stack traces on failure')
    .action(async (before: string, after: string, flags: { json?: string; all?: boolean; debug?: boolean }) =>
      setExitCode(
        await runReader(io, flags, async () => {
          const diff = diffReports(await readComparable(before), await readComparable(after));
          if (flags.json) await writeFileAtomic(path.resolve(flags.json), `${JSON.stringify(diff, null, 2)}\n`);
          io.out(`${renderDiffTable(diff, { all: flags.all })}\n`);
        }),
      ),
    );

  const cache = program.command('cache').description("manage pyslim's dependency cache");
  cache
    .command('clean')
    .description('remove every cached dependency layer')
    .option('--cache-dir <dir>', 'the cache folder (default: $PYSLIM_CACHE_DIR, else $XDG_CACHE_HOME/pyslim, else ~/.cache/pyslim)')
    .action(async (flags: { cacheDir?: string }) =>
      setExitCode(
        await runReader(io, {}, async () => {
          const dir = resolveCacheDir(flags.cacheDir, io.env, process.cwd());
          const { entries, bytes } = await new DepsCache(dir).clean();
          io.out(`removed ${entries} cached layer${entries === 1 ? '' : 's'} (${prettyBytes(bytes)}) from ${dir}\n`);
        }),
      ),
    );

  program
    .command('rules')
    .description('list the prune rules, what each removes and why, and its known exceptions')
    .action(() => io.out(`${renderRules()}\n`));

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = EXIT_CODES.ok;
  const io: Io = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    columns: process.stderr.columns,
    env: process.env,
  };
  const program = createProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every parse error (commander already printed its line) is usage.
      return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    io.err(`${renderError(error, argv.includes('--debug'))}\n`);
    return exitCodeFor({ error });
  }
  return exitCode;
}
