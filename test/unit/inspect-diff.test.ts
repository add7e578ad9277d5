/** Diffs between snapshots, build reports and inspect reports, and their renderings. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderDiffTable, renderInspectTable, summarizeDiff } from '../../src/cli/render-inspect.js';
import { diffReports, readComparable, snapshotFromBuildReport, type SizeSnapshot } from '../../src/inspect/diff.js';
import type { InspectReport } from '../../src/inspect/inspect.js';
import { removeTree, tempDir } from '../helpers/lambda.js';
import { accounting, quietSections, totalOf } from '../helpers/report.js';
import type { BuildReport, PackageReport } from '../../src/model/report.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach(removeTree));

const snapshot = (label: string, packages: [string, string, number, number][], other = { files: 1, bytes: 100, zipBytes: 80 }): SizeSnapshot => {
  const list = packages.map(([name, version, bytes, zipBytes]) => ({ name, key: name.toLowerCase().replace(/[-_.]+/g, '-'), version, files: 10, bytes, zipBytes }));
  const sum = (pick: (t: { files: number; bytes: number; zipBytes: number }) => number) => list.reduce((n, p) => n + pick(p), pick(other));
  return {
    kind: 'size-snapshot',
    label,
    from: 'zip',
    packages: list,
    other,
    totals: { files: sum((t) => t.files), bytes: sum((t) => t.bytes), zipBytes: sum((t) => t.zipBytes) },
    zipFileBytes: sum((t) => t.zipBytes) + 1000,
  };
};

const before = snapshot('a.zip', [
  ['numpy', '1.26.4', 30_000_000, 12_000_000],
  ['six', '1.16.0', 40_000, 12_000],
  ['zipp', '3.23.0', 30_000, 9_000],
  ['certifi', '2024.1.1', 250_000, 130_000],
]);
const after = snapshot('b.zip', [
  ['numpy', '2.2.6', 32_100_000, 12_800_000],
  ['six', '1.16.0', 40_000, 12_000],
  ['typing_extensions', '4.12.2', 365_000, 115_000],
  ['certifi', '2024.1.1', 250_100, 130_050],
]);

describe('diffReports', () => {
  const diff = diffReports(before, after);

  it('lists new, removed and changed packages, largest absolute delta first, unchanged last', () => {
    expect(diff.packages.map((p) => [p.name, p.status, p.bytes.delta])).toEqual([
      ['numpy', 'changed', 2_100_000],
      ['typing_extensions', 'added', 365_000],
      ['zipp', 'removed', -30_000],
      ['certifi', 'changed', 100],
      ['six', 'unchanged', 0],
    ]);
    expect(diff.packages[0]).toMatchObject({ versionBefore: '1.26.4', versionAfter: '2.2.6', zipBytes: { before: 12_000_000, after: 12_800_000, delta: 800_000 } });
    expect(diff.packages[1]).toMatchObject({ versionBefore: null, versionAfter: '4.12.2' });
    expect(diff.packages[2]).toMatchObject({ versionBefore: '3.23.0', versionAfter: null });
    expect(diff.counts).toEqual({ added: 1, removed: 1, changed: 2, unchanged: 1 });
    expect(diff.totals.bytes.delta).toBe(2_100_000 + 365_000 - 30_000 + 100);
  });

  it('renders a table and a one-line summary with signed sizes', () => {
    const table = renderDiffTable(diff);
    expect(table).toContain('pyslim diff: a.zip → b.zip');
    expect(table).toMatch(/numpy\s+1\.26\.4 → 2\.2\.6\s+30 MB → 32\.1 MB\s+\+2\.1 MB\s+\+800 kB/);
    expect(table).toMatch(/typing_extensions\s+new 4\.12\.2/);
    expect(table).toMatch(/zipp\s+removed 3\.23\.0/);
    expect(table).not.toMatch(/^six/m);
    expect(renderDiffTable(diff, { all: true })).toMatch(/^six\s+1\.16\.0/m);
    expect(table).toContain('packages   1 new, 1 removed, 2 changed, 1 unchanged');
    expect(summarizeDiff(diff)).toBe('numpy +2.1 MB (1.26.4 → 2.2.6), typing_extensions +365 kB (new), zipp -30 kB (removed), certifi +100 B; total +2.44 MB unzipped');
    expect(summarizeDiff(diffReports(before, before))).toBe('no package changed');
  });
});

function buildReport(): BuildReport {
  const pkg = (name: string, version: string, bytesAfter: number, zipBytes: number): PackageReport => ({
    name,
    version,
    ...accounting({ files: 20, bytes: bytesAfter * 2 }, [{ name: 'tests', files: 10, bytes: bytesAfter }], [], zipBytes),
  });
  const packages = [pkg('numpy', '1.26.4', 30_000_000, 12_000_000), pkg('Six', '1.16.0', 250_000, 130_000)];
  const unattributed = accounting({ files: 1, bytes: 200 }, [], [], 150);
  const source = accounting({ files: 2, bytes: 100 }, [], [], 90);
  const totals = totalOf([...packages, unattributed, source]);
  return {
    schemaVersion: 2,
    pyslimVersion: '0.1.0',
    runtime: 'python3.12',
    arch: 'x86_64',
    installer: 'local',
    installerReason: 'host Python matches',
    requirements: 'requirements.txt',
    output: { path: 'dist/function.zip', bytes: 12_500_000, entries: 40, unzippedBytes: 30_250_300, sha256: 'f'.repeat(64), codeSha256: '//////////////////////////////////////////8=' },
    packages,
    unattributed,
    source: { ...source, files: 2, bytes: 100, excluded: [] },
    totals,
    rules: totals.removed,
    ...quietSections,
    budget: null,
    timings: {},
    trace: { wallMs: 0, cpuMs: 0, childCpuMs: null, peakRssBytes: 0, stages: [] },
    warnings: [],
  };
}

describe('build reports', () => {
  it('become snapshots with the sizes after pruning, source and unattributed together as other', () => {
    const snap = snapshotFromBuildReport(buildReport());
    expect(snap.packages.map((p) => [p.key, p.bytes, p.zipBytes, p.files])).toEqual([
      ['numpy', 30_000_000, 12_000_000, 10],
      ['six', 250_000, 130_000, 10],
    ]);
    expect(snap.other).toEqual({ files: 3, bytes: 300, zipBytes: 240 });
    expect(snap.totals.bytes).toBe(buildReport().totals.bytesAfter);
    expect(snap.zipFileBytes).toBe(12_500_000);
  });

  it('say when a package changed only by its bytecode, comparing shipped bytes', () => {
    const before = buildReport();
    const numpy = before.packages[0]!;
    const withBytecode: BuildReport = {
      ...before,
      packages: [{ ...numpy, added: [{ name: 'bytecode', files: 5, bytes: 4_000 }], shippedFiles: numpy.shippedFiles + 5, shippedBytes: numpy.shippedBytes + 4_000 }, before.packages[1]!],
    };
    const diff = diffReports(before, withBytecode);
    expect(diff.packages[0]).toMatchObject({ key: 'numpy', status: 'changed', bytecodeOnly: true, bytes: { delta: 4_000 } });
    expect(renderDiffTable(diff)).toMatch(/numpy\s+1\.26\.4 \(bytecode only\)\s+30 MB → 30 MB\s+\+4 kB/);
    expect(summarizeDiff(diff)).toBe('numpy +4 kB (bytecode only); total +4 kB unzipped');
    const grown: BuildReport = { ...withBytecode, packages: [{ ...withBytecode.packages[0]!, shippedBytes: numpy.shippedBytes + 5_000 }, before.packages[1]!] };
    expect(diffReports(before, grown).packages[0]!.bytecodeOnly).toBe(false);
  });

  it('compare directly with a zip snapshot, matching names by normalization', () => {
    const diff = diffReports(buildReport(), after);
    expect(diff.before).toEqual({ label: 'dist/function.zip', from: 'build-report' });
    const six = diff.packages.find((p) => p.key === 'six')!;
    expect(six).toMatchObject({ name: 'six', status: 'changed', bytes: { before: 250_000, after: 40_000, delta: -210_000 } });
  });

  it('are read from JSON by readComparable, and anything else is refused with INVALID_REPORT', async () => {
    const dir = tempDir('pyslim-diff-unit-');
    dirs.push(dir);
    const reportFile = path.join(dir, 'report.json');
    writeFileSync(reportFile, JSON.stringify(buildReport()));
    const snap = await readComparable(reportFile);
    expect(snap).toMatchObject({ from: 'build-report', label: reportFile });

    const other = path.join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ packages: [{ name: 'x' }] }));
    await expect(readComparable(other)).rejects.toMatchObject({ code: 'INVALID_REPORT', message: expect.stringMatching(/is not a zip or a pyslim report/) });
    const text = path.join(dir, 'notes.txt');
    writeFileSync(text, 'hello');
    await expect(readComparable(text)).rejects.toMatchObject({ code: 'INVALID_REPORT', message: expect.stringMatching(/it is not JSON/) });
    await expect(readComparable(path.join(dir, 'missing.zip'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});

describe('renderInspectTable', () => {
  it('shows packages, the unattributed rest, totals, bytecode and notes', () => {
    const tally = (files: number, bytes: number, zipBytes: number) => ({ files, bytes, zipBytes });
    const report: InspectReport = {
      zip: { path: 'layer.zip', bytes: 1_100_000, entries: 12, sha256: 'a'.repeat(64), overheadBytes: 2_000 },
      packages: [
        { name: 'numpy', version: '2.2.6', key: 'numpy', root: 'python/', metadataFolder: 'numpy-2.2.6.dist-info', attributedBy: 'top-level', ...tally(8, 2_000_000, 1_000_000), bytecode: tally(3, 30_000, 12_000) },
      ],
      unattributed: { ...tally(1, 100_000, 98_000), paths: [{ path: 'python/bin/', ...tally(1, 100_000, 98_000) }] },
      totals: { ...tally(9, 2_100_000, 1_098_000), entries: 12, directories: 3 },
      bytecode: { ...tally(3, 30_000, 12_000), tags: ['cpython-312'] },
      roots: ['python/'],
      notes: [{ code: 'NO_RECORD', message: '1 of 1 distributions have no RECORD' }],
    };
    const table = renderInspectTable(report);
    expect(table).toContain('pyslim inspect: layer.zip (packages under python/)');
    expect(table).toMatch(/^package\s+version\s+files\s+unzipped\s+of which bytecode\s+zipped\s+of zip$/m);
    expect(table).toMatch(/^numpy\s+2\.2\.6\s+8\s+2 MB\s+30 kB\s+1 MB\s+90\.9%$/m);
    expect(table).toMatch(/^\(unattributed\)\s+1\s+100 kB\s+98 kB\s+8\.9%$/m);
    expect(table).toMatch(/^total\s+9\s+2\.1 MB\s+30 kB\s+1\.1 MB\s+99\.8%$/m);
    expect(table).toContain('unattributed  python/bin/ 100 kB');
    expect(table).toContain('bytecode      3 .pyc files, 30 kB unzipped (cpython-312)');
    expect(table).toContain('note: 1 of 1 distributions have no RECORD');
  });
});
