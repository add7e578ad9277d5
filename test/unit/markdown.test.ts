/** The markdown summary (PR comments, GitHub job summaries), checked against a committed snapshot. */
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../src/cli/render-markdown.js';
import { diffReports, snapshotFromBuildReport } from '../../src/inspect/diff.js';
import { accounting, quietSections, totalOf } from '../helpers/report.js';
import type { BuildReport, PackageReport } from '../../src/model/report.js';

/** A package that ships `after` bytes: `bytecode` bytes of .pyc added, the rest of the difference trimmed. */
const pkg = (name: string, version: string, before: number, after: number, zip: number, bytecode = 0): PackageReport => ({
  name,
  version,
  ...accounting({ files: 100, bytes: before }, [{ name: 'tests', files: 20, bytes: before - after + bytecode }], bytecode ? [{ name: 'bytecode', files: 30, bytes: bytecode }] : [], zip),
});

function report(overrides: Partial<BuildReport> = {}): BuildReport {
  const packages = overrides.packages ?? [pkg('numpy', '2.2.6', 58_600_000, 56_000_000, 16_800_000, 4_000_000), pkg('pandas', '3.0.6', 39_000_000, 35_400_000, 11_600_000, 9_300_000), pkg('six', '1.17.0', 38_100, 84_100, 30_000, 46_000)];
  const source = accounting({ files: 2, bytes: 700 }, [], [{ name: 'bytecode', files: 1, bytes: 330 }], 700);
  const totals = totalOf([...packages, source]);
  return {
    schemaVersion: 2,
    pyslimVersion: '0.1.0',
    runtime: 'python3.11',
    arch: 'x86_64',
    installer: 'docker',
    installerReason: 'auto: a container engine answered (podman 4.3.1)',
    requirements: '/w/fn/requirements.txt',
    output: { path: '/w/dist/function.zip', bytes: 29_100_000, entries: 1409, unzippedBytes: 92_200_000, sha256: 'a8c3b08b4f25719bdbdb2fe8dc52433ab15745b2ab646e471c79b37cbcd431a6', codeSha256: 'qMOwi08lcZvb2y/o3FJDOrFXRbKrZG5HHHmzfLzUMaY=' },
    packages,
    unattributed: accounting({ files: 0, bytes: 0 }, [], [], 0),
    source: { ...source, files: source.shippedFiles, bytes: source.shippedBytes, excluded: [] },
    totals,
    rules: totals.removed,
    ...quietSections,
    bytecode: { mode: 'compile', interpreter: 'public.ecr.aws/lambda/python:3.11-x86_64 (podman)', files: 559, bytes: 15_300_000, failed: [], keptSources: [] },
    budget: { limitBytes: 25_000_000, ok: false },
    budgets: {
      ok: false,
      checks: [
        { kind: 'zip', limitBytes: 25_000_000, actualBytes: 29_100_000, ok: false },
        { kind: 'package', name: 'numpy', limitBytes: 60_000_000, actualBytes: 56_000_000, ok: true },
        { kind: 'lambda-unzipped', limitBytes: 262_144_000, actualBytes: 92_200_000, ok: true },
      ],
      contributors: [
        { name: 'numpy', bytes: 56_000_000, zipBytes: 16_800_000 },
        { name: 'pandas', bytes: 35_400_000, zipBytes: 11_600_000 },
      ],
      suggestions: [{ action: '--prune aggressive (licences, docs, translations)', savesBytes: 200_000 }],
    },
    timings: { install: 4100, zip: 7600 },
    trace: { wallMs: 0, cpuMs: 0, childCpuMs: null, peakRssBytes: 0, stages: [] },
    warnings: [{ code: 'DIRECT_UPLOAD_LIMIT', message: 'a message with | a pipe' }],
    ...overrides,
  };
}

describe('renderMarkdown', () => {
  it('matches the committed summary', async () => {
    const previous = report({ packages: [pkg('numpy', '1.26.4', 50_000_000, 48_000_000, 14_000_000), pkg('pandas', '3.0.6', 39_000_000, 35_400_000, 11_600_000, 9_300_000), pkg('pytz', '2025.1', 3_000_000, 3_000_000, 1_000_000)] });
    const diff = diffReports(snapshotFromBuildReport(previous, 'main/report.json'), report());
    await expect(renderMarkdown(report(), diff)).toMatchFileSnapshot('../fixtures/snapshots/summary.md');
  });

  it('says when every budget holds, and lists more than fifteen packages as one row', () => {
    const many = Array.from({ length: 20 }, (_, i) => pkg(`p${String(i).padStart(2, '0')}`, '1.0', 2000 - i, 1000 - i, 500));
    const text = renderMarkdown(report({ packages: many, budgets: { ok: true, checks: [], contributors: [], suggestions: [] } }));
    expect(text).toMatch(/^### pyslim: `function\.zip` 29\.1 MB ✅ within budget$/m);
    expect(text).toContain('| 5 more | | 9.91 kB | −5 kB |  | 4.92 kB |');
    expect(text).not.toContain('What would cut it');
  });
});
