/**
 * The container installer: pip runs inside the Lambda image for the runtime and architecture, so
 * what gets installed (sdists compiled from source included) matches Lambda's OS, glibc and
 * Python exactly. The same image runs pyslim's scripts for bytecode and import checks.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SCRIPTS_DIR } from '../assets.js';
import { PyslimError } from '../errors.js';
import type { Exec, ExecResult } from '../exec.js';
import { redact } from '../redact.js';
import { ARCHITECTURES, RUNTIMES, type ArchName, type RuntimeName } from '../runtimes.js';
import { diagnoseRunFailure, type Engine } from './engine.js';
import { HOST_MOUNT_PREFIX, type ForwardedIndex, type Mount } from './index-config.js';
import { diagnosePipFailure } from './pip-diagnose.js';
import { parsePipReport } from './pip-report.js';
import { pipSourcesChange, readPipSources } from './pip-sources.js';
import type { Installer, InstallRequest, PathArg, TargetPython } from './types.js';

/** Where pyslim's docker/ scripts appear inside the container. */
export const CONTAINER_SCRIPTS = '/pyslim/scripts';
const CONTAINER_OUT = '/pyslim/out';
const CONTAINER_REQUIREMENTS = '/pyslim/req';
const CONTAINER_PIP_CACHE = '/pyslim/pip-cache';
/** Copies of local packages; pip builds them in place, so these mounts are writable. */
const CONTAINER_LOCAL = '/pyslim/local';
const INSTALL_MARKER = /^pyslim-install: running pip with (\S+) (\d+\.\d+)$/m;

/** Host pip settings that are not index configuration but still shape pip's behaviour inside. */
const FORWARDED_PIP_ENV = ['PIP_RETRIES', 'PIP_DEFAULT_TIMEOUT', 'PIP_TIMEOUT', 'PIP_PRE', 'PIP_PREFER_BINARY'];

export interface ContainerSettings {
  engine: Engine;
  image: string;
  runtime: RuntimeName;
  arch: ArchName;
  /** uid:gid the container runs as, so that files it writes on the host belong to the caller. */
  user: string;
  /** A persistent pip cache on the host, mounted into every install. */
  pipCacheDir: string;
  index: ForwardedIndex;
  timeoutMs: number;
  env: Readonly<Record<string, string | undefined>>;
  reason: string;
}

export interface RunSpec {
  name: string;
  mounts: readonly Mount[];
  /** Variables with plain values, visible in argv. */
  env: Readonly<Record<string, string>>;
  /** Variables passed by name only (`-e NAME`): the engine reads their values from its own environment, so credentials never appear in argv. */
  envByName: readonly string[];
  network?: 'none';
  /** Arguments for /bin/sh: the script and its arguments. */
  command: readonly string[];
}

/** The exact argv of `<engine> run`: the subprocess seam tests assert this. */
export function containerRunArgs(settings: Pick<ContainerSettings, 'engine' | 'image' | 'arch' | 'user'>, spec: RunSpec): string[] {
  return [
    'run',
    '--rm',
    '--name',
    spec.name,
    '--platform',
    ARCHITECTURES[settings.arch].containerPlatform,
    // The Lambda image's entrypoint is the runtime, which expects a handler name.
    '--entrypoint',
    '/bin/sh',
    '--user',
    settings.user,
    // Podman otherwise adds a passwd entry and sets HOME to the workdir; Docker's behaviour is HOME=/.
    ...(settings.engine.kind === 'podman' ? ['--passwd=false'] : []),
    ...(spec.network ? ['--network', spec.network] : []),
    '--workdir',
    '/tmp',
    ...spec.mounts.flatMap((m) => ['--volume', `${m.hostPath}:${m.containerPath}${m.readOnly ? ':ro' : ''}`]),
    ...Object.entries(spec.env).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
    ...spec.envByName.flatMap((key) => ['--env', key]),
    settings.image,
    ...spec.command,
  ];
}

