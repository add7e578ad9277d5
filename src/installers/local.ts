/**
 * The local installer: the host's pip, choosing wheels for the Lambda target rather than for the
 * host. It can only install wheels (pip cannot compile an sdist for another platform); the
 * container installer covers the rest.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { scriptPath } from '../assets.js';
import { PyslimError } from '../errors.js';
import type { Exec } from '../exec.js';
import { redact } from '../redact.js';
import { ARCHITECTURES, RUNTIMES, manylinuxTags, type ArchName, type RuntimeName } from '../runtimes.js';
import { hostTargetPython, type HostPython } from './host-python.js';
import { diagnosePipFailure } from './pip-diagnose.js';
import { parsePipReport } from './pip-report.js';
import { pipSourcesChange, readPipSources } from './pip-sources.js';
import type { Installer, InstallRequest } from './types.js';

export interface LocalInstallerOptions {
  exec: Exec;
  env: Readonly<Record<string, string | undefined>>;
  python: HostPython;
  /** The build's runtime: the host Python is a target interpreter only when its X.Y matches. */
  runtime: RuntimeName;
  reason: string;
  /** Extra pip options from pyslim's own flags (index URLs, find-links...), already validated. */
  pipOptions?: readonly string[];
}

/** Environment marker values of the Lambda target, for docker/pip_for_target.py. */
export function targetMarkers(runtime: RuntimeName, arch: ArchName): Record<string, string> {
  const version = RUNTIMES[runtime].pythonVersion;
  return {
    python_version: version,
    // Like pip's --python-version, which pads X.Y with zeros.
    python_full_version: `${version}.0`,
    implementation_version: `${version}.0`,
    implementation_name: 'cpython',
    platform_python_implementation: 'CPython',
    platform_machine: ARCHITECTURES[arch].wheelArch,
    platform_system: 'Linux',
    sys_platform: 'linux',
    os_name: 'posix',
  };
}

/** The pip arguments that select wheels for the target (everything but the requirements). */
export function localPipArgs(runtime: RuntimeName, arch: ArchName, targetDir: string): string[] {
  return [
    'install',
    '--target',
    targetDir,
    '--no-compile',
    '--only-binary=:all:',
    '--implementation',
    'cp',
    '--python-version',
    RUNTIMES[runtime].pythonVersion,
    ...manylinuxTags(runtime, arch).flatMap((tag) => ['--platform', tag]),
    '--disable-pip-version-check',
    '--no-input',
    '--progress-bar',
    'off',
  ];
}

/** The -r/-c/--require-hashes arguments of a request. */
export function requirementArgs(request: Pick<InstallRequest, 'requirementsFile' | 'constraintsFile' | 'requireHashes'>): string[] {
  return [
    ...(request.requireHashes ? ['--require-hashes'] : []),
    ...(request.constraintsFile ? ['-c', request.constraintsFile] : []),
    '-r',
    request.requirementsFile,
  ];
}

