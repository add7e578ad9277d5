/** The terminal rendering of a build report. Renderers return strings; only the CLI prints. */
import prettyBytes from 'pretty-bytes';
import type { ProjectSummary } from '../project.js';
import { describeCheck, headline, splitSizes } from './render-markdown.js';
import { BOTO_SERVICES_RULE } from '../rules/boto.js';
import { PRUNE_RULES, USER_EXCLUDE_RULE } from '../rules/registry.js';
import { RUNTIME_PROVIDED_RULE } from '../rules/runtime-packages.js';
import { SOURCE_OUTPUT_RULE, SOURCE_RULES } from '../rules/source.js';
import type { Accounting, BuildReport, InitProfile } from '../model/report.js';

const bytes = (n: number) => prettyBytes(n);
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
  const row = (name: string, version: string, t: Accounting, ofZip: number) => {
    const split = splitSizes(t);
    return [
      name,
      version,
      `${count(t.installedFiles)} → ${count(t.shippedFiles)}`,
      bytes(t.installedBytes),
      split.trimmed ? `−${bytes(split.trimmed)}` : '',
      split.bytecode ? `+${bytes(split.bytecode)}` : '',
      split.other ? `+${bytes(split.other)}` : '',
      bytes(t.shippedBytes),
      percent(ofZip, zip),
    ];
  };
  const init = report.init;
  const initOf = (name: string) => init?.packages.find((p) => p.name === name);
  const withInit = (name: string, cells: string[]) => {
    if (!init) return cells;
    const measured = initOf(name);
    return [...cells, measured ? `${measured.ms.toFixed(0)} ms` : '–', measured ? `${(measured.share * 100).toFixed(1)}%` : '–'];
  };
  // Sizes unzipped: installed, what trimming took, the bytecode pyslim wrote, other files it wrote (top_level.txt), shipped.
  const rows: string[][] = [['package', 'version', 'files', 'installed', 'trimmed', 'bytecode', 'other added', 'shipped', 'of zip', ...(init ? ['import', 'of init'] : [])]];
  for (const p of report.packages) rows.push(withInit(p.name, row(p.name, p.version, p, p.zipBytes)));
  if (report.unattributed.installedFiles > 0) rows.push(withInit('(unattributed)', row('(unattributed)', '', report.unattributed, report.unattributed.zipBytes)));
  rows.push(withInit('(source)', row('(source)', '', report.source, report.source.zipBytes)));
  const stdlib = initOf('(stdlib)');
  if (stdlib) rows.push(['(stdlib)', '', '', '', '', '', '', '', '', `${stdlib.ms.toFixed(0)} ms`, `${(stdlib.share * 100).toFixed(1)}%`]);
  const totalRow = row('total', '', report.totals, zip);
  rows.push(init ? [...totalRow, `${init.totalMs.toFixed(0)} ms`, '100%'] : totalRow);

  const lines = [
    `pyslim ${report.pyslimVersion}: ${report.runtime} ${report.arch}, installer ${report.installer} (${report.installerReason})`,
    '',
    // "other added" only when pyslim wrote something besides bytecode.
    columns(splitSizes(report.totals).other > 0 ? rows : rows.map((r) => r.filter((_, i) => i !== 6)), ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right']),
    '',
    headline(report),
    '',
  ];
  if (report.rules.length > 0) {
    lines.push(`saved    ${report.rules.map((r) => `${r.name} −${bytes(r.bytes)} (${r.shrunkFiles ? `${count(r.shrunkFiles)} files shrunk` : `${count(r.files)} files`})`).join(', ')}  [profile ${report.profile}]`);
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
  const b = report.bytecode;
  lines.push(
    b.mode === 'none'
      ? 'bytecode none: each cold start compiles what it imports'
      : `bytecode ${b.mode}: ${count(b.files)} unchecked-hash .pyc (${bytes(b.bytes)}) by ${b.interpreter}${b.failed.length ? `, ${count(b.failed.length)} files Python cannot compile` : ''}`,
  );
  if (report.verify) {
    const v = report.verify;
    lines.push(
      v.limited
        ? `imports  not checked: ${v.limited}`
        : `imports  ${[`${count(v.modules.length)} modules`, ...(v.handler ? [`handler ${v.handler}`] : [])].join(' and ')} import on ${v.interpreter}${v.skipped.length ? ` (skipped ${v.skipped.map((s) => s.module).join(', ')})` : ''}`,
    );
  }
  if (report.cache) lines.push(`cache    ${describeCache(report.cache)}`);
  lines.push(
    `zip      ${report.output.path}`,
    `size     ${bytes(zip)}, ${count(report.output.entries)} entries, ${bytes(report.output.unzippedBytes)} unzipped`,
    `sha256   ${report.output.sha256}`,
    `base64   ${report.output.codeSha256} (Lambda's CodeSha256, Terraform's source_code_hash)`,
    `time     ${Object.entries(report.timings)
      .map(([stage, ms]) => `${stage} ${seconds(ms)}`)
      .join(', ')}`,
  );
  if (init) lines.push('', renderInit(init));
  lines.push(`limits   ${report.budgets.checks.map((c) => `${describeCheck(c)} ${c.ok ? 'ok' : 'EXCEEDED'}`).join('; ')}`);
  return lines.join('\n');
}

const RESOLUTIONS = {
  locked: 'versions from the hash lock',
  pinned: 'versions pinned, as pip resolved them last build',
  revalidated: "last build's versions: every page and file pip read is unchanged",
  pip: 'versions resolved by pip',
} as const;

function describeCache(cache: NonNullable<BuildReport['cache']>): string {
  if (cache.status === 'disabled') return 'off (--no-cache)';
  const how = cache.resolution ? `; ${RESOLUTIONS[cache.resolution]}${cache.resolutionReason ? ` (${cache.resolutionReason})` : ''}` : '';
  const entries = `${count(cache.reusedEntries)} zip entries reused, ${count(cache.compressedEntries)} compressed`;
  const local = cache.status === 'hit' ? `hit: ${entries}${how}` : `miss (${cache.reason}): ${entries}${how}`;
  return cache.remote ? `${local}\n         ${describeRemote(cache.remote)}` : local;
}

/** The remote cache's line: what the lookup and the upload did, and what moved. */
function describeRemote(remote: NonNullable<NonNullable<BuildReport['cache']>['remote']>): string {
  const lookup =
    remote.lookup === 'hit'
      ? `hit, ${bytes(remote.bytesDownloaded)} downloaded in ${remote.downloadSeconds.toFixed(1)} s`
      : `${remote.lookup}${remote.lookupReason ? ` (${remote.lookupReason})` : ''}`;
  const upload =
    remote.upload === 'uploaded'
      ? `uploaded ${bytes(remote.bytesUploaded)} in ${remote.uploadSeconds.toFixed(1)} s`
      : `upload skipped${remote.uploadReason ? ` (${remote.uploadReason})` : ''}`;
  return `remote ${remote.url}: ${lookup}; ${upload}`;
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

/** The init profile: the costliest modules, then imports that could be deferred. */
export function renderInit(init: InitProfile): string {
  const lines = [`init     importing ${init.handler.replace(/\.[^.]+$/, '')} takes ${init.totalMs.toFixed(0)} ms (median of ${init.runs} runs on ${init.interpreter})`];
  if (init.modules.length > 0) {
    lines.push('', columns([['module', 'package', 'self'], ...init.modules.slice(0, 10).map((m) => [m.module, m.package, `${m.ms.toFixed(1)} ms`])], ['left', 'left', 'right']));
  }
  if (init.deferrable.length > 0) {
    lines.push('', 'Imported at init but used only on some code paths; import them inside the branch that needs them:');
    for (const d of init.deferrable) {
      const where = d.usage === 'unused' ? 'never used by the handler module' : 'used only inside conditional branches';
      lines.push(`  ${d.module} (${d.package}, ${d.ms.toFixed(0)} ms): ${where}; e.g. move "import ${d.module}" into the function, under the branch that uses ${d.names.join(', ')}`);
    }
  }
  return lines.join('\n');
}

/** `pyslim profile`: per-package import time, then the costliest modules and deferrable imports. */
export function renderProfileTable(profile: InitProfile & { zip: string; runtime: string }): string {
  const rows = [['package', 'import', 'of init'], ...profile.packages.map((p) => [p.name, `${p.ms.toFixed(0)} ms`, `${(p.share * 100).toFixed(1)}%`])];
  return [`pyslim profile ${profile.zip} (${profile.runtime})`, '', columns(rows, ['left', 'right', 'right']), '', renderInit(profile)].join('\n');
}

/** The summary of a multi-function build: one line per function. */
export function renderSummaryTable(summary: ProjectSummary): string {
  const rows = [['function', 'runtime', 'arch', 'zip', 'unzipped', 'budget', 'dependencies']];
  for (const f of summary.functions) {
    if (f.error !== null) {
      rows.push([f.name, '', '', 'FAILED', '', '', '']);
      continue;
    }
    const deps = f.sharedWith ? `shared with ${f.sharedWith} (installed once)` : f.cache === 'hit' ? 'from the cache' : f.cache === 'miss' ? 'installed' : (f.cache ?? '');
    rows.push([f.name, f.runtime ?? '', f.arch ?? '', bytes(f.bytes ?? 0), bytes(f.unzippedBytes ?? 0), f.withinBudget ? 'ok' : 'EXCEEDED', deps]);
  }
  return columns(rows, ['left', 'left', 'left', 'right', 'right', 'left', 'left']);
}
