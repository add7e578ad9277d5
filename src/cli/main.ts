/**
 * The command line's entry: wires each command (src/cli/commands/) into commander and turns a
 * parse error into the usage exit code. Commands parse, call the library, render and exit;
 * nothing here builds anything.
 */
import { Command, CommanderError } from 'commander';
import { PYSLIM_VERSION } from '../assets.js';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';
import { registerBuild } from './commands/build.js';
import { registerCache } from './commands/cache.js';
import { registerDiff } from './commands/diff.js';
import { registerDoctor } from './commands/doctor.js';
import { registerInspect } from './commands/inspect.js';
import { registerProfile } from './commands/profile.js';
import { registerRules } from './commands/rules.js';
import { renderError, type Io, type SetExitCode } from './io.js';

export function createProgram(io: Io, setExitCode: SetExitCode): Command {
  const program = new Command('pyslim')
    .description('Build AWS Lambda deployment packages (.zip) for Python functions, trimmed for fast cold starts.')
    .version(PYSLIM_VERSION, '-V, --version')
    .showHelpAfterError(false)
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  registerBuild(program, io, setExitCode);
  registerProfile(program, io, setExitCode);
  registerInspect(program, io, setExitCode);
  registerDoctor(program, io, setExitCode);
  registerDiff(program, io, setExitCode);
  registerCache(program, io, setExitCode);
  registerRules(program, io);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = EXIT_CODES.ok;
  const io: Io = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    columns: process.stderr.columns,
    env: process.env,
  };
  // The AWS SDK (the remote cache) warns on stderr about Node versions it will drop; the CLI's
  // stderr is for the build's own warnings.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
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