export function createLocalInstaller(options: LocalInstallerOptions): Installer {
  const { exec, python } = options;
  const env = { ...options.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' };
  const runPip = (runtime: RuntimeName, arch: ArchName, pipArgs: string[], request: Pick<InstallRequest, 'signal' | 'onLine' | 'scratchDir'>, extraEnv: Record<string, string> = {}) =>
    exec(python.executable, [scriptPath('pip_for_target.py'), JSON.stringify(targetMarkers(runtime, arch)), ...pipArgs], {
      env: { ...env, TMPDIR: request.scratchDir, ...extraEnv },
      signal: request.signal,
      onLine: request.onLine,
    });
  const failed = async (result: Awaited<ReturnType<Exec>>, request: InstallRequest) => {
    if (result.cancelled) return new PyslimError('INTERRUPTED', 'build interrupted');
    return diagnosePipFailure(result, {
      runtime: request.runtime,
      arch: request.arch,
      installer: 'local',
      probeNewerGlibc: (requirement) => probeNewerGlibc(requirement, request.runtime, request.arch, request, runPip),
    });
  };

  return {
    kind: 'local',
    reason: options.reason,
    async install(request) {
      const { runtime, arch } = request;
      const args = [...localPipArgs(runtime, arch, request.targetDir), ...(options.pipOptions ?? []), ...requirementArgs(request)];
      const result = await runPip(runtime, arch, args, request);
      if (result.exitCode !== 0 || result.cancelled) throw await failed(result, request);
      let log = `${result.stdout}\n${result.stderr}`;
      if (request.localPaths.length > 0) {
        // Local packages are built from source, without the wheel-only platform flags: pip cannot
        // build anything for another platform, so the native-code audit checks what comes out.
        // Their dependencies are already in the requirements.
        const local = await runPip(runtime, arch, ['install', '--target', request.targetDir, '--no-compile', '--no-deps', '--disable-pip-version-check', '--no-input', '--progress-bar', 'off', ...(options.pipOptions ?? []), ...request.localPaths], request);
        if (local.exitCode !== 0 || local.cancelled) throw await failed(local, request);
        log += `\n${local.stdout}\n${local.stderr}`;
      }
      return { log: redact(log) };
    },
    async resolve(request) {
      const { runtime, arch } = request;
      const report = path.join(request.scratchDir, `resolve-${process.pid}.json`);
      const args = [
        ...localPipArgs(runtime, arch, path.join(request.scratchDir, 'resolve-target')),
        ...(options.pipOptions ?? []),
        '--dry-run',
        '--ignore-installed',
        '--quiet',
        '--report',
        report,
        ...requirementArgs(request),
      ];
      const record = path.join(request.scratchDir, `resolve-sources-${process.pid}.json`);
      const result = await runPip(runtime, arch, args, request, { PYSLIM_PIP_SOURCES: record });
      if (result.exitCode !== 0 || result.cancelled) throw await failed(result, request);
      const distributions = parsePipReport(await fs.readFile(report, 'utf8'));
      const sources = await readPipSources(record, { env, pipVersion: python.pipVersion, ownFolders: [path.dirname(request.requirementsFile)], distributions });
      return { distributions, ...(sources ? { sources } : {}) };
    },
    async sourcesChange(sources) {
      return pipSourcesChange(sources, { env, pipVersion: python.pipVersion });
    },
    async targetPython() {
      return python.version === RUNTIMES[options.runtime].pythonVersion ? hostTargetPython(exec, env, python) : null;
    },
  };
}

/** Asks pip which wheel it would pick with the glibc cap lifted (dry run, nothing installed). */
async function probeNewerGlibc(
  requirement: string,
  runtime: RuntimeName,
  arch: ArchName,
  request: Pick<InstallRequest, 'signal' | 'scratchDir'>,
  runPip: (runtime: RuntimeName, arch: ArchName, args: string[], request: Pick<InstallRequest, 'signal' | 'scratchDir'>) => ReturnType<Exec>,
): Promise<string | undefined> {
  const scratch = await fs.mkdtemp(path.join(request.scratchDir, 'probe-'));
  try {
    const args = localPipArgs(runtime, arch, path.join(scratch, 'target'))
      .filter((arg, i, all) => arg !== '--platform' && all[i - 1] !== '--platform')
      .concat(manylinuxTags(runtime, arch, '2.50').flatMap((tag) => ['--platform', tag]))
      .concat(['--dry-run', '--no-deps', '--ignore-installed', '--quiet', '--report', '-', requirement]);
    const result = await runPip(runtime, arch, args, request);
    if (result.exitCode !== 0) return undefined;
    const report = JSON.parse(result.stdout) as { install?: { download_info?: { url?: string } }[] };
    const url = report.install?.[0]?.download_info?.url;
    return url ? decodeURIComponent(url.split('/').pop()!.split('#')[0]!) : undefined;
  } catch {
    return undefined; // the probe only improves the message; the original failure stands
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}
