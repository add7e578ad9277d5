/**
 * Test helpers that treat a built zip the way Lambda does: extract it with a real unzip, make the
 * tree read-only, and import from it with PYTHONDONTWRITEBYTECODE=1 and no site-packages, so that
 * nothing outside the zip can satisfy an import.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

export const HOST_PYTHON = process.env.PYSLIM_TEST_PYTHON ?? 'python3';

export function tempDir(prefix = 'pyslim-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Extracts with Info-ZIP unzip (not pyslim's code), then removes every write bit. */
export function extractReadOnly(zip: string, into = tempDir('pyslim-task-')): string {
  execFileSync('unzip', ['-q', zip, '-d', into]);
  execFileSync('chmod', ['-R', 'a-w', into]);
  return into;
}

export function removeTree(dir: string): void {
  if (!dir) return;
  spawnSync('chmod', ['-R', 'u+w', dir]);
  rmSync(dir, { recursive: true, force: true });
}

export interface ImportResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs Python code with `roots` first on sys.path, as /var/task (and /opt/python) are on Lambda.
 * -S keeps the host's site-packages out; PYTHONDONTWRITEBYTECODE=1 as on read-only /var/task.
 */
export function runPythonIn(roots: readonly string[], code: string, python = HOST_PYTHON, flags: readonly string[] = []): ImportResult {
  const prelude = `import sys; sys.path[:0] = ${JSON.stringify(roots)}\n`;
  const result = spawnSync(python, ['-S', '-s', ...flags, '-c', prelude + code], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', PYTHONDONTWRITEBYTECODE: '1', HOME: os.tmpdir() },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Imports each module from the tree; returns the result and fails loudly in assertions. */
export function importAll(roots: readonly string[], modules: readonly string[], python = HOST_PYTHON): ImportResult {
  const code = modules.map((m) => `import ${m}`).join('\n') + `\nprint("imported", ${JSON.stringify(modules.join(','))})`;
  return runPythonIn(roots, code, python);
}

/** All files under a folder, relative, sorted. */
export function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(path.join(dir, entry.name), rel));
    else out.push(rel);
  }
  return out.sort();
}

/** A fingerprint of a folder (paths, modes, mtimes, contents), to prove it was not touched. */
export function treeFingerprint(dir: string): string {
  const hash = createHash('sha256');
  for (const rel of listFiles(dir)) {
    const file = path.join(dir, rel);
    const stats = statSync(file);
    hash.update(`${rel}\0${stats.mode}\0${stats.mtimeMs}\0`);
    hash.update(readFileSync(file));
  }
  return hash.digest('hex');
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Scratch folders for one test file: `scratch()` makes one, `track(dir)` adopts one made
 * elsewhere (an extraction); all are removed after the file's tests.
 */
export function scratchFolders(): { scratch: () => string; track: (dir: string) => void } {
  const made: string[] = [];
  afterAll(() => made.forEach(removeTree));
  return {
    scratch: () => {
      const dir = tempDir();
      made.push(dir);
      return dir;
    },
    track: (dir) => void made.push(dir),
  };
}
