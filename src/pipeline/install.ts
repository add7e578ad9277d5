/**
 * Install stage: picks the installer and installs the requirements into an empty folder.
 */
import { promises as fs } from 'node:fs';
import type { ResolvedBuildConfig } from '../config.js';
import type { Exec } from '../exec.js';
import { findHostPython } from '../installers/host-python.js';
import { createLocalInstaller } from '../installers/local.js';
import type { Installer, InstallerKind, TargetPython } from '../installers/types.js';
import { RUNTIMES } from '../runtimes.js';

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

export interface InstallStageResult {
  installer: InstallerKind;
  /** Why that installer ran. */
  reason: string;
  /** The install folder, or null when there were no requirements. */
  depsDir: string | null;
  log: string;
  /** The interpreter that matches the runtime, when the installer has one. */
  targetPython: TargetPython | null;
}

/** Chooses the installer for a build: the one asked for, or for auto the best one available. */
export async function selectInstaller(config: ResolvedBuildConfig, exec: Exec): Promise<Installer> {
  const reason =
    config.installer === 'local'
      ? 'requested with --installer local'
      : 'auto: the container installer is not available in this version, so the local installer ran';
  const python = await findHostPython(exec, config.env, RUNTIMES[config.runtime].pythonVersion, config.python);
  return createLocalInstaller({ exec, env: config.env, python, runtime: config.runtime, reason });
}

export async function installDependencies(options: InstallStageOptions): Promise<InstallStageResult> {
  const { config } = options;
  if (!config.requirements) {
    return { installer: 'none', reason: 'no requirements file: only the source is packaged', depsDir: null, log: '', targetPython: null };
  }
  const installer = await selectInstaller(config, options.exec);
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
  return {
    installer: installer.kind,
    reason: installer.reason,
    depsDir: options.depsDir,
    log: result.log,
    targetPython: await installer.targetPython(),
  };
}
