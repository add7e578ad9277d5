/**
 * `pyslim profile <zip>`: the init-time profile of any Lambda zip, pyslim's or another tool's.
 * The zip is extracted safely into a read-only temp tree, and the handler module is imported on
 * the runtime's interpreter (the host's when its X.Y matches, or the Lambda image's).
 */
import path from 'node:path';
import { resolveArch, resolveChoice, resolveHandler, resolveRuns, resolveRuntime } from '../config.js';
import { PyslimError } from '../errors.js';
import { execSubprocess, type Exec } from '../exec.js';
import { createContainerInstaller } from '../installers/container.js';
import { DEFAULT_ENGINES, probeEngine, type Engine } from '../installers/engine.js';
import { findHostPython, hostTargetPython } from '../installers/host-python.js';
import type { TargetPython } from '../installers/types.js';
import { profileInit } from '../pipeline/profile.js';
import { lambdaImage, type ArchName, type RuntimeName } from '../runtimes.js';
import { extractZipToTemp, removeExtractedTree } from '../zip/extract.js';
import { entryOwners, inspectZip } from './inspect.js';
import { INSTALLER_CHOICES, type InstallerChoice } from '../model/modes.js';
import type { InitProfile } from '../model/report.js';

export interface ProfileZipOptions {
  zip: string;
  /** module.function, as in the Lambda configuration. */
  handler: string;
  /** Default: from the zip's bytecode (cpython-311 → python3.11), else python3.12. */
  runtime?: string;
  arch?: string;
  /** Which interpreter imports: auto (the image when an engine answers, else the host's), local or docker. */
  installer?: InstallerChoice;
  python?: string;
  containerCli?: string;
  image?: string;
  runs?: number;
  cwd?: string;
  env?: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  exec?: Exec;
}

export interface ZipProfile extends InitProfile {
  zip: string;
  runtime: RuntimeName;
}

export async function profileZip(options: ProfileZipOptions): Promise<ZipProfile> {
  const env = options.env ?? process.env;
  const exec = options.exec ?? execSubprocess;
  const zip = path.resolve(options.cwd ?? process.cwd(), options.zip);
  const handler = resolveHandler(options.handler);
  if (!handler) throw new PyslimError('INVALID_OPTION', 'pyslim profile needs the handler', { hint: 'Pass --handler module.function' });
  const runs = resolveRuns(options.runs);
  const arch = resolveArch(options.arch);
  const installer = resolveChoice(options.installer, INSTALLER_CHOICES, 'auto', '--installer');
  const inspected = await inspectZip(zip);
  const runtime = resolveRuntime(options.runtime ?? runtimeFromBytecode(inspected.bytecode.tags));

  const python = await targetPython({ ...options, runtime, arch, installer, env, exec });
  const tree = await extractZipToTemp(zip, { signal: options.signal });
  try {
    const owners = await entryOwners(zip);
    const profile = await profileInit({
      python,
      roots: [tree.dir],
      handler,
      runs,
      ownerOf: (relative) => {
        const owner = owners.get(relative);
        return owner === undefined || owner === '(unattributed)' ? '(unattributed)' : owner;
      },
      signal: options.signal,
    });
    return { ...profile, zip, runtime };
  } finally {
    await removeExtractedTree(tree.dir);
  }
}

/** cpython-311 bytecode in the zip says python3.11. */
export function runtimeFromBytecode(tags: readonly string[]): string | undefined {
  const versions = tags.map((t) => /^cpython-3(\d+)$/.exec(t)?.[1]).filter((v): v is string => v !== undefined);
  return versions.length === 1 ? `python3.${versions[0]}` : undefined;
}

/** The runtime's interpreter for running a zip's code: the Lambda image's when an engine answers (auto, docker), else the host's of the same X.Y. */
export async function targetPython(options: Omit<ProfileZipOptions, 'zip' | 'handler'> & { runtime: RuntimeName; arch: ArchName; installer: InstallerChoice; env: Readonly<Record<string, string | undefined>>; exec: Exec }): Promise<TargetPython> {
  const version = options.runtime.replace('python', '');
  if (options.installer !== 'local') {
    let engine: Engine | undefined;
    let lastError: unknown;
    for (const cli of options.containerCli ? [options.containerCli] : options.env.PYSLIM_CONTAINER_CLI ? [options.env.PYSLIM_CONTAINER_CLI] : DEFAULT_ENGINES) {
      engine = await probeEngine(cli, options.exec, options.env).catch((error: unknown) => {
        lastError = error;
        return undefined;
      });
      if (engine) break;
    }
    if (engine) {
      const installer = createContainerInstaller(
        {
          engine,
          image: options.image ?? lambdaImage(options.runtime, options.arch),
          runtime: options.runtime,
          arch: options.arch,
          user: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
          pipCacheDir: '',
          index: { env: {}, mounts: [] },
          timeoutMs: 1_800_000,
          env: options.env,
          reason: 'profile',
        },
        options.exec,
      );
      return (await installer.targetPython())!;
    }
    if (options.installer === 'docker') throw lastError;
  }
  const host = await findHostPython(options.exec, options.env, version, options.python, { requirePip: false }).catch(() => undefined);
  if (host?.version === version) return hostTargetPython(options.exec, options.env, host);
  throw new PyslimError('NO_TARGET_PYTHON', `profiling needs Python ${version} (${options.runtime}), and neither a container engine nor a host python${version} is available`, {
    hint: `Put python${version} on PATH, pass --python, use --installer docker, or pass the zip's --runtime`,
  });
}
