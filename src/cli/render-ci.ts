/** What a CI log shows of a build: the lines of a failed budget and GitHub workflow annotations. */
import prettyBytes from 'pretty-bytes';
import type { BuildReport } from '../model/report.js';
import { describeCheck } from './render-markdown.js';

/** One line per exceeded limit, then the biggest contributors and what would cut them. */
export function budgetFailureLines(report: BuildReport): string[] {
  const failed = report.budgets.checks.filter((c) => !c.ok);
  if (failed.length === 0) return [];
  const over = (actual: number, limit: number) => `${prettyBytes(actual)}, over ${prettyBytes(limit)} by ${prettyBytes(actual - limit)}`;
  const lines = failed.map((c) => {
    switch (c.kind) {
      case 'zip':
        return `error: the zip is ${prettyBytes(c.actualBytes)}, over the budget of ${prettyBytes(c.limitBytes)} by ${prettyBytes(c.actualBytes - c.limitBytes)}`;
      case 'unzipped':
        return `error: unzipped (layers included) is ${over(c.actualBytes, c.limitBytes)} (--budget-unzipped)`;
      case 'package':
        return `error: ${c.name} is ${over(c.actualBytes, c.limitBytes)} unzipped (--budget-package)`;
      case 'lambda-unzipped':
        return `error: function and layers unzip to ${over(c.actualBytes, c.limitBytes)}, Lambda's limit (250 MiB): Lambda will refuse to create it`;
    }
  });
  const biggest = report.budgets.contributors.map((p) => `${p.name} ${prettyBytes(p.bytes)}`).join(', ');
  const cuts = report.budgets.suggestions.map((s) => `${s.action} −${prettyBytes(s.savesBytes)}`).join('; ');
  lines.push(`biggest: ${biggest || 'the function source'}${cuts ? `. Would cut: ${cuts}` : ''}`);
  return lines;
}

/** GitHub workflow commands: one error annotation per exceeded limit, one warning per warning. */
export function annotations(report: BuildReport): string[] {
  const escape = (text: string) => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  return [
    ...report.budgets.checks.filter((c) => !c.ok).map((c) => `::error title=pyslim budget::${escape(describeCheck(c))}, over by ${prettyBytes(c.actualBytes - c.limitBytes)}`),
    ...report.warnings.map((w) => `::warning title=pyslim ${w.code}::${escape(w.message)}`),
  ];
}
