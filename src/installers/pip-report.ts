/** Reading pip's installation report (`pip install --dry-run --report`, pip ≥ 22.2). */
import { PyslimError } from '../errors.js';
import type { ResolvedDistribution } from './types.js';

interface PipReport {
  install?: { metadata?: { name?: string; version?: string }; download_info?: { url?: string; archive_info?: { hash?: string; hashes?: Record<string, string> } } }[];
}

/** The distributions a report says pip would install, sorted by name. */
export function parsePipReport(text: string): ResolvedDistribution[] {
  let report: PipReport;
  try {
    report = JSON.parse(text) as PipReport;
  } catch {
    throw new PyslimError('PIP_FAILED', 'pip wrote an unreadable installation report', { hint: 'Upgrade pip to 22.2 or newer' });
  }
  return (report.install ?? [])
    .map((item) => {
      const info = item.download_info?.archive_info;
      const hash = info?.hashes?.sha256 ? `sha256=${info.hashes.sha256}` : info?.hash;
      return { name: item.metadata?.name ?? '?', version: item.metadata?.version ?? '?', ...(hash ? { hash } : {}) };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
