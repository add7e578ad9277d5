/**
 * Install stage: picks the installer and installs the requirements into an empty folder.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ResolvedBuildConfig } from '../config.js';
import { isPyslimError } from '../errors.js';
import type { Exec } from '../exec.js';
import { createContainerInstaller, imageId } from '../installers/container.js';
import { DEFAULT_ENGINES, probeEngine, type Engine } from '../installers/engine.js';
import { findHostPython, hostTargetPython } from '../installers/host-python.js';
import { forwardIndexConfig, mergeIndexConfig, pipIndexArgs, readHostPipConfig } from '../installers/index-config.js';
import { createLocalInstaller } from '../installers/local.js';
import type { Installer, InstallerKind, TargetPython } from '../installers/types.js';
import { ARCHITECTURES, RUNTIMES } from '../runtimes.js';

export interface InstallStageOptions {
  config: ResolvedBuildConfig;
  exec: Exec;
  /** An empty folder to install into. */
  depsDir: string;
  /** A folder for the installer's temp files. */
  scratchDir: string;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

/** What the report says about the container, when one ran. */
export interface ContainerInfo {
  engine: string;
  engineVersion: string;
  image: string;
  /** The engine's local id of the image, when it has one. */
  imageId: string | undefined;
  platform: string;
  user: string;
}

export interface InstallStageResult {
  installer: InstallerKind;
  /** Why that installer ran. */
  reason: string;
  /** The install folder, or null when there were no requirements. */
  depsDir: string | null;
  log: string;
  container: ContainerInfo | null;
  /** The interpreter that matches the runtime, when the installer has one. */
  targetPython: TargetPython | null;
  /** Why there is no target interpreter, when there is none. */
  noTargetPython?: string;
}

interface Selected {
  installer: Installer;
  container: ContainerInfo | null;
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

/** Chooses the installer for a build: the one asked for, or for auto a container when an engine answers. */
export async function selectInstaller(config: ResolvedBuildConfig, exec: Exec): Promise<Selected> {
  if (config.installer !== 'local') {
    const { engine, failures, lastError } = await findEngine(config, exec);
    if (engine) {
      const how = config.installer === 'docker' ? 'requested with --installer docker' : 'auto: a container engine answered';
      return containerInstaller(config, exec, engine, `${how} (${engine.kind} ${engine.version})`);
    }
    if (config.installer === 'docker') throw lastError;
    return localInstaller(config, exec, `auto: no container engine answered (${failures.join('; ')})`);
  }
  return localInstaller(config, exec, 'requested with --installer local');
}

async function localInstaller(config: ResolvedBuildConfig, exec: Exec, reason: string): Promise<Selected> {
  const python = await findHostPython(exec, config.env, RUNTIMES[config.runtime].pythonVersion, config.python);
  const installer = createLocalInstaller({ exec, env: config.env, python, runtime: config.runtime, reason, pipOptions: pipIndexArgs(config.indexFlags) });
  return { installer, container: null };
}

async function containerInstaller(config: ResolvedBuildConfig, exec: Exec, engine: Engine, reason: string): Promise<Selected> {
  // The host pip's own index configuration reaches the pip inside, with pyslim's flags on top.
  const host = await readHostPipConfig(exec, config.env, config.python ?? 'python3');
  const index = forwardIndexConfig(mergeIndexConfig(host, config.indexFlags), config.cwd);
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
  return {
    installer: createContainerInstaller(settings, exec),
    container: {
      engine: engine.kind === 'other' ? engine.cli : engine.kind,
      engineVersion: engine.version,
      image: config.image,
      imageId: await imageId(settings, exec),
      platform: ARCHITECTURES[config.arch].containerPlatform,
      user: config.containerUser,
    },
  };
}

export async function installDependencies(options: InstallStageOptions): Promise<InstallStageResult> {
  const { config } = options;
  if (!config.requirements) {
    const python = await hostPythonForRuntime(config, options.exec);
    return { installer: 'none', reason: 'no requirements file: only the source is packaged', depsDir: null, log: '', container: null, ...python };
  }
  const { installer, container } = await selectInstaller(config, options.exec);
  await fs.mkdir(options.depsDir, { recursive: true });
  await fs.mkdir(options.scratchDir, { recursive: true });
  const result = await installer.install({
    requirementsFile: config.requirements,
    targetDir: options.depsDir,
    scratchDir: options.scratchDir,
    runtime: config.runtime,
    arch: config.arch,
    signal: options.signal,
    onLine: options.onLine,
  });
  const targetPython = await installer.targetPython();
  return {
    installer: installer.kind,
    reason: installer.reason,
    depsDir: options.depsDir,
    log: result.log,
    container,
    targetPython,
    noTargetPython: targetPython ? undefined : noPythonReason(config),
  };
}

/** Without requirements no installer runs; the host Python still serves when its X.Y is the runtime's. */
async function hostPythonForRuntime(config: ResolvedBuildConfig, exec: Exec): Promise<Pick<InstallStageResult, 'targetPython' | 'noTargetPython'>> {
  const wanted = RUNTIMES[config.runtime].pythonVersion;
  const python = await findHostPython(exec, config.env, wanted, config.python, { requirePip: false }).catch(() => undefined);
  if (python?.version === wanted) return { targetPython: hostTargetPython(exec, config.env, python) };
  return { targetPython: null, noTargetPython: noPythonReason(config) };
}

function noPythonReason(config: ResolvedBuildConfig): string {
  const wanted = RUNTIMES[config.runtime].pythonVersion;
  return `no Python ${wanted} on this host to import with (the local installer only picks wheels); build with --installer docker, or put python${wanted} on PATH`;
}
