/**
 * --strip: removes debug symbols (--strip-debug) or every symbol not needed for relocation
 * (--strip-unneeded) from installed shared objects. Never a full strip, which has corrupted
 * extensions for other tools' users. The strip must understand the target architecture: the
 * container image's own binutils when it has them, else the host's for the host architecture (or
 * a cross binutils such as aarch64-linux-gnu-strip). Each stripped copy is read back as ELF
 * before it replaces the original, and the import check runs after stripping.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isSharedObjectName, loadSegmentProblem, readElf } from '../elf.js';
import { PyslimError, throwIfAborted } from '../errors.js';
import type { Exec } from '../exec.js';
import type { TargetPython } from '../installers/types.js';
import { ARCHITECTURES, type ArchName } from '../runtimes.js';
import type { Removal } from './prune.js';
import type { TreeFile } from '../model/files.js';
import type { StripMode } from '../model/modes.js';

export interface StripOptions {
  /** What ships; only installed shared objects are stripped. */
  files: readonly TreeFile[];
  depsDir: string;
  mode: StripMode;
  arch: ArchName;
  exec: Exec;
  env: Readonly<Record<string, string | undefined>>;
  /** The container's interpreter, when the container installer ran: its image may carry binutils. */
  container: TargetPython | null;
  /** The host's architecture, as Node names it (process.arch). */
  hostArch: string;
  signal?: AbortSignal;
}

export interface StripResult {
  /** Which strip ran. */
  tool: string;
  /** Files whose stripped copy would not load, kept as they were, with why. */
  refused: { path: string; reason: string }[];
  /** The files as they ship now (stripped ones with their new size). */
  files: TreeFile[];
  /** One entry per file that got smaller. */
  savings: Removal[];
}

const HOST_ARCH: Record<string, ArchName> = { x64: 'x86_64', arm64: 'arm64' };
const SUFFIX = '.pyslim-stripped';

/** A host strip that understands the target: the native one on a matching host, else a cross one. */
async function hostStrip(options: StripOptions): Promise<string | undefined> {
  const cross = `${ARCHITECTURES[options.arch].wheelArch}-linux-gnu-strip`;
  const candidates = HOST_ARCH[options.hostArch] === options.arch ? ['strip', cross] : [cross];
  for (const tool of candidates) {
    const probe = await options.exec(tool, ['--version'], { env: options.env, timeoutMs: 15_000 });
    if (probe.exitCode === 0) return tool;
  }
  return undefined;
}

export async function stripSharedObjects(options: StripOptions): Promise<StripResult> {
  const targets = options.files.filter((f) => f.origin === 'deps' && isSharedObjectName(f.path));
  const flag = options.mode === 'debug' ? '--strip-debug' : '--strip-unneeded';
  let tool: string | undefined;

  if (options.container && targets.length > 0) {
    const run = await options.container.runScript('strip.py', [options.mode, { hostPath: options.depsDir, writable: true }, ...targets.map((f) => path.relative(options.depsDir, f.abs))], {
      signal: options.signal,
    });
    if (run.exitCode === 0) tool = `strip ${flag} in ${options.container.description}`;
  }
  if (!tool && targets.length > 0) {
    const host = await hostStrip(options);
    if (!host) {
      throw new PyslimError('STRIP_MISSING', `no strip for ${options.arch} code here (the image has no binutils, and the host is ${options.hostArch})`, {
        hint: `Install binutils for ${ARCHITECTURES[options.arch].wheelArch} (Debian: binutils-${ARCHITECTURES[options.arch].wheelArch.replace('_', '-')}-linux-gnu), build with an image that has binutils (the SAM build images do), or drop --strip`,
      });
    }
    tool = `${host} ${flag}`;
    for (let i = 0; i < targets.length; i += 4) {
      throwIfAborted(options.signal);
      await Promise.all(targets.slice(i, i + 4).map((f) => options.exec(host, [flag, '-o', f.abs + SUFFIX, f.abs], { env: options.env, signal: options.signal })));
    }
  }
  return adoptStripped(options.files, targets, options.mode, tool ?? 'none needed');
}

/**
 * Replaces each original with its stripped copy when the copy is smaller, is ELF for the same
 * machine with the same glibc needs, and passes the loader's segment checks.
 */
async function adoptStripped(files: readonly TreeFile[], targets: readonly TreeFile[], mode: StripMode, tool: string): Promise<StripResult> {
  const updated = new Map<string, TreeFile>();
  const savings: Removal[] = [];
  const refused: StripResult['refused'] = [];
  for (const file of targets) {
    const copy = file.abs + SUFFIX;
    const stats = await fs.stat(copy).catch(() => undefined);
    if (!stats || stats.size >= file.size) {
      await fs.rm(copy, { force: true });
      continue;
    }
    const [before, after, problem] = await Promise.all([readElf(file.abs).catch(() => null), readElf(copy).catch(() => null), loadSegmentProblem(copy)]);
    const reason = problem ?? (!before || !after || after.machine !== before.machine || after.maxGlibc !== before.maxGlibc ? 'the stripped copy is not the same shared object' : undefined);
    if (reason) {
      refused.push({ path: file.path, reason });
      await fs.rm(copy, { force: true });
      continue;
    }
    await fs.rename(copy, file.abs);
    updated.set(file.path, { ...file, size: stats.size });
    savings.push({ file, rule: `strip-${mode}`, savedBytes: file.size - stats.size });
  }
  return { tool, refused, files: files.map((f) => updated.get(f.path) ?? f), savings };
}
