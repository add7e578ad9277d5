/** The terminal rendering of a build report. Renderers return strings; only the CLI prints. */
import prettyBytes from 'pretty-bytes';
import type { BuildReport } from '../pipeline/report.js';
import { BOTO_SERVICES_RULE } from '../rules/boto.js';
import { PRUNE_RULES, USER_EXCLUDE_RULE } from '../rules/registry.js';
import { RUNTIME_PROVIDED_RULE } from '../rules/runtime-packages.js';
import { SOURCE_OUTPUT_RULE, SOURCE_RULES } from '../rules/source.js';

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
    lines.push(`saved    ${report.rules.map((r) => `${r.name} −${bytes(r.bytes)} (${count(r.files)} files)`).join(', ')}  [profile ${report.profile}]`);
  }
  if (report.botoServices) lines.push(`boto     kept ${report.botoServices.kept.join(', ')}`);
  if (report.runtimePackages?.excluded.length) lines.push(`runtime  left out ${report.runtimePackages.excluded.join(', ')} (Lambda provides them)`);
  if (report.strip) {
    const refused = report.strip.refused.length ? ` (${count(report.strip.refused.length)} left as they were: the stripped copy would not load)` : '';
    lines.push(`strip    ${report.strip.tool}: ${count(report.strip.files)} files, −${bytes(report.strip.savedBytes)}${refused}`);
  }
  const native = report.native;
  lines.push(
    `native   ${count(native.sharedObjects)} shared objects for ${report.arch}${native.maxGlibc ? `, newest glibc needed ${native.maxGlibc} (${native.maxGlibcFile})` : ''}`,
  );
  if (report.verify) {
    const v = report.verify;
    lines.push(
      v.limited
        ? `imports  not checked: ${v.limited}`
        : `imports  ${[`${count(v.modules.length)} modules`, ...(v.handler ? [`handler ${v.handler}`] : [])].join(' and ')} import on ${v.interpreter}${v.skipped.length ? ` (skipped ${v.skipped.map((s) => s.module).join(', ')})` : ''}`,
    );
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

/** `pyslim rules`: every rule with its profile, reason and exceptions, then the source rules. */
export function renderRules(): string {
  const lines = ['Rules for installed packages (--prune safe applies the safe ones; aggressive adds the rest):', ''];
  for (const rule of PRUNE_RULES) {
    lines.push(`${rule.name}  [${rule.profile}]`, `  ${rule.reason}`);
    for (const [dist, why] of Object.entries(rule.exceptions)) lines.push(`  except ${dist}: ${why}`);
  }
  lines.push(
    '',
    'Rules on request:',
    '',
    `${BOTO_SERVICES_RULE}  [--boto-services]`,
    "  botocore models of services the function does not use are never loaded (sts, sso, sso-oidc and signin stay for botocore's credential providers)",
    `${RUNTIME_PROVIDED_RULE}  [--exclude-runtime-packages]`,
    '  the Lambda runtime provides boto3, botocore, s3transfer and jmespath (and python-dateutil, six, urllib3 unless another package needs them)',
    `${USER_EXCLUDE_RULE}  [--exclude]`,
    '  paths you name',
    'strip-debug, strip-unneeded  [--strip]',
    '  debug sections, or symbols not needed for relocation, in installed shared objects',
    '',
    'Rules for the function folder (always):',
    '',
  );
  for (const rule of SOURCE_RULES) lines.push(rule.name, `  ${rule.reason}`);
  lines.push(SOURCE_OUTPUT_RULE, "  pyslim's own output zip and report", '', '--keep <glob> protects a path from every rule.');
  return lines.join('\n');
}
