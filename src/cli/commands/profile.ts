/** `pyslim profile <zip>`: the init-time profile of any Lambda zip (its code runs, from a read-only extraction). */
import path from 'node:path';
import { Option, type Command } from 'commander';
import { EXIT_CODES, exitCodeFor } from '../../exit-codes.js';
import { profileZip, type ProfileZipOptions } from '../../inspect/profile-zip.js';
import { ARCHITECTURES, DEFAULT_ARCH } from '../../runtimes.js';
import { abortOnSignals, renderError, writeFileAtomic, type Io, type SetExitCode } from '../io.js';
import { renderProfileTable } from '../render-table.js';

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

export function registerProfile(program: Command, io: Io, setExitCode: SetExitCode): void {
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
}
