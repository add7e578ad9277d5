/**
 * arm64 readiness of an x86_64 function: does every distribution in the zip have a wheel for the
 * arm64 target of the same runtime? A pure-Python wheel (`*-none-any`) is ready as it is; for the
 * others, pip is asked (a dry run, nothing installed) for the same version with the runtime's
 * aarch64 manylinux tags, which stop at the runtime's glibc, through the build's index settings.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Exec } from '../exec.js';
import { findHostPython } from '../installers/host-python.js';
import { localPipArgs } from '../installers/local.js';
import type { Arm64Readiness } from '../model/report.js';
import type { RuntimeName } from '../runtimes.js';

export interface InstalledDistribution {
  name: string;
  version: string;
  /** The Tag lines of its WHEEL file. */
  tags: string[];
  purelib: boolean;
}

export interface Arm64CheckOptions {
  exec: Exec;
  /** The environment pip runs with (its own configuration, e.g. PIP_INDEX_URL, applies). */
  env: Readonly<Record<string, string | undefined>>;
  runtime: RuntimeName;
  distributions: readonly InstalledDistribution[];
  /** pyslim's index flags as pip arguments (--index-url, --find-links, …). */
  pipOptions: readonly string[];
  /** The host Python whose pip asks (default: found as for the local installer). */
  python?: string;
  signal?: AbortSignal;
}

const isPure = (d: InstalledDistribution) => d.tags.length > 0 && d.tags.every((t) => t.endsWith('-none-any'));

export async function checkArm64(options: Arm64CheckOptions): Promise<Arm64Readiness> {
  const native = options.distributions.filter((d) => !isPure(d));
  const base = { distributions: options.distributions.length, pure: options.distributions.length - native.length };
  if (native.length === 0) return { ...base, ready: true, missing: [], note: null };
  const version = options.runtime.replace('python', '');
  const host = await findHostPython(options.exec, options.env, version, options.python).catch(() => undefined);
  if (!host) return { ...base, ready: false, missing: [], note: 'no host Python with pip to ask for arm64 wheels: not checked' };
  const target = await fs.mkdtemp(path.join(os.tmpdir(), 'pyslim-arm64-'));
  try {
    const missing: Arm64Readiness['missing'] = [];
    for (const d of native) {
      const args = ['-m', 'pip', ...localPipArgs(options.runtime, 'arm64', target), '--dry-run', '--ignore-installed', '--no-deps', '--quiet', ...options.pipOptions, `${d.name}==${d.version}`];
      const result = await options.exec(host.executable, args, { env: { ...options.env, PIP_RETRIES: options.env.PIP_RETRIES ?? '0' }, timeoutMs: 300_000, signal: options.signal });
      if (result.exitCode !== 0) missing.push({ name: d.name, version: d.version, tags: d.tags });
    }
    return { ...base, ready: missing.length === 0, missing, note: null };
  } finally {
    await fs.rm(target, { recursive: true, force: true });
  }
}
