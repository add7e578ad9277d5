/** Reading pip's installation report (`pip install --dry-run --report`, pip ≥ 22.2). */
import { fileURLToPath } from 'node:url';
import { PyslimError } from '../errors.js';
import type { ResolvedDistribution } from './types.js';

interface PipReport {
  install?: { is_direct?: boolean; metadata?: { name?: string; version?: string }; download_info?: { url?: string; archive_info?: { hash?: string; hashes?: Record<string, string> } } }[];
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
      const url = item.download_info?.url;
      const artifact = url?.startsWith('file:') ? fileURLToPath(url) : undefined;
      return {
        name: item.metadata?.name ?? '?',
        version: item.metadata?.version ?? '?',
        ...(hash ? { hash } : {}),
        ...(artifact ? { artifact } : {}),
        ...(item.is_direct ? { direct: true } : {}),
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
