/** The markdown summary (PR comments, GitHub job summaries), checked against a committed snapshot. */
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../src/cli/render-markdown.js';
import { diffReports, snapshotFromBuildReport } from '../../src/inspect/diff.js';
import { quietSections } from '../helpers/report.js';
import type { BuildReport, PackageReport } from '../../src/model/report.js';

const pkg = (name: string, version: string, before: number, after: number, zip: number): PackageReport => ({
  name,
  version,
  filesBefore: 100,
  filesAfter: 80,
  bytesBefore: before,
  bytesAfter: after,
  zipBytes: zip,
  removed: [{ name: 'tests', files: 20, bytes: before - after }],
});

function report(overrides: Partial<BuildReport> = {}): BuildReport {
  return {
    pyslimVersion: '0.1.0',
    runtime: 'python3.11',
    arch: 'x86_64',
    installer: 'docker',
    installerReason: 'auto: a container engine answered (podman 4.3.1)',
    requirements: '/w/fn/requirements.txt',
    output: { path: '/w/dist/function.zip', bytes: 29_100_000, entries: 1409, unzippedBytes: 92_200_000, sha256: 'a8c3b08b4f25719bdbdb2fe8dc52433ab15745b2ab646e471c79b37cbcd431a6' },
    packages: [pkg('numpy', '2.2.6', 58_600_000, 56_000_000, 16_800_000), pkg('pandas', '3.0.6', 39_000_000, 35_400_000, 11_600_000), pkg('six', '1.17.0', 38_100, 84_100, 30_000)],
    unattributed: { filesBefore: 0, filesAfter: 0, bytesBefore: 0, bytesAfter: 0, zipBytes: 0, removed: [] },
    source: { files: 3, bytes: 1030, zipBytes: 700, excluded: [] },
    totals: { filesBefore: 2565, filesAfter: 1229, bytesBefore: 98_200_000, bytesAfter: 92_200_000 },
    rules: [
      { name: 'tests', files: 1626, bytes: 19_500_000 },
      { name: 'type-stubs', files: 172, bytes: 919_000 },
    ],
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
    const previous = report({ packages: [pkg('numpy', '1.26.4', 50_000_000, 48_000_000, 14_000_000), pkg('pandas', '3.0.6', 39_000_000, 35_400_000, 11_600_000), pkg('pytz', '2025.1', 3_000_000, 3_000_000, 1_000_000)] });
    const diff = diffReports(snapshotFromBuildReport(previous, 'main/report.json'), report());
    await expect(renderMarkdown(report(), diff)).toMatchFileSnapshot('../fixtures/snapshots/summary.md');
  });

  it('says when every budget holds, and lists more than fifteen packages as one row', () => {
    const many = Array.from({ length: 20 }, (_, i) => pkg(`p${String(i).padStart(2, '0')}`, '1.0', 2000 - i, 1000 - i, 500));
    const text = renderMarkdown(report({ packages: many, budgets: { ok: true, checks: [], contributors: [], suggestions: [] } }));
    expect(text).toMatch(/^### pyslim: `function\.zip` 29\.1 MB ✅ within budget$/m);
    expect(text).toContain('| 5 more | | 4.92 kB |');
    expect(text).not.toContain('What would cut it');
  });
});
