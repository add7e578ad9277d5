/** Terminal renderings of `pyslim inspect` and `pyslim diff`. Renderers return strings; only the CLI prints. */
import prettyBytes from 'pretty-bytes';
import type { Change, PackageDelta, SizeDiff } from '../inspect/diff.js';
import type { InspectReport, SizeTally } from '../inspect/inspect.js';
import { columns } from './render-table.js';

const bytes = (n: number) => prettyBytes(n);
const signedBytes = (n: number) => (n === 0 ? '0 B' : prettyBytes(n, { signed: true }));
const count = (n: number) => n.toLocaleString('en-US');
const percent = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '–');

/** The per-package table of one zip, then where the rest of its bytes are. */
export function renderInspectTable(report: InspectReport): string {
  const zip = report.zip.bytes;
  // A layer's packages all sit under python/…; say so once rather than on every row.
  const commonRoot = report.roots.length === 1 ? report.roots[0]! : undefined;
  // Bytecode (.pyc) apart from the sources and data, as the build table shows pyslim's bytecode apart from trimming.
  const row = (name: string, version: string, t: SizeTally, pyc: number | undefined) => [
    name,
    version,
    count(t.files),
    bytes(t.bytes),
    pyc === undefined ? '' : pyc > 0 ? bytes(pyc) : '',
    bytes(t.zipBytes),
    percent(t.zipBytes, zip),
  ];
  const rows: string[][] = [['package', 'version', 'files', 'unzipped', 'of which bytecode', 'zipped', 'of zip']];
  for (const p of report.packages) rows.push(row(commonRoot === undefined && p.root ? `${p.name} (${p.root})` : p.name, p.version, p, p.bytecode.bytes));
  const packagedBytecode = report.packages.reduce((n, p) => n + p.bytecode.bytes, 0);
  rows.push(row('(unattributed)', '', report.unattributed, report.bytecode.bytes - packagedBytecode));
  rows.push(row('total', '', report.totals, report.bytecode.bytes));

  const lines = [`pyslim inspect: ${report.zip.path}${commonRoot ? ` (packages under ${commonRoot})` : ''}`, '', columns(rows, ['left', 'left', 'right', 'right', 'right', 'right', 'right']), ''];
  if (report.unattributed.paths.length > 0) {
    const shown = report.unattributed.paths.slice(0, 5).map((p) => `${p.path} ${bytes(p.bytes)}`);
    const more = report.unattributed.paths.length - shown.length;
    lines.push(`unattributed  ${shown.join(', ')}${more > 0 ? `, and ${count(more)} more` : ''}`);
  }
  if (report.bytecode.files > 0) {
    const tags = report.bytecode.tags.length > 0 ? ` (${report.bytecode.tags.join(', ')})` : '';
    lines.push(`bytecode      ${count(report.bytecode.files)} .pyc files, ${bytes(report.bytecode.bytes)} unzipped${tags}`);
  }
  lines.push(
    `zip           ${bytes(zip)}, ${count(report.zip.entries)} entries (${count(report.totals.directories)} folders), ${bytes(report.zip.overheadBytes)} of headers and directory`,
    `sha256        ${report.zip.sha256}`,
  );
  for (const note of report.notes) lines.push(`note: ${note.message}`);
  return lines.join('\n');
}

export interface RenderDiffOptions {
  /** Also list the packages that did not change. */
  all?: boolean;
}

/** The per-package deltas between two builds, largest first. */
export function renderDiffTable(diff: SizeDiff, options: RenderDiffOptions = {}): string {
  const shown = diff.packages.filter((p) => options.all || p.status !== 'unchanged');
  const rows: string[][] = [['package', 'version', 'unzipped', 'change', 'zipped change']];
  const sizes = (c: Change) => (c.before === c.after ? bytes(c.after) : `${bytes(c.before)} → ${bytes(c.after)}`);
  for (const p of shown) rows.push([p.name, versionCell(p), sizes(p.bytes), signedBytes(p.bytes.delta), signedBytes(p.zipBytes.delta)]);
  rows.push(['(other)', '', sizes(diff.other.bytes), signedBytes(diff.other.bytes.delta), signedBytes(diff.other.zipBytes.delta)]);
  rows.push(['total', '', sizes(diff.totals.bytes), signedBytes(diff.totals.bytes.delta), signedBytes(diff.totals.zipBytes.delta)]);

  const lines = [`pyslim diff: ${diff.before.label} → ${diff.after.label}`, '', columns(rows, ['left', 'left', 'right', 'right', 'right']), ''];
  const { added, removed, changed, unchanged } = diff.counts;
  lines.push(`packages   ${count(added)} new, ${count(removed)} removed, ${count(changed)} changed, ${count(unchanged)} unchanged`);
  if (diff.zipFileBytes) lines.push(`zip        ${sizes(diff.zipFileBytes)} (${signedBytes(diff.zipFileBytes.delta)})`);
  return lines.join('\n');
}

/**
 * One line for a pull-request comment or a log: the biggest changes, e.g.
 * "numpy +2.1 MB (1.26.4 → 2.2.6), six +45 kB (new); total +2.2 MB unzipped".
 */
export function summarizeDiff(diff: SizeDiff, limit = 5): string {
  const moved = diff.packages.filter((p) => p.status !== 'unchanged');
  if (moved.length === 0 && diff.totals.bytes.delta === 0) return 'no package changed';
  const parts = moved.slice(0, limit).map((p) => {
    const what = p.status === 'added' ? ' (new)' : p.status === 'removed' ? ' (removed)' : p.versionBefore !== p.versionAfter ? ` (${p.versionBefore} → ${p.versionAfter})` : p.bytecodeOnly ? ' (bytecode only)' : '';
    return `${p.name} ${signedBytes(p.bytes.delta)}${what}`;
  });
  if (moved.length > limit) parts.push(`${count(moved.length - limit)} more`);
  return `${parts.join(', ')}${parts.length ? '; ' : ''}total ${signedBytes(diff.totals.bytes.delta)} unzipped`;
}

function versionCell(p: PackageDelta): string {
  if (p.status === 'added') return `new ${p.versionAfter}`;
  if (p.status === 'removed') return `removed ${p.versionBefore}`;
  if (p.versionBefore !== p.versionAfter) return `${p.versionBefore} → ${p.versionAfter}`;
  return p.bytecodeOnly ? `${p.versionAfter} (bytecode only)` : (p.versionAfter ?? '');
}
