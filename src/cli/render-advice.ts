/** The advisor's section for the terminal (a table, and a bar chart on a TTY) and for markdown. */
import type { Advice } from '../model/report.js';
import { columns } from './render-table.js';

const ms = (n: number | null) => (n === null ? 'timed out' : n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);
const usd = (n: number | null) => (n === null ? '–' : `$${n < 10 ? n.toFixed(2) : n.toFixed(0)}`);
const BAR_WIDTH = 40;

/** The table of init per memory setting; `chart` adds a text bar per setting (TTY only). */
export function renderAdvice(advice: Advice, options: { chart?: boolean } = {}): string {
  const kind = advice.quota.method ? `measured under a CPU quota (${advice.quota.method})` : 'ESTIMATED, not measured';
  const lines = [`advice   ${advice.handler} on ${advice.runtime} ${advice.arch}: init ${ms(advice.hostInitMs)} at the host's full CPU (median of ${advice.runs} runs, ${advice.interpreter})`];
  if (advice.quota.note) lines.push(`         ${advice.quota.note}`);
  lines.push('', `init per memory setting, ${kind}; INIT billed at $${advice.price.usdPerGbSecond}/GB-s (${advice.price.arch}, ${advice.price.region}, ${advice.price.date}):`);
  const rows = [['memory', 'vCPU', advice.quota.method ? 'init (median)' : 'init (estimate)', 'INIT GB-s', '$ per 1M cold starts', ''], ...advice.memory.map((m) => [
    `${m.memoryMb} MB`,
    m.vcpu.toFixed(2),
    ms(m.initMs),
    m.gbSeconds === null ? '–' : m.gbSeconds.toFixed(4),
    usd(m.usdPerMillion),
    [m.memoryMb === advice.recommendation?.memoryMb ? '← recommended' : '', m.overInitLimit ? "over Lambda's 10 s INIT limit" : ''].filter(Boolean).join(', '),
  ])];
  lines.push(columns(rows, ['right', 'right', 'right', 'right', 'right', 'left']));
  if (options.chart) {
    const longest = Math.max(...advice.memory.map((m) => m.initMs ?? 0), 1);
    lines.push('');
    for (const m of advice.memory) {
      const width = m.initMs === null ? BAR_WIDTH : Math.max(1, Math.round((m.initMs / longest) * BAR_WIDTH));
      lines.push(`${String(m.memoryMb).padStart(6)} MB ${'█'.repeat(width)} ${ms(m.initMs)}`);
    }
  }
  if (advice.recommendation) lines.push('', `recommended ${advice.recommendation.memoryMb} MB: ${advice.recommendation.reason} (init cost only; duration is billed on top)`);
  if (advice.statements.length > 0) {
    lines.push('', "the function's own init, slowest top-level statements (self time at full CPU):");
    lines.push(columns(advice.statements.slice(0, 5).map((s) => [`${s.file}:${s.line}`, ms(s.selfMs), s.statement]), ['left', 'right', 'left']));
  }
  if (advice.findings.length > 0) {
    lines.push('', `${advice.findings.length} finding${advice.findings.length === 1 ? '' : 's'} on the function's code:`);
    for (const f of advice.findings) lines.push(`  ${f.file}:${f.line}  ${f.code}  ${f.statement}`, `      why: ${f.reason}`, `      fix: ${f.fix}`);
  }
  const snap = advice.findings.filter((f) => f.code.startsWith('SNAPSTART_')).length;
  lines.push('', advice.snapStart.supported ? `SnapStart: available for ${advice.runtime}; ${snap === 0 ? 'no state found that a snapshot would clone' : `${snap} finding${snap === 1 ? '' : 's'} above to fix first`}` : `SnapStart: not available (${advice.snapStart.blockers.join('; ')})`);
  if (advice.arm64) lines.push(arm64Line(advice.arm64));
  return lines.join('\n');
}

function arm64Line(arm64: NonNullable<Advice['arm64']>): string {
  if (arm64.note) return `arm64: ${arm64.note}`;
  if (arm64.ready && arm64.distributions === 0) return 'arm64: ready, nothing but the function\'s own code to rebuild; arm64 INIT costs 20% less per GB-s';
  if (arm64.ready) return `arm64: ready, every distribution has an arm64 wheel for this runtime (${arm64.pure} of ${arm64.distributions} pure Python); arm64 INIT costs 20% less per GB-s`;
  return `arm64: not ready, no arm64 wheel of the same version within the runtime's glibc for ${arm64.missing.map((m) => `${m.name} ${m.version}`).join(', ')}`;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderAdviceMarkdown(advice: Advice): string {
  const lines = [
    `#### Cold start: ${cell(advice.handler)} (${advice.runtime} ${advice.arch})`,
    '',
    advice.quota.method ? `Init measured under Lambda's CPU share per memory setting (${advice.quota.method}, median of ${advice.runs}).` : `**Estimates**: ${cell(advice.quota.note ?? '')}`,
    '',
    '| memory | init | INIT GB-s | $ per 1M cold starts |',
    '|---:|---:|---:|---:|',
    ...advice.memory.map((m) => `| ${m.memoryMb} MB${m.memoryMb === advice.recommendation?.memoryMb ? ' ⭐' : ''} | ${ms(m.initMs)}${m.overInitLimit ? ' ❌' : ''} | ${m.gbSeconds?.toFixed(4) ?? '–'} | ${usd(m.usdPerMillion)} |`),
  ];
  if (advice.recommendation) lines.push('', `Recommended: **${advice.recommendation.memoryMb} MB**, ${cell(advice.recommendation.reason)}.`);
  if (advice.findings.length > 0) {
    lines.push('', ...advice.findings.map((f) => `- \`${cell(f.file)}:${f.line}\` **${f.code}**: ${cell(f.reason)}. Fix: ${cell(f.fix)}`));
  }
  if (advice.arm64) lines.push('', cell(arm64Line(advice.arm64)));
  return lines.join('\n');
}
