/**
 * The one seam through which pyslim runs subprocesses (pip, python, the container engine, strip).
 *
 * Everything else receives an `Exec` function instead of calling execa, so that tests which
 * cannot run a real program can record the exact argv here, and nothing else needs mocking.
 */
import { execa } from 'execa';

export interface ExecOptions {
  cwd?: string;
  /** The complete environment of the child; the caller resolves it once from the boundary. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Aborting kills the child (SIGTERM, then SIGKILL after a grace period). */
  signal?: AbortSignal;
  timeoutMs?: number;
  input?: string;
  /** Receives each line the child writes to stdout or stderr, as it arrives. */
  onLine?: (line: string) => void;
}

export interface ExecResult {
  command: string;
  args: readonly string[];
  /** Undefined when the child did not exit on its own (killed, timed out, never started). */
  exitCode: number | undefined;
  /** The signal that ended the child, if one did. */
  signal: string | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  cancelled: boolean;
  /** Set when the program could not be started at all, e.g. 'ENOENT' when it is not installed. */
  spawnError: string | undefined;
}

export type Exec = (command: string, args: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

/** The real implementation, over execa. */
export const execSubprocess: Exec = async (command, args, options = {}) => {
  const child = execa(command, [...args], {
    reject: false,
    cwd: options.cwd,
    env: options.env as Record<string, string> | undefined,
    extendEnv: options.env === undefined,
    cancelSignal: options.signal,
    timeout: options.timeoutMs,
    forceKillAfterDelay: 5_000,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : 'pipe',
    stripFinalNewline: true,
  });
  if (options.onLine) forwardLines(child, options.onLine);
  const result = await child;
  const code = (result as { code?: unknown }).code;
  const spawnError =
    result.exitCode === undefined && !result.isCanceled && !result.timedOut && result.signal === undefined && typeof code === 'string'
      ? code
      : undefined;
  return {
    command,
    args,
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: typeof result.stdout === 'string' ? result.stdout : '',
    stderr: typeof result.stderr === 'string' ? result.stderr : '',
    timedOut: result.timedOut,
    cancelled: result.isCanceled,
    spawnError,
  };
};

function forwardLines(child: ReturnType<typeof execa>, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream?.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine(line);
    });
    stream?.on('end', () => {
      if (pending.trim()) onLine(pending);
    });
  }
}

/** The last `count` non-empty lines of a subprocess's output, for diagnostics. */
export function lastLines(text: string, count: number): string {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .slice(-count)
    .join('\n');
}
