/**
 * A recording stand-in for the subprocess seam (src/exec.ts), for the few behaviours that cannot
 * run on these machines (a Docker daemon's socket permissions, exec format errors, argv details).
 * Every test that uses it says so.
 */
import type { Exec, ExecOptions, ExecResult } from '../../src/exec.js';

export interface Call {
  command: string;
  args: readonly string[];
  options: ExecOptions;
}

type Reply = Partial<ExecResult> | ((call: Call) => Partial<ExecResult> | Promise<Partial<ExecResult>>);

/** Answers each call with the first rule whose pattern matches `command args...`. */
export function fakeExec(rules: [RegExp, Reply][]): { exec: Exec; calls: Call[] } {
  const calls: Call[] = [];
  const exec: Exec = async (command, args, options = {}) => {
    const call = { command, args, options };
    calls.push(call);
    const line = [command, ...args].join(' ');
    const rule = rules.find(([pattern]) => pattern.test(line));
    const reply = rule ? (typeof rule[1] === 'function' ? await rule[1](call) : rule[1]) : { exitCode: 0 };
    return {
      command,
      args,
      exitCode: 0,
      signal: undefined,
      stdout: '',
      stderr: '',
      timedOut: false,
      cancelled: false,
      spawnError: undefined,
      ...reply,
    };
  };
  return { exec, calls };
}

/** The PyslimError a promise rejects with; fails the test if it resolves instead. */
export async function rejection(promise: Promise<unknown>): Promise<import('../../src/errors.js').PyslimError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!outcome) throw new Error('expected the promise to reject, but it resolved');
  return outcome as import('../../src/errors.js').PyslimError;
}
