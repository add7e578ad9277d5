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
