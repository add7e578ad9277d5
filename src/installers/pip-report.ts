/** Reading pip's installation report (`pip install --dry-run --report`, pip ≥ 22.2). */
import { fileURLToPath } from 'node:url';
import { PyslimError } from '../errors.js';

/** One distribution pip would install, from its --dry-run report. */
export interface ResolvedDistribution {
  name: string;
  version: string;
  /** The artifact's hash when the index gives one (sha256=…). */
  hash?: string;
  /** The artifact's path, when it is a local file. */
  artifact?: string;
  /** Named by URL or path in the requirements, not found on an index. */
  direct?: boolean;
}

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
