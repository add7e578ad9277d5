/**
 * Install stage: picks the installer and installs the requirements into an empty folder.
 */
import path from 'node:path';
import type { ResolvedBuildConfig } from '../config.js';
import { PyslimError, isPyslimError } from '../errors.js';
import type { Exec } from '../exec.js';
import { createContainerInstaller, imageId } from '../installers/container.js';
import { DEFAULT_ENGINES, probeEngine, type Engine } from '../installers/engine.js';
import { findHostPython, hostTargetPython, type HostPython } from '../installers/host-python.js';
import { EMPTY_INDEX_CONFIG, forwardIndexConfig, mergeIndexConfig, pipIndexArgs, readHostPipConfig, type IndexConfig } from '../installers/index-config.js';
import type { PipIndexOptions } from '../inputs/index.js';
import { createLocalInstaller } from '../installers/local.js';
import type { Installer, TargetPython } from '../installers/types.js';
import type { InstallerKind } from '../model/modes.js';
import { checkInstallable, type PreparedInput } from './input.js';
import { ARCHITECTURES, RUNTIMES } from '../runtimes.js';
import type { ContainerInfo } from '../model/report.js';
import type { ProgressEvent } from '../model/progress.js';

export interface Selected {
  installer: Installer;
  container: ContainerInfo | null;
  /** The index configuration pip will use, for the cache key (never shown: it may hold credentials). */
  index: IndexConfig;
  /** What installs and compiles, for the cache key: the host interpreter, or the image and its id. */
  interpreter: string;
  /** The host Python the local installer runs, remembered for the function's next build. */
  hostPython?: HostPython;
}

/** Tries the configured engine, or each default one; returns the first that answers, and why others did not. */
async function findEngine(config: ResolvedBuildConfig, exec: Exec): Promise<{ engine?: Engine; failures: string[]; lastError?: unknown }> {
  const candidates = config.containerCli ? [config.containerCli] : [...DEFAULT_ENGINES];
  const failures: string[] = [];
  let lastError: unknown;
  for (const cli of candidates) {
    try {
      return { engine: await probeEngine(cli, exec, config.env), failures };
    } catch (error) {
      if (!isPyslimError(error)) throw error;
      failures.push(`${cli}: ${error.message}`);
      lastError = error;
    }
  }
  return { failures, lastError };
}

/**
 * Chooses the installer for a build: the one asked for, or for auto a container when an engine
 * answers. `assumedPython` (with --installer local) is used instead of waiting for the probe.
 */
export async function selectInstaller(
  config: ResolvedBuildConfig,
  exec: Exec,
  flags: Partial<IndexConfig> = config.indexFlags,
  assumedPython?: HostPython,
): Promise<Selected> {
  if (config.installer !== 'local') {
    const { engine, failures, lastError } = await findEngine(config, exec);
    if (engine) {
      const how = config.installer === 'docker' ? 'requested with --installer docker' : 'auto: a container engine answered';
      return containerInstaller(config, exec, engine, `${how} (${engine.kind} ${engine.version})`, flags);
    }
    if (config.installer === 'docker') throw lastError;
    return localInstaller(config, exec, `auto: no container engine answered (${failures.join('; ')})`, flags);
  }
  return localInstaller(config, exec, 'requested with --installer local', flags, assumedPython);
}

const probes = new WeakMap<ResolvedBuildConfig, Promise<HostPython>>();

/**
 * Starts looking for the host Python (a subprocess) so that it runs while the build reads its
 * inputs; the local installer then takes the answer. Failures surface when it is awaited.
 */
export function probeHostPython(config: ResolvedBuildConfig, exec: Exec): Promise<HostPython> {
  let probe = probes.get(config);
  if (!probe) {
    probe = findHostPython(exec, config.env, RUNTIMES[config.runtime].pythonVersion, config.python);
    probe.catch(() => undefined);
    probes.set(config, probe);
  }
  return probe;
}

/**
 * The host Python a function's last build used, from the cache's note of it (unchecked JSON), for
 * the local installer to start with instead of waiting for the probe: through a pyenv shim the
 * probe took 0.35–0.5 s, a third of a warm rebuild. The probe still runs alongside, and
 * probedPythonIs() must agree before the build publishes anything.
 */
export function rememberedHostPython(hint: unknown): HostPython | undefined {
  const python = hint as Partial<HostPython> | undefined;
  const valid =
    typeof python?.command === 'string' &&
    typeof python.executable === 'string' &&
    typeof python.version === 'string' &&
    (python.pipVersion === undefined || typeof python.pipVersion === 'string');
  return valid ? (python as HostPython) : undefined;
}

/** Whether the probe found this Python; a failed probe rejects. */
export async function probedPythonIs(config: ResolvedBuildConfig, exec: Exec, python: HostPython): Promise<boolean> {
  const found = await probeHostPython(config, exec);
  return found.command === python.command && found.executable === python.executable && found.version === python.version && found.pipVersion === python.pipVersion;
}

async function localInstaller(config: ResolvedBuildConfig, exec: Exec, reason: string, flags: Partial<IndexConfig>, assumedPython?: HostPython): Promise<Selected> {
  const python = assumedPython ?? (await probeHostPython(config, exec));
  const installer = createLocalInstaller({ exec, env: config.env, python, runtime: config.runtime, reason, pipOptions: pipIndexArgs(flags) });
  // The host pip reads its own configuration. The cache key needs only pyslim's part of it: what
  // the host's configuration changes shows in the resolved artifacts (their hashes) or is pinned
  // by hash-locked requirements, both of which are in the key.
  return {
    installer,
    container: null,
    index: mergeIndexConfig(EMPTY_INDEX_CONFIG, flags),
    interpreter: `python ${python.version} (${python.executable})`,
    hostPython: python,
  };
}

