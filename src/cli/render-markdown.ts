/**
 * Markdown for pull-request comments and GitHub job summaries: the zip, its budgets, the largest
 * packages, the savings by rule, the deltas against a previous build, and the warnings.
 */
import prettyBytes from 'pretty-bytes';
import type { SizeDiff } from '../inspect/diff.js';
import type { BudgetCheck, BudgetResult } from '../model/budget.js';
import type { BuildReport } from '../model/report.js';

const bytes = (n: number) => prettyBytes(n);
const signed = (n: number) => (n === 0 ? '0 B' : prettyBytes(n, { signed: true }));
const percent = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '–');
/** Table cells must not break the table. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** How many packages the table lists before summing up the rest. */
const TABLE_ROWS = 15;

export function describeCheck(check: BudgetCheck): string {
  const what = {
    zip: 'the zip',
    unzipped: 'unzipped (with layers)',
    package: `${check.name} (unzipped)`,
    'lambda-unzipped': "Lambda's 250 MiB unzipped limit (with layers)",
  }[check.kind];
  return `${what}: ${bytes(check.actualBytes)} of ${bytes(check.limitBytes)}`;
}

function budgetLines(budgets: BudgetResult): string[] {
  return budgets.checks.map((c) => `- ${c.ok ? '✅' : '❌'} ${describeCheck(c)}${c.ok ? '' : `, over by ${bytes(c.actualBytes - c.limitBytes)}`}`);
}

export function renderMarkdown(report: BuildReport, compare?: SizeDiff): string {
  const zip = report.output.bytes;
  const status = report.budgets.ok ? '✅ within budget' : '❌ over budget';
  const lines = [
    `### pyslim: \`${cell(report.output.path.split('/').pop() ?? report.output.path)}\` ${bytes(zip)} ${status}`,
    '',
    `${report.runtime} · ${report.arch} · installer ${report.installer} · ${report.output.entries.toLocaleString('en-US')} entries · ${bytes(report.output.unzippedBytes)} unzipped · bytecode ${report.bytecode.mode} · sha256 \`${report.output.sha256.slice(0, 12)}\` · CodeSha256 \`${report.output.codeSha256}\``,
    '',
    '| package | version | unzipped | trimmed | of zip |',
    '|---|---|--:|--:|--:|',
  ];
  for (const p of report.packages.slice(0, TABLE_ROWS)) {
    lines.push(`| ${cell(p.name)} | ${cell(p.version)} | ${bytes(p.bytesAfter)} | ${signed(p.bytesAfter - p.bytesBefore)} | ${percent(p.zipBytes, zip)} |`);
  }
  const rest = report.packages.slice(TABLE_ROWS);
  if (rest.length > 0) {
    const sum = (pick: (p: (typeof rest)[number]) => number) => rest.reduce((n, p) => n + pick(p), 0);
    lines.push(`| ${rest.length} more | | ${bytes(sum((p) => p.bytesAfter))} | ${signed(sum((p) => p.bytesAfter - p.bytesBefore))} | ${percent(sum((p) => p.zipBytes), zip)} |`);
  }
  lines.push(`| (source) | | ${bytes(report.source.bytes)} | | ${percent(report.source.zipBytes, zip)} |`);
  lines.push(`| **total** | | **${bytes(report.totals.bytesAfter)}** | **${signed(report.totals.bytesAfter - report.totals.bytesBefore)}** | |`);
  lines.push('', '**Budgets**', '', ...budgetLines(report.budgets));
  if (report.budgets.suggestions.length > 0) {
    lines.push('', '**What would cut it**', '', ...report.budgets.suggestions.map((s) => `- ${cell(s.action)}: −${bytes(s.savesBytes)}`));
  }
  if (report.rules.length > 0) {
    lines.push('', `**Removed** (profile ${report.profile}): ${report.rules.map((r) => `${r.name} −${bytes(r.bytes)}`).join(', ')}`);
  }
  if (compare) lines.push('', ...renderCompareMarkdown(compare));
  if (report.warnings.length > 0) lines.push('', '**Warnings**', '', ...report.warnings.map((w) => `- ${cell(w.message)}`));
  return `${lines.join('\n')}\n`;
}

/** Per-package deltas against a previous build, e.g. "numpy +2.1 MB", new and removed packages. */
export function renderCompareMarkdown(diff: SizeDiff): string[] {
  const changed = diff.packages.filter((p) => p.status !== 'unchanged');
  const lines = [`**Compared with \`${cell(diff.before.label)}\`**: unzipped ${signed(diff.totals.bytes.delta)}${diff.zipFileBytes ? `, zip ${signed(diff.zipFileBytes.delta)}` : ''}`, ''];
  if (changed.length === 0) return [...lines, 'No package changed.'];
  lines.push('| package | change | unzipped | zip |', '|---|---|--:|--:|');
  for (const p of changed) {
    const change = p.status === 'added' ? 'new' : p.status === 'removed' ? 'removed' : p.versionBefore !== p.versionAfter ? `${p.versionBefore} → ${p.versionAfter}` : '';
    lines.push(`| ${cell(p.name)} | ${change} | ${signed(p.bytes.delta)} | ${signed(p.zipBytes.delta)} |`);
  }
  return lines;
}
