/** The terminal rendering of a build report. Renderers return strings; only the CLI prints. */
import prettyBytes from 'pretty-bytes';
import type { BuildReport } from '../pipeline/report.js';

const bytes = (n: number) => prettyBytes(n);
const signedBytes = (n: number) => (n === 0 ? '0 B' : prettyBytes(n, { signed: true }));
const count = (n: number) => n.toLocaleString('en-US');
const percent = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '–');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

type Align = 'left' | 'right';

/** Lays out rows in aligned columns; the first row is the header. */
export function columns(rows: readonly (readonly string[])[], align: readonly Align[]): string {
  const widths = align.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (align[i] === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function renderBuildTable(report: BuildReport): string {
  const zip = report.output.bytes;
  const row = (name: string, version: string, t: { filesBefore: number; filesAfter: number; bytesBefore: number; bytesAfter: number; zipBytes: number }) => [
    name,
    version,
    `${count(t.filesBefore)} → ${count(t.filesAfter)}`,
    `${bytes(t.bytesBefore)} → ${bytes(t.bytesAfter)}`,
    signedBytes(t.bytesAfter - t.bytesBefore),
    percent(t.zipBytes, zip),
  ];
  const rows: string[][] = [['package', 'version', 'files', 'size (unzipped)', 'delta', 'of zip']];
  for (const p of report.packages) rows.push(row(p.name, p.version, p));
  if (report.unattributed.filesBefore > 0) rows.push(row('(unattributed)', '', report.unattributed));
  const src = report.source;
  rows.push(row('(source)', '', { filesBefore: src.files, filesAfter: src.files, bytesBefore: src.bytes, bytesAfter: src.bytes, zipBytes: src.zipBytes }));
  const t = report.totals;
  rows.push(row('total', '', { ...t, zipBytes: zip }));

  const lines = [
    `pyslim ${report.pyslimVersion}: ${report.runtime} ${report.arch}, installer ${report.installer} (${report.installerReason})`,
    '',
    columns(rows, ['left', 'left', 'right', 'right', 'right', 'right']),
    '',
  ];
  if (report.rules.length > 0) {
    lines.push(`removed  ${report.rules.map((r) => `${r.name} −${bytes(r.bytes)} (${count(r.files)} files)`).join(', ')}`);
  }
  lines.push(
    `zip      ${report.output.path}`,
    `size     ${bytes(zip)}, ${count(report.output.entries)} entries, ${bytes(report.output.unzippedBytes)} unzipped`,
    `sha256   ${report.output.sha256}`,
    `time     ${Object.entries(report.timings)
      .map(([stage, ms]) => `${stage} ${seconds(ms)}`)
      .join(', ')}`,
  );
  if (report.budget) {
    const { limitBytes, ok } = report.budget;
    lines.push(`budget   ${bytes(zip)} of ${bytes(limitBytes)}: ${ok ? 'ok' : `EXCEEDED by ${bytes(zip - limitBytes)}`}`);
  }
  return lines.join('\n');
}

export function renderWarnings(report: BuildReport): string {
  return report.warnings.map((w) => `warning: ${w.message}`).join('\n');
}
