// Shared pieces of the benchmarks: scratch folders, the hand-rolled baseline, and formatting.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FUNCTIONS = path.join(ROOT, 'test/fixtures/functions');
export const BIN = path.join(ROOT, 'bin/pyslim.js');
export const ENV = { ...process.env, PIP_RETRIES: process.env.PIP_RETRIES ?? '0' };

const scratchDirs = [];
process.on('exit', () =>
  scratchDirs.forEach((d) => {
    spawnSync('chmod', ['-R', 'u+w', d]); // extracted trees are read-only
    rmSync(d, { recursive: true, force: true });
  }),
);

export function scratch(prefix = 'pyslim-bench-') {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
}

/** A function folder holding only a handler and these requirements. */
export function functionDir(requirements, handler = 'def handler(event, context):\n    return {}\n') {
  const dir = scratch('pyslim-bench-fn-');
  writeFileSync(path.join(dir, 'requirements.txt'), `${requirements.join('\n')}\n`);
  writeFileSync(path.join(dir, 'handler.py'), handler);
  return dir;
}

/**
 * The hand-rolled recipe: `pip install --target` for the same platform tags pyslim resolves
 * (pip compiles host bytecode by default, as the recipe does), then `zip -r9`.
 */
export function handRolled(requirementsFile, platformArgs, { fixedMtime = false, extra = [] } = {}) {
  const dir = scratch('pyslim-bench-hand-');
  const target = path.join(dir, 'package');
  mkdirSync(target);
  execFileSync('python3', ['-m', 'pip', 'install', '--quiet', '--target', target, ...platformArgs, '-r', requirementsFile], { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  for (const file of extra) copyFileSync(file, path.join(target, path.basename(file)));
  if (fixedMtime) execFileSync('find', [target, '-exec', 'touch', '-h', '-d', '1980-01-01T00:00:00Z', '{}', '+']);
  const zip = path.join(dir, 'function.zip');
  const started = performance.now();
  execFileSync('zip', ['-q', '-r', '-9', '-X', zip, '.'], { cwd: target });
  return { zip, tree: target, bytes: statSync(zip).size, zipMs: performance.now() - started };
}

export const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
export const ratio = (a, b) => (a / b).toFixed(2);

export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}
