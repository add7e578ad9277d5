/** Finding the host's Python and pip, for the local installer and as a target interpreter. */
import { PyslimError } from '../errors.js';
import type { Exec } from '../exec.js';
import { scriptPath } from '../assets.js';
import type { PathArg, TargetPython, TargetPythonRun } from './types.js';

export interface HostPython {
  /** The command as found (e.g. "python3.12", or the --python value). */
  command: string;
  /** sys.executable. */
  executable: string;
  /** "3.11" */
  version: string;
  /** pip's version, or undefined when this Python has no pip. */
  pipVersion: string | undefined;
}

const PROBE = 'import sys; print("%d.%d" % sys.version_info[:2]); print(sys.executable)\ntry:\n import pip; print(pip.__version__)\nexcept ImportError:\n print("")';

/**
 * Finds a Python with pip: the one given, or `pythonX.Y` for the runtime's version, then
 * `python3`, then `python`. Prefers an exact version match, which can also compile bytecode and
 * check imports for the target.
 */
export async function findHostPython(
  exec: Exec,
  env: Readonly<Record<string, string | undefined>>,
  runtimeVersion: string,
  explicit?: string,
  { requirePip = true }: { requirePip?: boolean } = {},
): Promise<HostPython> {
  const candidates = explicit ? [explicit] : [`python${runtimeVersion}`, 'python3', 'python'];
  let withoutPip: HostPython | undefined;
  for (const command of candidates) {
    const result = await exec(command, ['-c', PROBE], { env, timeoutMs: 30_000 });
    if (result.exitCode !== 0) continue;
    const [version = '', executable = '', pipVersion = ''] = result.stdout.split(/\r?\n/).map((l) => l.trim());
    const found = { command, executable, version, pipVersion: pipVersion || undefined };
    if (found.pipVersion || !requirePip) return found;
    withoutPip ??= found;
  }
  if (withoutPip) {
    throw new PyslimError('PIP_MISSING', `pip is not available for ${withoutPip.command} (${withoutPip.executable})`, {
      hint: `Install it with "${withoutPip.command} -m ensurepip --upgrade", or build with --installer docker`,
    });
  }
  throw new PyslimError('PYTHON_MISSING', explicit ? `cannot run Python "${explicit}"` : 'no Python found on PATH (tried python' + runtimeVersion + ', python3, python)', {
    hint: 'Install Python 3 with pip, pass --python <path>, or build with --installer docker',
  });
}

/** The host Python as a target interpreter; only valid when its version equals the runtime's. */
export function hostTargetPython(
  exec: Exec,
  env: Readonly<Record<string, string | undefined>>,
  python: HostPython,
): TargetPython {
  return {
    description: `host python${python.version} (${python.executable})`,
    hostExecutable: python.executable,
    async runScript(script, args, options = {}): Promise<TargetPythonRun> {
      // -I -S: no user or system site-packages, no PYTHON* variables; -B: no bytecode written.
      const flags = options.isolated ? ['-I', '-S', '-B'] : options.withoutSite ? ['-S'] : [];
      const argv = [...flags, scriptPath(script), ...args.map((a: string | PathArg) => (typeof a === 'string' ? a : a.hostPath))];
      const result = await exec(python.executable, argv, {
        env: { ...env, ...options.env, PYTHONDONTWRITEBYTECODE: '1' },
        signal: options.signal,
        timeoutMs: options.timeoutMs,
      });
      if (result.cancelled) throw new PyslimError('INTERRUPTED', 'build interrupted');
      return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
    },
  };
}
