/** What every command shares: the terminal it writes to, one-line errors, atomic output files, Ctrl-C. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { EXIT_CODES, exitCodeFor } from '../exit-codes.js';
import { isPyslimError } from '../errors.js';

/** The process's streams and environment, passed in so that commands are testable. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  stderrIsTTY: boolean;
  /** Whether stdout is a terminal (charts are drawn only there). */
  stdoutIsTTY?: boolean;
  columns: number | undefined;
  env: Readonly<Record<string, string | undefined>>;
}

/** Sets the process exit code of the command that ran. */
export type SetExitCode = (code: number) => void;

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

export async function writeFileAtomic(file: string, content: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, content);
  await fs.rename(temp, file);
}

/** Ctrl-C and SIGTERM abort the build; a second Ctrl-C exits at once. */
export function abortOnSignals(controller: AbortController): () => void {
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

/** Runs a read-only command (inspect, diff): errors are one line with the documented exit code. */
export async function runReader(io: Io, flags: { debug?: boolean }, work: () => Promise<void>): Promise<number> {
  try {
    await work();
    return EXIT_CODES.ok;
  } catch (error) {
    io.err(`${renderError(error, Boolean(flags.debug))}\n`);
    return exitCodeFor({ error });
  }
}
