import { noBudgets, quietSections } from '../helpers/report.js';
import { describe, expect, it } from 'vitest';
import type { Inventory } from '../../src/pipeline/inventory.js';
import type { PruneResult } from '../../src/pipeline/prune.js';
import { createReport } from '../../src/pipeline/report.js';
import { type Distribution, SOURCE_OWNER, type TreeFile, UNATTRIBUTED } from '../../src/model/files.js';

const f = (path: string, size: number, owner: string, origin: TreeFile['origin'] = 'deps'): TreeFile => ({
  path,
  abs: `/t/${path}`,
  size,
  executable: false,
  owner,
  origin,
});
const dist = (key: string, version: string): Distribution => ({
  key,
  name: key,
  version,
  distInfo: `${key}-${version}.dist-info`,
  topLevel: [key],
  hasTopLevelFile: true,
  requires: [],
});

describe('createReport', () => {
  const files = [
    f('big/__init__.py', 1000, 'big'),
    f('big/tests/test_a.py', 4000, 'big'),
    f('big/x.pyi', 500, 'big'),
    f('small.py', 100, 'small'),
    f('small-1.dist-info/RECORD', 50, 'small'),
    f('stray.txt', 7, UNATTRIBUTED),
    f('handler.py', 30, SOURCE_OWNER, 'source'),
  ];
  const inventory: Inventory = { files, distributions: [dist('small', '1'), dist('big', '2')], sourceExclusions: [{ path: '.git', rule: 'source-vcs', isDirectory: true, bytes: 0 }] };
  const removed = [
    { file: files[1]!, rule: 'tests' },
    { file: files[2]!, rule: 'type-stubs' },
    { file: files[4]!, rule: 'installer-leftovers' },
  ];
  const added = [
    { file: f('small-1.dist-info/top_level.txt', 6, 'small'), rule: 'top-level-txt' },
    { file: f('__pycache__/handler.cpython-312.pyc', 40, SOURCE_OWNER, 'source'), rule: 'bytecode' },
  ];
  // big/__init__.py ships shrunk by 200 bytes, as strip shrinks a shared object in place.
  const shrunk = { ...files[0]!, size: 800 };
  removed.push({ file: files[0]!, rule: 'strip-debug', savedBytes: 200 } as (typeof removed)[number]);
  const kept = [shrunk, files[3]!, files[5]!, files[6]!, ...added.map((a) => a.file)];
  const pruned: PruneResult = { kept, removed, added };
  const compressedSizes = new Map(kept.map((file) => [file.path, Math.ceil(file.size / 2)]));
  const report = createReport({
    pyslimVersion: '0.0.0',
    runtime: 'python3.12',
    arch: 'x86_64',
    installer: 'local',
    installerReason: 'test',
    requirements: '/r.txt',
    container: null,
    bytecode: quietSections.bytecode,
    init: null,
    inventory,
    pruned,
    zipped: kept,
    output: { path: '/o.zip', bytes: 900, entries: 6, unzippedBytes: 983, sha256: 'x', codeSha256: 'x' },
    compressedSizes,
    budgetBytes: 800,
    budgetLimits: { ...noBudgets, zipBytes: 800, packages: [{ name: 'Big', limitBytes: 700 }] },
    profile: 'safe',
    trim: { runtimePackages: null, botoServices: null, layerProvided: null },
    layer: false,
    withLayers: [],
    strip: null,
    native: { sharedObjects: 0, maxGlibc: null, maxGlibcFile: null },
    verify: null,
    timings: { install: 1 },
    trace: { wallMs: 0, cpuMs: 0, childCpuMs: null, peakRssBytes: 0, stages: [] },
    warnings: [],
  });

  it('counts each package before and after, largest after first', () => {
    expect(report.packages.map((p) => [p.name, p.filesBefore, p.filesAfter, p.bytesBefore, p.bytesAfter])).toEqual([
      ['big', 3, 1, 5500, 800],
      ['small', 2, 2, 150, 106],
    ]);
    expect(report.packages[0]!.zipBytes).toBe(400);
    expect(report.packages[0]!.removed).toEqual([
      { name: 'tests', files: 1, bytes: 4000 },
      { name: 'type-stubs', files: 1, bytes: 500 },
      { name: 'strip-debug', files: 0, shrunkFiles: 1, bytes: 200 },
    ]);
    expect(report.packages[1]!.added).toEqual([{ name: 'top-level-txt', files: 1, bytes: 6 }]);
  });

  it('balances installed − removed + added = shipped in bytes and files, for every package, (source), (unattributed) and the totals', () => {
    const sum = (rules: { files: number; bytes: number }[], pick: 'files' | 'bytes') => rules.reduce((n, r) => n + r[pick], 0);
    for (const a of [...report.packages, report.source, report.unattributed, report.totals]) {
      expect(a.installedBytes - sum(a.removed, 'bytes') + sum(a.added, 'bytes')).toBe(a.shippedBytes);
      expect(a.installedFiles - sum(a.removed, 'files') + sum(a.added, 'files')).toBe(a.shippedFiles);
    }
    expect(report.totals.added).toEqual([
      { name: 'bytecode', files: 1, bytes: 40 },
      { name: 'top-level-txt', files: 1, bytes: 6 },
    ]);
    expect(report.source).toMatchObject({ installedFiles: 1, shippedFiles: 2, shippedBytes: 70, added: [{ name: 'bytecode', files: 1, bytes: 40 }] });
    expect(report.schemaVersion).toBe(2);
  });

  it('keeps source and unattributed files apart from packages', () => {
    expect(report.source).toMatchObject({ files: 2, bytes: 70, zipBytes: 35, excluded: [{ path: '.git', rule: 'source-vcs' }] });
    expect(report.unattributed).toMatchObject({ filesBefore: 1, filesAfter: 1, bytesBefore: 7, bytesAfter: 7 });
  });

  it('balances: before − removed + added = after, and after equals what was zipped', () => {
    const removedBytes = report.rules.reduce((n, r) => n + r.bytes, 0);
    expect(report.totals.bytesBefore).toBe(5687);
    expect(report.totals.bytesBefore - removedBytes + 46).toBe(report.totals.bytesAfter);
    expect(report.totals.bytesAfter).toBe(kept.reduce((n, file) => n + file.size, 0));
    expect(report.totals.filesAfter).toBe(kept.length);
  });

  it('sums savings by rule, largest first', () => {
    expect(report.rules).toEqual([
      { name: 'tests', files: 1, bytes: 4000 },
      { name: 'type-stubs', files: 1, bytes: 500 },
      { name: 'strip-debug', files: 0, shrunkFiles: 1, bytes: 200 },
      { name: 'installer-leftovers', files: 1, bytes: 50 },
    ]);
  });

  it('checks the budget against the zip size', () => {
    expect(report.budget).toEqual({ limitBytes: 800, ok: false });
  });

  it("checks every budget, Lambda's 250 MiB limit included, and names the biggest contributors", () => {
    expect(report.budgets.checks).toEqual([
      { kind: 'zip', limitBytes: 800, actualBytes: 900, ok: false },
      { kind: 'package', name: 'big', limitBytes: 700, actualBytes: 800, ok: false },
      { kind: 'lambda-unzipped', limitBytes: 262_144_000, actualBytes: 983, ok: true },
    ]);
    expect(report.budgets.ok).toBe(false);
    expect(report.budgets.contributors.map((c) => c.name)).toEqual(['big', 'small']);
  });
});