async function containerInstaller(config: ResolvedBuildConfig, exec: Exec, engine: Engine, reason: string, flags: Partial<IndexConfig>): Promise<Selected> {
  // The host pip's own index configuration reaches the pip inside, with pyslim's flags on top.
  const host = await readHostPipConfig(exec, config.env, config.python ?? 'python3');
  const merged = mergeIndexConfig(host, flags);
  const index = forwardIndexConfig(merged, config.cwd);
  const settings = {
    engine,
    image: config.image,
    runtime: config.runtime,
    arch: config.arch,
    user: config.containerUser,
    pipCacheDir: path.join(config.cacheDir, 'pip'),
    index,
    timeoutMs: config.containerTimeoutMs,
    env: config.env,
    reason,
  };
  const id = await imageId(settings, exec);
  return {
    installer: createContainerInstaller(settings, exec),
    container: {
      engine: engine.kind === 'other' ? engine.cli : engine.kind,
      engineVersion: engine.version,
      image: config.image,
      imageId: id,
      platform: ARCHITECTURES[config.arch].containerPlatform,
      user: config.containerUser,
    },
    index: merged,
    interpreter: `${config.image}@${id ?? 'unknown'}`,
  };
}

/** The requirements file's own index options under pyslim's flags: flags win key by key. */
export function indexFlagsWith(config: ResolvedBuildConfig, fromInput: PipIndexOptions | undefined): Partial<IndexConfig> {
  if (!fromInput) return config.indexFlags;
  const declared: Partial<IndexConfig> = {
    ...(fromInput.indexUrl ? { indexUrl: fromInput.indexUrl } : {}),
    extraIndexUrls: fromInput.extraIndexUrls,
    findLinks: fromInput.findLinks,
    trustedHosts: fromInput.trustedHosts,
    noIndex: fromInput.noIndex,
  };
  return mergeIndexConfig({ ...EMPTY_INDEX_CONFIG, ...declared }, config.indexFlags);
}

/** Without requirements no installer runs; the host Python still serves when its X.Y is the runtime's. */
export async function hostPythonForRuntime(config: ResolvedBuildConfig, exec: Exec): Promise<{ targetPython: TargetPython | null; noTargetPython?: string }> {
  const wanted = RUNTIMES[config.runtime].pythonVersion;
  const python = await findHostPython(exec, config.env, wanted, config.python, { requirePip: false }).catch(() => undefined);
  if (python?.version === wanted) return { targetPython: hostTargetPython(exec, config.env, python) };
  return { targetPython: null, noTargetPython: noPythonReason(config) };
}

export function noPythonReason(config: ResolvedBuildConfig): string {
  const wanted = RUNTIMES[config.runtime].pythonVersion;
  return `no Python ${wanted} on this host to import with (the local installer only picks wheels); build with --installer docker, or put python${wanted} on PATH`;
}

/** pip announces each distribution it resolves with "Collecting" (or "Processing" for files). */
export function installProgress(emit: (event: ProgressEvent) => void): (line: string) => void {
  let collected = 0;
  return (line) => {
    const found = /^\s*(?:Collecting|Processing) (\S+)/.exec(line);
    if (!found) return;
    const name = path.basename(found[1]!).replace(/-\d.*\.(whl|tar\.gz|zip)$/, '');
    emit({ stage: 'install', status: 'progress', current: ++collected, message: `installing package ${collected} (${name})` });
  };
}

export function requireTargetPython(python: TargetPython | null, why: string | undefined, option: string): TargetPython {
  if (python) return python;
  throw new PyslimError('NO_TARGET_PYTHON', `${option} needs the runtime's interpreter: ${why ?? 'none is available'}`);
}

/** The installer a build uses (none without a dependency input) and the runtime's interpreter it offers. */
export interface InstallTarget {
  installer: InstallerKind;
  /** Why that installer runs. */
  reason: string;
  container: ContainerInfo | null;
  /** The chosen installer, or undefined without a dependency input. */
  selected: Selected | undefined;
  /** The interpreter of the runtime's X.Y that compiles and imports, or null. */
  python: TargetPython | null;
  /** Why there is none, when there is none. */
  noPython: string | undefined;
}

/**
 * Picks the installer for the dependency input (refusing inputs it cannot build) and finds the
 * runtime's interpreter: the installer's, or without an input the host's when its X.Y matches.
 */
export async function chooseInstallTarget(config: ResolvedBuildConfig, exec: Exec, prepared: PreparedInput | null, assumedPython: HostPython | undefined): Promise<InstallTarget> {
  if (!prepared) {
    const { targetPython, noTargetPython } = await hostPythonForRuntime(config, exec);
    return { installer: 'none', reason: 'no dependency file: only the source is packaged', container: null, selected: undefined, python: targetPython, noPython: noTargetPython };
  }
  const selected = await selectInstaller(config, exec, indexFlagsWith(config, prepared.input.pipOptions), assumedPython);
  checkInstallable(prepared, selected.installer.kind);
  const python = await selected.installer.targetPython();
  return { installer: selected.installer.kind, reason: selected.installer.reason, container: selected.container, selected, python, noPython: python ? undefined : noPythonReason(config) };
}
