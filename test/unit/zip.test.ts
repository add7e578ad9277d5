import { chmodSync, cpSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { takeInventory } from '../../src/pipeline/inventory.js';
import { FIXED_ZIP_DATE, folderEntries, writeZip } from '../../src/pipeline/zip.js';
import { readZipEntries } from '../../src/zip-reader.js';
import { listFiles, removeTree, tempDir } from '../helpers/lambda.js';

const dirs: string[] = [];
const scratch = () => {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
};
afterEach(() => dirs.splice(0).forEach(removeTree));

function makeTree(root: string): void {
  mkdirSync(path.join(root, 'pkg/sub'), { recursive: true });
  writeFileSync(path.join(root, 'handler.py'), 'def handler(e, c):\n    return 1\n');
  writeFileSync(path.join(root, 'pkg/__init__.py'), 'X = 1\n'.repeat(500));
  writeFileSync(path.join(root, 'pkg/sub/data.bin'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
  writeFileSync(path.join(root, 'pkg/tool.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(path.join(root, 'pkg/tool.sh'), 0o755);
  chmodSync(path.join(root, 'pkg/__init__.py'), 0o600); // not world-readable on disk
}

async function zipTree(root: string, out: string) {
  const inventory = await takeInventory({ depsDir: null, sourceDir: root, ownOutputs: [] });
  const result = await writeZip({ files: inventory.files, out });
  await fs.rename(result.tempPath, out);
  return result;
}

describe('zip stage', () => {
  it('gives the same bytes for the same input, whatever the mtimes, modes and creation order', async () => {
    const a = scratch();
    makeTree(a);
    const b = scratch();
    // Same content, created in another order, with other mtimes and permissions.
    mkdirSync(path.join(b, 'pkg/sub'), { recursive: true });
    for (const rel of [...listFiles(a)].reverse()) cpSync(path.join(a, rel), path.join(b, rel));
    for (const [i, rel] of listFiles(b).entries()) utimesSync(path.join(b, rel), 1_000_000 + i * 3_333, 2_000_000_000 - i * 77);
    chmodSync(path.join(b, 'pkg/__init__.py'), 0o640);
    chmodSync(path.join(b, 'pkg/tool.sh'), 0o700);

    const out = scratch();
    const first = await zipTree(a, path.join(out, 'a.zip'));
    const again = await zipTree(a, path.join(out, 'a2.zip'));
    const other = await zipTree(b, path.join(out, 'b.zip'));
    expect(again.sha256).toBe(first.sha256);
    expect(other.sha256).toBe(first.sha256);
  });

  it('writes sorted entries with folders, one fixed date, normalized world-readable modes and no extra fields', async () => {
    const root = scratch();
    makeTree(root);
    const out = path.join(scratch(), 'f.zip');
    const result = await zipTree(root, out);
    const entries = await readZipEntries(out);
    const names = entries.map((e) => e.name);
    expect(names).toEqual(['handler.py', 'pkg/', 'pkg/__init__.py', 'pkg/sub/', 'pkg/sub/data.bin', 'pkg/tool.sh']);
    expect(result.entries).toBe(6);
    const dosDate = ((FIXED_ZIP_DATE.getUTCFullYear() - 1980) << 9) | ((FIXED_ZIP_DATE.getUTCMonth() + 1) << 5) | FIXED_ZIP_DATE.getUTCDate();
    for (const entry of entries) {
      expect(entry.dosDate).toBe(dosDate);
      expect(entry.dosTime).toBe(0);
      expect(entry.extraFieldLength).toBe(0);
      expect(entry.mode & 0o444).toBe(0o444);
    }
    const mode = (name: string) => entries.find((e) => e.name === name)!.mode & 0o777;
    expect(mode('pkg/')).toBe(0o755);
    expect(mode('pkg/__init__.py')).toBe(0o644);
    expect(mode('pkg/tool.sh')).toBe(0o755);
    expect(entries.find((e) => e.name === 'pkg/__init__.py')!.compressionMethod).toBe(8);
    expect(result.unzippedBytes).toBe(listFiles(root).reduce((n, rel) => n + statSync(path.join(root, rel)).size, 0));
  });

  it('compresses at level 9 (no larger than Info-ZIP zip -9 on the same tree)', async () => {
    const root = scratch();
    makeTree(root);
    writeFileSync(path.join(root, 'big.py'), Array.from({ length: 4000 }, (_, i) => `value_${i} = ${i * i} # line ${i}\n`).join(''));
    const out = scratch();
    const result = await zipTree(root, path.join(out, 'p.zip'));
    const { execFileSync } = await import('node:child_process');
    execFileSync('zip', ['-q', '-r', '-9', '-X', path.join(out, 'info.zip'), '.'], { cwd: root });
    const info = (await fs.stat(path.join(out, 'info.zip'))).size;
    // Same deflate level: the payloads match within header differences.
    expect(result.bytes).toBeLessThanOrEqual(info + 64);
  });

  it('derives every parent folder once', () => {
    expect(folderEntries(['a/b/c.py', 'a/d.py', 'e.py']).sort()).toEqual(['a/', 'a/b/']);
  });

  it('leaves no temp file when the build is aborted', async () => {
    const root = scratch();
    makeTree(root);
    const outDir = scratch();
    const controller = new AbortController();
    controller.abort();
    const inventory = await takeInventory({ depsDir: null, sourceDir: root, ownOutputs: [] });
    await expect(writeZip({ files: inventory.files, out: path.join(outDir, 'x.zip'), signal: controller.signal })).rejects.toThrow(/interrupted/);
    expect(listFiles(outDir)).toEqual([]);
  });
});
