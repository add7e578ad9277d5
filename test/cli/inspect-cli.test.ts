/**
 * `pyslim inspect` and `pyslim diff` on zips from another tool (the hand-rolled recipe), and on
 * hostile zips, as a CI script sees them: output, exit codes, one-line errors.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { removeTree, tempDir } from '../helpers/lambda.js';
import { truncateFile, writeZipWithPython } from '../helpers/zips.js';

const env = { PIP_RETRIES: '0' };
let dir: string;
afterAll(() => removeTree(dir));

/** pip install --target + zip -r9, the recipe pyslim replaces. */
function handRolled(name: string, requirements: string[]): string {
  const target = path.join(dir, name);
  mkdirSync(target);
  execFileSync('python3', ['-m', 'pip', 'install', '--quiet', '--target', target, ...requirements], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  writeFileSync(path.join(target, 'handler.py'), 'def handler(event, context):\n    return 1\n');
  const zip = path.join(dir, `${name}.zip`);
  execFileSync('zip', ['-q', '-r', '-9', zip, '.'], { cwd: target });
  return zip;
}

describe('pyslim inspect on a hand-rolled zip', () => {
  let zip: string;
  beforeAll(() => {
    dir = tempDir();
    zip = handRolled('hand', ['requests']);
  });

  it('gives per-package sizes that sum to the zip totals, with unattributed bytes shown', () => {
    const result = runCli(['inspect', zip, '--json', path.join(dir, 'inspect.json')], { env });
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^requests\s+\d+\.\d+\.\d+\s+\d+\s+[\d.]+ kB/m);
    expect(result.stdout).toMatch(/^unattributed\s+handler\.py \d+ B$/m);
    const report = JSON.parse(readFileSync(path.join(dir, 'inspect.json'), 'utf8'));
    const sum = (key: 'bytes' | 'zipBytes' | 'files') => report.packages.reduce((n: number, p: Record<string, number>) => n + p[key]!, 0) + report.unattributed[key];
    expect(sum('bytes')).toBe(report.totals.bytes);
    expect(sum('zipBytes')).toBe(report.totals.zipBytes);
    expect(sum('files')).toBe(report.totals.files);
    expect(report.unattributed.files).toBe(1);
    expect(report.packages.map((p: { name: string }) => p.name).sort()).toEqual(['certifi', 'charset-normalizer', 'idna', 'requests', 'urllib3']);
  });

  it('pyslim diff shows the per-package deltas between two zips', () => {
    const bigger = handRolled('bigger', ['requests', 'six']);
    const result = runCli(['diff', zip, bigger], { env });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^six\s+.*new.*\+[\d.]+ kB/m);
  });
});

describe('hostile zips fail cleanly (exit 2, one line, nothing extracted)', () => {
  it.each([
    ['path traversal', () => writeZipWithPython(path.join(dir, 'traversal.zip'), [{ name: '../../tmp/pyslim-evil.txt', text: 'x' }]), /entry "\.\.\/\.\.\/tmp\/pyslim-evil\.txt" contains "\.\." \(a path traversal\)/],
    ['a zip bomb', () => writeZipWithPython(path.join(dir, 'bomb.zip'), [{ name: 'zeros.bin', zeros: 300 * 1024 * 1024 }]), /zeros\.bin/],
    ['a truncated zip', () => {
      const file = writeZipWithPython(path.join(dir, 'cut.zip'), [{ name: 'a.py', text: 'x = 1\n'.repeat(1000) }]);
      truncateFile(file, 100);
      return file;
    }, /cut\.zip/],
  ])('%s', (_, make, message) => {
    const file = make();
    for (const command of [['inspect', file], ['profile', file, '--handler', 'a.handler', '--installer', 'local', '--runtime', 'python3.11']]) {
      const result = runCli(command, { env });
      expect(result.status).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^error: /);
      expect(lines[0]).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
