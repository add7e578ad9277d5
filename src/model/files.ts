/** The files and distributions every stage passes along, and the owners that are not distributions. */

/** Owner of the function's own files. */
export const SOURCE_OWNER = '(source)';
/** Owner of installed files that no RECORD claims. */
export const UNATTRIBUTED = '(unattributed)';

/** One file that may go into the zip. */
export interface TreeFile {
  /** Path inside the zip, with forward slashes. */
  path: string;
  /** Where the content is read from. */
  abs: string;
  size: number;
  /** Whether the file is executable on disk; it keeps mode 0755 in the zip. */
  executable: boolean;
  /** Normalized distribution name, SOURCE_OWNER or UNATTRIBUTED. */
  owner: string;
  origin: 'deps' | 'source';
}

/** An installed distribution, read from its `*.dist-info` folder. */
export interface Distribution {
  /** Normalized name (PEP 503); the key everywhere else. */
  key: string;
  /** The name as METADATA spells it. */
  name: string;
  version: string;
  /** The metadata folder, e.g. "numpy-2.2.6.dist-info". */
  distInfo: string;
  /** Importable top-level modules and packages. */
  topLevel: string[];
  /** Whether the wheel shipped a top_level.txt. */
  hasTopLevelFile: boolean;
  /** Raw Requires-Dist values from METADATA. */
  requires: string[];
}
