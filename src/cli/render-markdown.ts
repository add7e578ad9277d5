/**
 * Markdown for pull-request comments and GitHub job summaries: the zip, its budgets, the largest
 * packages, the savings by rule, the deltas against a previous build, and the warnings.
 */
import prettyBytes from 'pretty-bytes';
import type { SizeDiff } from '../inspect/diff.js';
import type { BudgetCheck, BudgetResult } from '../model/budget.js';
import type { Accounting, BuildReport } from '../model/report.js';
import { BYTECODE_RULE } from '../pipeline/compile.js';

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

/** Bytes a row lost to trimming, gained as bytecode, and gained from other writes (named). */
export function splitSizes(a: Accounting): { trimmed: number; bytecode: number; other: number; otherNames: string[] } {
  const other = a.added.filter((r) => r.name !== BYTECODE_RULE);
  return {
    trimmed: a.removed.reduce((n, r) => n + r.bytes, 0),
    bytecode: a.added.filter((r) => r.name === BYTECODE_RULE).reduce((n, r) => n + r.bytes, 0),
    other: other.reduce((n, r) => n + r.bytes, 0),
    otherNames: other.map((r) => r.name),
  };
}

/** One line a person reads at a glance: what trimming took, what bytecode added and why, the zip. */
export function headline(report: BuildReport): string {
  const { trimmed, bytecode, other, otherNames } = splitSizes(report.totals);
  const share = report.totals.installedBytes > 0 ? ` (−${Math.round((trimmed / report.totals.installedBytes) * 100)}%)` : '';
  const parts = [
    `trimmed −${bytes(trimmed)}${share}`,
    report.bytecode.mode === 'none' ? 'bytecode none (each cold start compiles what it imports)' : `bytecode +${bytes(bytecode)} (cold imports skip compiling)`,
    ...(other > 0 ? [`${otherNames.join(', ')} +${bytes(other)}`] : []),
    `zip ${bytes(report.output.bytes)}`,
  ];
  return parts.join(' · ');
}

const minus = (n: number) => (n === 0 ? '' : `−${bytes(n)}`);
const plus = (n: number) => (n === 0 ? '' : `+${bytes(n)}`);

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
    headline(report),
    '',
    '| package | version | installed | trimmed | bytecode | shipped | of zip |',
    '|---|---|--:|--:|--:|--:|--:|',
  ];
  const row = (name: string, version: string, a: Accounting, ofZip: string) => {
    const split = splitSizes(a);
    // Other additions (top_level.txt) are a few bytes: they show in the shipped size, named in the JSON.
    return `| ${name} |${version ? ` ${version} ` : ' '}| ${bytes(a.installedBytes)} | ${minus(split.trimmed)} | ${plus(split.bytecode)} | ${bytes(a.shippedBytes)} | ${ofZip} |`;
  };
  for (const p of report.packages.slice(0, TABLE_ROWS)) lines.push(row(cell(p.name), cell(p.version), p, percent(p.zipBytes, zip)));
  const rest = report.packages.slice(TABLE_ROWS);
  if (rest.length > 0) {
    const sum = (pick: (p: (typeof rest)[number]) => number) => rest.reduce((n, p) => n + pick(p), 0);
    const restRow = `| ${rest.length} more | | ${bytes(sum((p) => p.installedBytes))} | ${minus(sum((p) => splitSizes(p).trimmed))} | ${plus(sum((p) => splitSizes(p).bytecode))} | ${bytes(sum((p) => p.shippedBytes))} | ${percent(sum((p) => p.zipBytes), zip)} |`;
    lines.push(restRow);
  }
  lines.push(row('(source)', '', report.source, percent(report.source.zipBytes, zip)));
  const t = splitSizes(report.totals);
  lines.push(`| **total** | | **${bytes(report.totals.installedBytes)}** | **${minus(t.trimmed)}** | **${plus(t.bytecode)}** | **${bytes(report.totals.shippedBytes)}** | |`);
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
  lines.push('| package | change | shipped | zip |', '|---|---|--:|--:|');
  for (const p of changed) {
    const change = p.status === 'added' ? 'new' : p.status === 'removed' ? 'removed' : p.versionBefore !== p.versionAfter ? `${p.versionBefore} → ${p.versionAfter}` : p.bytecodeOnly ? 'bytecode only' : '';
    lines.push(`| ${cell(p.name)} | ${change} | ${signed(p.bytes.delta)} | ${signed(p.zipBytes.delta)} |`);
  }
  return lines;
}
