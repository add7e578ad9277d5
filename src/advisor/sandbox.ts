/**
 * The one place the advisor runs the user's code (importing their handler): through the exec
 * seam, with a timeout, a scrubbed environment (no credentials, no host settings), and, when a
 * cgroup is given, inside it. This is meant to move onto the shared sandbox helper (issue 14)
 * once that exists: only this function changes.
 */
import { scriptPath } from '../assets.js';
import type { Exec } from '../exec.js';
import type { PathArg, TargetPython } from '../installers/types.js';
import type { RunCgroup } from './quota.js';

export interface UserCodeRun {
  python: TargetPython;
  exec: Exec;
  /** Arguments of docker/advise.py. */
  args: readonly (string | PathArg)[];
  timeoutMs: number;
  /** Join this cgroup before the interpreter starts (host interpreters only). */
  cgroup?: RunCgroup;
  /** AWS_LAMBDA_FUNCTION_MEMORY_SIZE, as Lambda sets it. */
  memoryMb?: number;
  signal?: AbortSignal;
}

export interface UserCodeResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  cancelled: boolean;
}

/**
 * What the user's code sees of the environment: what Lambda itself would set, nothing of the
 * build host's (no AWS credentials, so an SDK call at init fails as it would without a role).
 */
export function scrubbedEnv(memoryMb: number | undefined): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    HOME: '/tmp',
    PYTHONDONTWRITEBYTECODE: '1',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    // botocore would otherwise ask the EC2 metadata service for credentials.
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb ?? 1769),
  };
}

// Joins the cgroup, then becomes the interpreter: the quota applies from its first instruction.
const JOIN_CGROUP = 'echo $$ > "$0" && exec "$@"';

export async function runUserCode(run: UserCodeRun): Promise<UserCodeResult> {
  const script = scriptPath('advise.py');
  if (run.python.hostExecutable === undefined) {
    // A container interpreter: the engine's run gives the isolation and the timeout.
    const result = await run.python.runScript('advise.py', run.args, { isolated: true, timeoutMs: run.timeoutMs, signal: run.signal, env: scrubbedEnv(run.memoryMb) });
    return { ...result, timedOut: result.exitCode === undefined && !run.signal?.aborted, cancelled: Boolean(run.signal?.aborted) };
  }
  const argv = ['-I', '-S', '-B', script, ...run.args.map((a) => (typeof a === 'string' ? a : a.hostPath))];
  const [command, args] = run.cgroup ? ['/bin/sh', ['-c', JOIN_CGROUP, run.cgroup.procs, run.python.hostExecutable, ...argv]] : [run.python.hostExecutable, argv];
  const result = await run.exec(command, args, { env: scrubbedEnv(run.memoryMb), timeoutMs: run.timeoutMs, signal: run.signal });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, timedOut: result.timedOut, cancelled: result.cancelled };
}
