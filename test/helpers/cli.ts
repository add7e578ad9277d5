/** Runs the real CLI (bin/pyslim.js over the compiled dist/) as a user would. */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'pyslim.js');
export const EXAMPLES = path.join(ROOT, 'examples');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: readonly string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): CliResult {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, PIP_RETRIES: '0', CI: '1', ...options.env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Starts the CLI and returns the child, for tests that signal it mid-build. */
export function startCli(args: readonly string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, PIP_RETRIES: '0', CI: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