function containerName(): string {
  return `pyslim-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Runs a container to completion. Killing the engine's client does not stop the container, so
 * on abort or timeout pyslim removes the container by name; the client then returns.
 */
async function runContainer(
  settings: ContainerSettings,
  exec: Exec,
  spec: RunSpec,
  childEnv: Record<string, string | undefined>,
  options: { signal?: AbortSignal; timeoutMs: number; onLine?: (line: string) => void },
): Promise<{ result: ExecResult; aborted: boolean; timedOut: boolean }> {
  const { cli, kind } = settings.engine;
  let aborted = false;
  let timedOut = false;
  let removal: Promise<unknown> | undefined;
  const remove = () => {
    removal ??= exec(cli, ['rm', '--force', ...(kind === 'podman' ? ['--time', '0'] : []), spec.name], { env: settings.env, timeoutMs: 60_000 });
  };
  const onAbort = () => {
    aborted = true;
    remove();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    remove();
  }, options.timeoutMs);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  try {
    const result = await exec(cli, containerRunArgs(settings, spec), { env: childEnv, onLine: options.onLine });
    await removal;
    return { result: { ...result, timedOut: result.timedOut || timedOut }, aborted, timedOut };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

async function localImageArch(settings: ContainerSettings, exec: Exec): Promise<string | undefined> {
  const inspect = await exec(settings.engine.cli, ['image', 'inspect', '--format', '{{.Architecture}}', settings.image], { env: settings.env, timeoutMs: 30_000 });
  return inspect.exitCode === 0 ? inspect.stdout.trim() || undefined : undefined;
}

/** The image's local id, when the engine has it (for reports and cache keys). */
export async function imageId(settings: Pick<ContainerSettings, 'engine' | 'image' | 'env'>, exec: Exec): Promise<string | undefined> {
  const inspect = await exec(settings.engine.cli, ['image', 'inspect', '--format', '{{.Id}}', settings.image], { env: settings.env, timeoutMs: 30_000 });
  return inspect.exitCode === 0 ? inspect.stdout.trim() || undefined : undefined;
}

export function createContainerInstaller(settings: ContainerSettings, exec: Exec): Installer {
  const indexEnvNames = Object.keys(settings.index.env);
  const forwarded = FORWARDED_PIP_ENV.filter((key) => settings.env[key] !== undefined);
  const childEnv = { ...settings.env, ...settings.index.env };
  const scripts: Mount = { hostPath: SCRIPTS_DIR, containerPath: CONTAINER_SCRIPTS, readOnly: true };

  // What the pip inside sees of the environment, for the record of what it read.
  const pipEnvironment = Object.fromEntries([...indexEnvNames, ...forwarded].map((name) => [name, childEnv[name]]));

  /** One pip run in the image; every file it reads is in a folder mounted read-only. */
  async function runPip(request: InstallRequest, extra: readonly string[], requirementsFile: string, extraEnv: Record<string, string> = {}): Promise<{ log: string }> {
    await fs.mkdir(settings.pipCacheDir, { recursive: true });
    // The container may run as another uid than the owner of the temp folder (--container-user).
    await fs.chmod(request.targetDir, 0o777);
    const inRequirements = (file: string) => `${CONTAINER_REQUIREMENTS}/${path.relative(path.dirname(request.requirementsFile), file)}`;
    const spec: RunSpec = {
      name: containerName(),
      mounts: [
        scripts,
        { hostPath: request.targetDir, containerPath: CONTAINER_OUT, readOnly: false },
        { hostPath: path.dirname(request.requirementsFile), containerPath: CONTAINER_REQUIREMENTS, readOnly: true },
        { hostPath: settings.pipCacheDir, containerPath: CONTAINER_PIP_CACHE, readOnly: false },
        ...request.localPaths.map((p, i) => ({ hostPath: path.dirname(p), containerPath: `${CONTAINER_LOCAL}/${i}`, readOnly: false })),
        ...settings.index.mounts,
      ],
      env: { HOME: '/tmp', PIP_CACHE_DIR: CONTAINER_PIP_CACHE, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', ...extraEnv },
      envByName: [...indexEnvNames, ...forwarded],
      command: [
        `${CONTAINER_SCRIPTS}/install.sh`,
        inRequirements(requirementsFile),
        CONTAINER_OUT,
        ...(request.requireHashes && requirementsFile === request.requirementsFile ? ['--require-hashes'] : []),
        ...(request.constraintsFile ? ['-c', inRequirements(request.constraintsFile)] : []),
        ...extra,
      ],
    };
    const { result, aborted } = await runContainer(settings, exec, spec, childEnv, {
      signal: request.signal,
      timeoutMs: settings.timeoutMs,
      onLine: request.onLine,
    });
    if (aborted) throw new PyslimError('INTERRUPTED', 'build interrupted');
    const marker = INSTALL_MARKER.exec(result.stderr);
    const failure = await diagnoseRunFailure(result, {
      cli: settings.engine.cli,
      image: settings.image,
      arch: settings.arch,
      scriptStarted: marker !== null,
      timeoutMs: settings.timeoutMs,
      localImageArch: () => localImageArch(settings, exec),
    });
    if (failure) throw failure;
    if (result.exitCode !== 0) throw await diagnosePipFailure(result, { runtime: settings.runtime, arch: settings.arch, installer: 'docker' });
    const imagePython = marker?.[2];
    const wanted = RUNTIMES[settings.runtime].pythonVersion;
    if (imagePython && imagePython !== wanted) {
      throw new PyslimError('IMAGE_MISMATCH', `image ${settings.image} runs Python ${imagePython}, but the runtime is ${settings.runtime}`, {
        hint: `Use the image for ${settings.runtime} (the default), or pass --image with Python ${wanted}`,
      });
    }
    return { log: redact(`${result.stdout}\n${result.stderr}`) };
  }

  return {
    kind: 'docker',
    reason: settings.reason,
    async install(request) {
      const first = await runPip(request, [], request.requirementsFile);
      let log = first.log;
      if (request.localPaths.length > 0) {
        // The local packages' dependencies are in the requirements already.
        const listing = path.join(request.scratchDir, 'local-requirements.txt');
        await fs.writeFile(listing, `${request.localPaths.map((p, i) => `${CONTAINER_LOCAL}/${i}/${path.basename(p)}`).join('\n')}\n`);
        log += (await runPip(request, ['--no-deps'], listing)).log;
      }
      return { log };
    },
    async resolve(request) {
      const report = `${CONTAINER_OUT}/.pyslim-resolve.json`;
      const record = { PYSLIM_PIP_SOURCES: `${CONTAINER_OUT}/.pyslim-sources.json` };
      await runPip({ ...request, localPaths: [] }, ['--dry-run', '--ignore-installed', '--quiet', '--report', report], request.requirementsFile, record);
      const file = path.join(request.targetDir, '.pyslim-resolve.json');
      const recorded = path.join(request.targetDir, '.pyslim-sources.json');
      const distributions = parsePipReport(await fs.readFile(file, 'utf8'));
      // Paths pip saw under the mounts are host paths; pyslim's own requirements folder is not a source.
      const place = { hostPath: (seen: string) => (seen.startsWith(`${HOST_MOUNT_PREFIX}/`) ? seen.slice(HOST_MOUNT_PREFIX.length) : undefined) };
      const sources = await readPipSources(recorded, { env: pipEnvironment, pipVersion: undefined, ownFolders: [CONTAINER_REQUIREMENTS], distributions, place });
      await Promise.all([fs.rm(file, { force: true }), fs.rm(recorded, { force: true })]);
      return { distributions, ...(sources ? { sources } : {}) };
    },
    async sourcesChange(sources) {
      // The pip inside is the image's, which the cache key pins by the image's id.
      return pipSourcesChange(sources, { env: pipEnvironment, pipVersion: sources.pip });
    },
    async targetPython() {
      return containerTargetPython(settings, exec, childEnv);
    },
  };
}

/**
 * The container may run as another uid than the owner of pyslim's temp folders (--container-user,
 * rootless engines), so a folder it must write into gets every subfolder opened to all users. The
 * folders are pyslim's own, inside its private 0700 temp folder.
 */
async function openFoldersToContainer(dir: string): Promise<void> {
  await fs.chmod(dir, 0o777);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await openFoldersToContainer(path.join(dir, entry.name));
  }
}

/** The image's Python as the target interpreter; folders are mounted read-only unless writable. */
function containerTargetPython(settings: ContainerSettings, exec: Exec, childEnv: Record<string, string | undefined>): TargetPython {
  const scripts: Mount = { hostPath: SCRIPTS_DIR, containerPath: CONTAINER_SCRIPTS, readOnly: true };
  return {
    description: `${settings.image} (${settings.engine.kind})`,
    async runScript(script, args, options = {}) {
      const mounts: Mount[] = [scripts];
      for (const arg of args) if (typeof arg !== 'string' && arg.writable) await openFoldersToContainer(arg.hostPath);
      const argv = args.map((arg: string | PathArg) => {
        if (typeof arg === 'string') return arg;
        const containerPath = `/pyslim/mnt/${mounts.length}`;
        mounts.push({ hostPath: arg.hostPath, containerPath, readOnly: !arg.writable });
        return containerPath;
      });
      const spec: RunSpec = {
        name: containerName(),
        mounts,
        // The image's own site-packages stay: on Lambda the runtime's packages follow /var/task.
        env: { HOME: '/tmp', PYTHONDONTWRITEBYTECODE: '1', ...options.env },
        envByName: [],
        network: 'none',
        command: [`${CONTAINER_SCRIPTS}/python.sh`, `${CONTAINER_SCRIPTS}/${script}`, ...argv],
      };
      const { result, aborted } = await runContainer(settings, exec, spec, childEnv, {
        signal: options.signal,
        timeoutMs: options.timeoutMs ?? settings.timeoutMs,
      });
      if (aborted) throw new PyslimError('INTERRUPTED', 'build interrupted');
      const failure = await diagnoseRunFailure(result, {
        cli: settings.engine.cli,
        image: settings.image,
        arch: settings.arch,
        // python.sh execs the interpreter at once; any exit below 125 is the script's own.
        scriptStarted: result.exitCode !== undefined && result.exitCode < 125,
        timeoutMs: options.timeoutMs ?? settings.timeoutMs,
        localImageArch: () => localImageArch(settings, exec),
      });
      if (failure) throw failure;
      return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
    },
  };
}
