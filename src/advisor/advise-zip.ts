/**
 * The advisor on a zip: `pyslim doctor <zip>` on any Lambda zip, and `build --advise` on the zip
 * it is about to publish. The zip is extracted safely into a read-only temp tree, as /var/task
 * is on Lambda, and removed afterwards.
 */
import path from 'node:path';
import { resolveAdviseConfig, resolveArch, resolveChoice, resolveHandler, resolveRuntime, type ResolvedAdviseConfig } from '../config.js';
import { PyslimError } from '../errors.js';
import { execSubprocess, type Exec } from '../exec.js';
import { pipIndexArgs } from '../installers/index-config.js';
import type { TargetPython } from '../installers/types.js';
import { INSTALLER_CHOICES, type InstallerChoice } from '../model/modes.js';
import type { Advice } from '../model/report.js';
import { entryOwners, inspectZip } from '../inspect/inspect.js';
import { runtimeFromBytecode, targetPython } from '../inspect/profile-zip.js';
import { handlerFromPaths } from '../pipeline/profile.js';
import type { ArchName, RuntimeName } from '../runtimes.js';
import { extractZipToTemp, removeExtractedTree } from '../zip/extract.js';
import { adviseTree, type AdviseOptions } from './advise.js';

export interface DoctorZipOptions {
  zip: string;
  /** module.function; default: lambda_function.lambda_handler, handler.handler, app.handler or main.handler, whichever file the zip has. */
  handler?: string;
  /** Default: from the zip's bytecode, else python3.12. */
  runtime?: string;
  arch?: string;
  installer?: InstallerChoice;
  python?: string;
  containerCli?: string;
  image?: string;
  /** Memory settings in MB (default 128, 256, 512, 1024, 1769, 3008). */
  memory?: (number | string)[];
  runs?: number;
  /** Seconds per import at full CPU (default 60). */
  timeout?: number;
  cwd?: string;
  env?: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  exec?: Exec;
  /** Where the cgroup hierarchies are (tests point this elsewhere to see the estimate path). */
  cgroupRoots?: { v2: string; v1: string };
  /** For the arm64 check: pip's index and wheel folders (the host pip's configuration applies too). */
  indexUrl?: string;
  findLinks?: string[];
}

export interface ZipAdvice extends Advice {
  zip: string;
}

/** `pyslim doctor <zip>`: any Lambda zip, pyslim's or another tool's. */
export async function doctorZip(options: DoctorZipOptions): Promise<ZipAdvice> {
  const env = options.env ?? process.env;
  const exec = options.exec ?? execSubprocess;
  const zip = path.resolve(options.cwd ?? process.cwd(), options.zip);
  const config = resolveAdviseConfig(options);
  const arch = resolveArch(options.arch);
  const installer = resolveChoice(options.installer, INSTALLER_CHOICES, 'auto', '--installer');
  const inspected = await inspectZip(zip);
  const runtime = resolveRuntime(options.runtime ?? runtimeFromBytecode(inspected.bytecode.tags));
  const owners = await entryOwners(zip);
  // The function's own files: what no distribution's RECORD claims.
  const ownFiles = [...owners].filter(([file, owner]) => owner === '(unattributed)' && file.endsWith('.py')).map(([file]) => file);
  const handler = resolveHandler(options.handler) ?? handlerFromPaths(ownFiles);
  if (!handler) {
    throw new PyslimError('HANDLER_NOT_FOUND', 'no handler found in the zip (none of lambda_function.py, handler.py, app.py, main.py at its top level)', {
      hint: 'Pass --handler module.function',
    });
  }
  const python = await targetPython({ ...options, runtime, arch, installer, env, exec });
  const pip = { env, options: pipIndexArgs({ indexUrl: options.indexUrl, findLinks: options.findLinks?.map((f) => (/^\w+:\/\//.test(f) ? f : path.resolve(options.cwd ?? process.cwd(), f))) }), python: options.python };
  const advice = await adviseZipFile({ zip, python, exec, handler, ownFiles, runtime, arch, config, pip, signal: options.signal, cgroupRoots: options.cgroupRoots });
  return { zip, ...advice };
}

export interface AdviseZipFileOptions {
  zip: string;
  python: TargetPython;
  exec: Exec;
  handler: string;
  /** The function's own files, as paths inside the zip. */
  ownFiles: readonly string[];
  runtime: RuntimeName;
  arch: ArchName;
  config: ResolvedAdviseConfig;
  /** Layers and the runtime's own packages, after the zip on sys.path. */
  fallbackRoots?: readonly string[];
  pip: AdviseOptions['pip'];
  signal?: AbortSignal;
  cgroupRoots?: { v2: string; v1: string };
}

export async function adviseZipFile(options: AdviseZipFileOptions): Promise<Advice> {
  const tree = await extractZipToTemp(options.zip, { signal: options.signal });
  try {
    return await adviseTree({
      python: options.python,
      exec: options.exec,
      roots: [tree.dir],
      fallbackRoots: options.fallbackRoots,
      handler: options.handler,
      ownFiles: options.ownFiles,
      runtime: options.runtime,
      arch: options.arch,
      memory: options.config.memory,
      runs: options.config.runs,
      timeoutMs: options.config.timeoutMs,
      cgroupRoots: options.cgroupRoots,
      pip: options.pip,
      signal: options.signal,
    });
  } finally {
    await removeExtractedTree(tree.dir);
  }
}
