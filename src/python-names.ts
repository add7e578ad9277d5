/** Small facts about Python names that several stages share. */

/** PEP 503 normalization: the key under which pyslim tracks a distribution. */
export function normalizeDistName(name: string): string {
  return name.trim().toLowerCase().replace(/[-_.]+/g, '-');
}

/** The distribution name at the start of a PEP 508 requirement, e.g. "numpy" in "numpy>=1.26; ...". */
export function requirementName(requirement: string): string | undefined {
  return /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)/.exec(requirement)?.[1];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The importable module name a top-level path provides: "six.py" → "six",
 * "_cffi_backend.cpython-311-x86_64-linux-gnu.so" → "_cffi_backend", "numpy" (a folder) → "numpy".
 * Returns undefined for paths that cannot be imported (numpy.libs, bin, metadata folders).
 */
export function importableName(segment: string, isDirectory: boolean): string | undefined {
  if (isDirectory) return IDENTIFIER.test(segment) ? segment : undefined;
  const module = /^([A-Za-z_][A-Za-z0-9_]*)(?:\.py|\.[^/]*\.so|\.so|\.pyc)$/.exec(segment);
  return module?.[1];
}
