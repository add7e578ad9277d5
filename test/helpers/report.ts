/** The parts of a build report that unit tests about sizes do not care about. */
export const quietSections = {
  container: null,
  profile: 'safe' as const,
  runtimePackages: null,
  botoServices: null,
  strip: null,
  native: { sharedObjects: 0, maxGlibc: null, maxGlibcFile: null },
  verify: null,
  bytecode: { mode: 'none' as const, interpreter: null, files: 0, bytes: 0, failed: [], keptSources: [] },
  init: null,
  advice: null,
  budgets: { ok: true, checks: [], contributors: [], suggestions: [] },
  input: null,
  cache: null,
  layer: false,
  withLayers: [],
};

/** Budget limits that check nothing but Lambda's own. */
export const noBudgets = { zipBytes: null, unzippedBytes: null, packages: [], layersBytes: 0 };

type Rules = { name: string; files: number; bytes: number; shrunkFiles?: number }[];

/**
 * A package's (or the totals') accounting for hand-written reports: shipped follows from
 * installed − removed + added, and the schema-1 names carry the same values.
 */
export function accounting(installed: { files: number; bytes: number }, removed: Rules, added: Rules, zipBytes: number) {
  const sum = (rules: Rules, pick: 'files' | 'bytes') => rules.reduce((n, r) => n + r[pick], 0);
  const shippedFiles = installed.files - sum(removed, 'files') + sum(added, 'files');
  const shippedBytes = installed.bytes - sum(removed, 'bytes') + sum(added, 'bytes');
  return {
    installedFiles: installed.files,
    installedBytes: installed.bytes,
    removed,
    added,
    shippedFiles,
    shippedBytes,
    zipBytes,
    filesBefore: installed.files,
    filesAfter: shippedFiles,
    bytesBefore: installed.bytes,
    bytesAfter: shippedBytes,
  };
}

/** The sum of several accountings, rules merged by name, as the report's totals. */
export function totalOf(parts: ReturnType<typeof accounting>[]) {
  const merge = (pick: 'removed' | 'added') => {
    const byName = new Map<string, { name: string; files: number; bytes: number }>();
    for (const r of parts.flatMap((p) => p[pick])) {
      const t = byName.get(r.name) ?? { name: r.name, files: 0, bytes: 0 };
      t.files += r.files;
      t.bytes += r.bytes;
      byName.set(r.name, t);
    }
    return [...byName.values()].sort((a, b) => b.bytes - a.bytes);
  };
  const sum = (pick: (p: ReturnType<typeof accounting>) => number) => parts.reduce((n, p) => n + pick(p), 0);
  return accounting({ files: sum((p) => p.installedFiles), bytes: sum((p) => p.installedBytes) }, merge('removed'), merge('added'), sum((p) => p.zipBytes));
}
