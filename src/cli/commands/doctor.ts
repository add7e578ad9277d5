/**
 * `pyslim doctor [dir|zip]`: the cold-start advisor. On a zip (any tool's) it runs on a read-only
 * extraction; on a folder it builds the function first (into a temp zip, nothing written beside
 * it) with --advise. Findings are advice: exit 0 unless --strict.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { doctorZip } from '../../advisor/advise-zip.js';
import { EXIT_CODES, exitCodeFor } from '../../exit-codes.js';
import { INSTALLER_CHOICES, type InstallerChoice } from '../../model/modes.js';
import type { Advice } from '../../model/report.js';
import { build } from '../../pipeline/build.js';
import { ARCHITECTURES, DEFAULT_ARCH } from '../../runtimes.js';
import { abortOnSignals, renderError, writeFileAtomic, type Io, type SetExitCode } from '../io.js';
import { renderAdvice, renderAdviceMarkdown } from '../render-advice.js';

interface DoctorFlags {
  handler?: string;
  runtime?: string;
  arch: string;
  installer: string;
  python?: string;
  containerCli?: string;
  image?: string;
  memory?: string[];
  runs?: string;
  timeout?: string;
  requirements?: string;
  indexUrl?: string;
  findLinks?: string[];
  json?: string;
  format: string;
  strict?: boolean;
  quiet?: boolean;
  debug?: boolean;
}

async function runDoctor(target: string, flags: DoctorFlags, io: Io): Promise<number> {
  if (!['table', 'json', 'markdown'].includes(flags.format)) {
    io.err(`error: invalid --format "${flags.format}". Use one of table, json, markdown\n`);
    return EXIT_CODES.usage;
  }
  const controller = new AbortController();
  const release = abortOnSignals(controller);
  try {
    const advice = target.endsWith('.zip') ? await doctorOnZip(target, flags, io, controller.signal) : await doctorOnFolder(target, flags, io, controller.signal);
    const json = `${JSON.stringify(advice, null, 2)}\n`;
    if (flags.json) await writeFileAtomic(path.resolve(flags.json), json);
    if (!flags.quiet) {
      if (flags.format === 'json') io.out(json);
      else if (flags.format === 'markdown') io.out(`${renderAdviceMarkdown(advice)}\n`);
      else io.out(`${renderAdvice(advice, { chart: io.stdoutIsTTY })}\n`);
    }
    return exitCodeFor({ warnings: advice.findings.length, strict: flags.strict });
  } catch (error) {
    io.err(`${renderError(error, Boolean(flags.debug))}\n`);
    return exitCodeFor({ error });
  } finally {
    release();
  }
}

const numberOrUndefined = (value: string | undefined) => (value === undefined ? undefined : Number(value));

function doctorOnZip(zip: string, flags: DoctorFlags, io: Io, signal: AbortSignal): Promise<Advice> {
  return doctorZip({
    zip,
    handler: flags.handler,
    runtime: flags.runtime,
    arch: flags.arch,
    installer: flags.installer as InstallerChoice,
    python: flags.python,
    containerCli: flags.containerCli,
    image: flags.image,
    memory: flags.memory,
    runs: numberOrUndefined(flags.runs),
    timeout: numberOrUndefined(flags.timeout),
    indexUrl: flags.indexUrl,
    findLinks: flags.findLinks,
    env: io.env,
    signal,
  });
}

async function doctorOnFolder(dir: string, flags: DoctorFlags, io: Io, signal: AbortSignal): Promise<Advice> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'pyslim-doctor-'));
  try {
    const report = await build({
      dir,
      out: path.join(work, 'function.zip'),
      requirements: flags.requirements,
      handler: flags.handler,
      runtime: flags.runtime,
      arch: flags.arch,
      installer: flags.installer as InstallerChoice,
      python: flags.python,
      containerCli: flags.containerCli,
      image: flags.image,
      indexUrl: flags.indexUrl,
      findLinks: flags.findLinks,
      advise: true,
      adviseMemory: flags.memory,
      adviseRuns: numberOrUndefined(flags.runs),
      adviseTimeout: numberOrUndefined(flags.timeout),
      env: io.env,
      signal,
    });
    return report.advice!;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

export function registerDoctor(program: Command, io: Io, setExitCode: SetExitCode): void {
  program
    .command('doctor')
    .description("cold-start advice: init per Lambda memory setting under its CPU share, the function's slowest init lines, checks on its code")
    .argument('[target]', 'a function folder (built first) or a deployment zip', '.')
    .option('--handler <module.function>', 'the handler (default: lambda_function.lambda_handler, handler.handler, app.handler or main.handler, whichever file exists)')
    .option('--runtime <name>', "Lambda runtime (default: a zip's bytecode says, else python3.12)")
    .addOption(new Option('--arch <arch>', `architecture: ${Object.keys(ARCHITECTURES).join(', ')}`).default(DEFAULT_ARCH))
    .addOption(new Option('--installer <kind>', `${INSTALLER_CHOICES.join(', ')}: where the runtime's interpreter comes from`).default('auto'))
    .option('--python <path>', "host Python of the runtime's version")
    .option('--container-cli <cmd>', 'container engine: docker, podman, or a path')
    .option('--image <ref>', 'image whose Python runs the code')
    .option('--memory <mb...>', 'memory settings to measure, e.g. 128,512,1769 (default 128,256,512,1024,1769,3008)')
    .option('--runs <n>', 'fresh interpreters per memory setting (default 3)')
    .option('--timeout <seconds>', 'stop an import of the handler that takes longer at full CPU (default 60)')
    .option('-r, --requirements <file>', 'for a folder: its dependency file (default: found in the folder)')
    .option('--index-url <url>', "package index for pip (a folder's install, and the arm64 check)")
    .option('--find-links <path|url...>', "wheel folders or pages for pip (a folder's install, and the arm64 check)")
    .option('--json <file>', 'write the advice as JSON')
    .addOption(new Option('--format <format>', 'stdout: table, json or markdown').default('table'))
    .option('--strict', `exit ${EXIT_CODES.warnings} when there are findings`)
    .option('-q, --quiet', 'print only errors')
    .option('--debug', 'show the interpreter output on failure')
    .action(async (target: string, flags: DoctorFlags) => setExitCode(await runDoctor(target, flags, io)));
}
