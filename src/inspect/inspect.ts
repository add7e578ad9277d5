/**
 * `pyslim inspect`: per-package sizes of any Lambda zip, pyslim's or another tool's.
 *
 * Only the central directory and the small metadata files are read; nothing is extracted. Each
 * entry is given to exactly one package or to "unattributed" (see attribute.ts), so the packages
 * and the unattributed rest add up to the zip's totals exactly, compressed and unzipped.
 */
import { hashFile } from '../pipeline/zip.js';
import { parseMetadataHeaders } from '../pipeline/inventory.js';
import { normalizeDistName } from '../python-names.js';
import { openZipSafely, type SafeZip, type SafeZipEntry, type ZipLimits } from '../zip/reader.js';
import { attributeEntries, packageRootOf, type MetadataFolder } from './attribute.js';

export interface InspectOptions {
  /** Bounds on the zip; see DEFAULT_ZIP_LIMITS. */
  limits?: Partial<ZipLimits>;
}

/** Files and bytes; `bytes` is unzipped content, `zipBytes` the compressed data in the zip. */
export interface SizeTally {
  /** Entries that are not folders. */
  files: number;
  bytes: number;
  zipBytes: number;
}

/** One distribution found in the zip. Its sizes include its metadata folder and its bytecode. */
export interface InspectPackage extends SizeTally {
  /** The name as METADATA spells it. */
  name: string;
  version: string;
  /** Normalized name (PEP 503), the key diffs match on. */
  key: string;
  /** The package root it was found in: "" (the zip root), "python/", or "python/lib/python3.X/site-packages/". */
  root: string;
  /** Its metadata folder, e.g. "requests-2.32.3.dist-info". */
  metadataFolder: string;
  /** How its files were found: its RECORD, its top_level.txt, or its name alone. */
  attributedBy: 'record' | 'top-level' | 'name';
  /** The part of the sizes that is bytecode (.pyc). */
  bytecode: SizeTally;
}

/** A top-level file or folder of the unattributed rest. */
export interface UnattributedPath extends SizeTally {
  /** Folders end with "/". */
  path: string;
}

export const INSPECT_NOTES = {
  NO_METADATA: 'no *.dist-info folder at a package root (the zip root, python/, or python/lib/python3.X/site-packages/), so no file could be attributed',
  NO_RECORD: 'some distributions have no RECORD (pyslim removes it), so their files were attributed by top_level.txt or by name',
  SHARED_FOLDER: 'a folder is shared by several distributions and no RECORD splits it, so its files are unattributed',
  SYMLINKS: 'the zip holds symbolic links; pyslim profile will not extract it',
  MIXED_BYTECODE: 'the zip holds bytecode for several interpreters; each .pyc is used only by its own',
} as const;

export type InspectNoteCode = keyof typeof INSPECT_NOTES;

/** A finding about the zip that explains the numbers; never an error. */
export interface InspectNote {
  code: InspectNoteCode;
  /** The specific finding, in one line. */
  message: string;
}

/** What `pyslim inspect --json` writes. Sums over `packages` plus `unattributed` equal `totals`. */
export interface InspectReport {
  zip: {
    path: string;
    /** Size of the zip file. */
    bytes: number;
    /** Entries, folders included. */
    entries: number;
    sha256: string;
    /** Bytes of the file that are headers, names and the central directory: `bytes - totals.zipBytes`. */
    overheadBytes: number;
  };
  /** Distributions, largest unzipped first. */
  packages: InspectPackage[];
  /** Entries no metadata claims, with their top-level files and folders, largest first. */
  unattributed: SizeTally & { paths: UnattributedPath[] };
  totals: SizeTally & { entries: number; directories: number };
  /** All .pyc entries, and the interpreter tags of those in __pycache__ (e.g. "cpython-311"). */
  bytecode: SizeTally & { tags: string[] };
  /** The package roots that hold distributions. */
  roots: string[];
  notes: InspectNote[];
}

/** Largest metadata files pyslim reads; real ones are far smaller (botocore's RECORD is ~0.5 MB). */
const METADATA_MAX_BYTES = 8 * 1024 * 1024;
const RECORD_MAX_BYTES = 64 * 1024 * 1024;

/** Reads a zip's central directory and metadata and returns its per-package sizes. */
export async function inspectZip(zipPath: string, options: InspectOptions = {}): Promise<InspectReport> {
  const zip = await openZipSafely(zipPath, options.limits);
  try {
    const folders = await readMetadataFolders(zip);
    const sha256 = await hashFile(zipPath);
    return tallyReport(zip, folders, sha256);
  } finally {
    zip.close();
  }
}

interface ParsedFolder extends MetadataFolder {
  name: string;
  version: string;
}

/** Finds and parses every *.dist-info and *.egg-info folder at a package root. */
async function readMetadataFolders(zip: SafeZip): Promise<ParsedFolder[]> {
  const byPath = new Map(zip.entries.map((e) => [e.name, e]));
  const found = new Map<string, { root: string; folder: string }>();
  for (const entry of zip.entries) {
    const root = packageRootOf(entry.name);
    const match = /^([^/]+\.(?:dist|egg)-info)\//.exec(entry.name.slice(root.length));
    if (match) found.set(`${root}${match[1]}`, { root, folder: match[1]! });
  }
  const read = async (name: string, max: number): Promise<string | undefined> => {
    const entry = byPath.get(name);
    return entry && entry.kind === 'file' ? (await zip.readEntry(entry, max)).toString('utf8') : undefined;
  };

  const folders: ParsedFolder[] = [];
  for (const [at, { root, folder }] of [...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const isEgg = folder.endsWith('.egg-info');
    const metadata = await read(`${at}/${isEgg ? 'PKG-INFO' : 'METADATA'}`, METADATA_MAX_BYTES);
    const headers = parseMetadataHeaders(metadata ?? '');
    const fromName = /^(.+?)-([^-]+?)(?:-py\d[^-]*)?\.(?:dist|egg)-info$/.exec(folder);
    const name = headers.get('name')?.[0] ?? fromName?.[1] ?? folder.replace(/\.(dist|egg)-info$/, '');
    const record = await read(`${at}/${isEgg ? 'installed-files.txt' : 'RECORD'}`, RECORD_MAX_BYTES);
    const topLevel = await read(`${at}/top_level.txt`, METADATA_MAX_BYTES);
    folders.push({
      root,
      folder,
      name,
      version: headers.get('version')?.[0] ?? fromName?.[2] ?? '',
      key: normalizeDistName(name),
      record: record === undefined ? null : parseRecordPaths(record),
      recordRelativeToFolder: isEgg,
      topLevel: topLevel === undefined ? null : parseTopLevel(topLevel),
    });
  }
  return folders;
}

/** The path column of each RECORD line (CSV: a path holding a comma or a quote is quoted). */
export function parseRecordPaths(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map(firstCsvField);
}

function firstCsvField(line: string): string {
  if (!line.startsWith('"')) {
    const comma = line.indexOf(',');
    return comma < 0 ? line : line.slice(0, comma);
  }
  let field = '';
  for (let i = 1; i < line.length; i++) {
    if (line[i] !== '"') {
      field += line[i];
    } else if (line[i + 1] === '"') {
      field += '"';
      i += 1;
    } else {
      break;
    }
  }
  return field;
}

function parseTopLevel(text: string): string[] {
  return [...new Set(text.split(/\r?\n/).map((line) => line.trim().split('/')[0]!).filter(Boolean))];
}

const emptyTally = (): SizeTally => ({ files: 0, bytes: 0, zipBytes: 0 });

function add(tally: SizeTally, entry: SafeZipEntry): void {
  if (entry.kind !== 'directory') tally.files += 1;
  tally.bytes += entry.uncompressedSize;
  tally.zipBytes += entry.compressedSize;
}

function tallyReport(zip: SafeZip, folders: readonly ParsedFolder[], sha256: string): InspectReport {
  const { entries: owners, sharedFolders } = attributeEntries(
    zip.entries.map((e) => e.name),
    folders,
  );
  const packages = folders.map(
    (meta): InspectPackage => ({
      name: meta.name,
      version: meta.version,
      key: meta.key,
      root: meta.root,
      metadataFolder: meta.folder,
      attributedBy: meta.record !== null ? 'record' : meta.topLevel !== null ? 'top-level' : 'name',
      ...emptyTally(),
      bytecode: emptyTally(),
    }),
  );
  const unattributed = emptyTally();
  const unattributedPaths = new Map<string, UnattributedPath>();
  const totals = { ...emptyTally(), entries: 0, directories: 0 };
  const bytecode = emptyTally();
  const tags = new Set<string>();

  zip.entries.forEach((entry, i) => {
    totals.entries += 1;
    if (entry.kind === 'directory') totals.directories += 1;
    add(totals, entry);
    const isBytecode = entry.kind !== 'directory' && entry.name.endsWith('.pyc');
    if (isBytecode) {
      add(bytecode, entry);
      const tag = /__pycache__\/[^/.]+\.([^/.]+)\.(?:[^/]*\.)?pyc$/.exec(entry.name)?.[1];
      if (tag) tags.add(tag);
    }
    const owner = owners[i]!.owner;
    if (owner !== null) {
      add(packages[owner]!, entry);
      if (isBytecode) add(packages[owner]!.bytecode, entry);
      return;
    }
    add(unattributed, entry);
    const top = topLevelPath(entry.name);
    let group = unattributedPaths.get(top);
    if (!group) unattributedPaths.set(top, (group = { path: top, ...emptyTally() }));
    add(group, entry);
  });

  const bySize = <T extends SizeTally & { path?: string; name?: string }>(a: T, b: T) =>
    b.bytes - a.bytes || b.zipBytes - a.zipBytes || (a.name ?? a.path ?? '').localeCompare(b.name ?? b.path ?? '');
  const report: InspectReport = {
    zip: { path: zip.path, bytes: zip.fileBytes, entries: zip.entries.length, sha256, overheadBytes: zip.fileBytes - totals.zipBytes },
    packages: [...packages].sort(bySize),
    // Folder entries alone (a bin/ shared by two packages' scripts) weigh nothing: not worth a line.
    unattributed: { ...unattributed, paths: [...unattributedPaths.values()].filter((p) => p.files > 0 || p.bytes > 0 || p.zipBytes > 0).sort(bySize) },
    totals,
    bytecode: { ...bytecode, tags: [...tags].sort() },
    roots: [...new Set(folders.map((f) => f.root))].sort(),
    notes: [],
  };
  report.notes = notesFor(zip, folders, sharedFolders, report);
  return report;
}

/** The top-level file or folder (under its package root) that an entry belongs to, e.g. "bin/" or "handler.py". */
function topLevelPath(name: string): string {
  const root = packageRootOf(name);
  const rest = name.slice(root.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? name : `${root}${rest.slice(0, slash + 1)}`;
}

function notesFor(
  zip: SafeZip,
  folders: readonly ParsedFolder[],
  sharedFolders: readonly { path: string; owners: number[] }[],
  report: InspectReport,
): InspectNote[] {
  const notes: InspectNote[] = [];
  if (folders.length === 0 && zip.entries.length > 0) {
    notes.push({ code: 'NO_METADATA', message: 'no distribution metadata (*.dist-info) at the zip root, python/ or python/lib/python3.X/site-packages/: every file is unattributed' });
  }
  const withoutRecord = folders.filter((f) => f.record === null);
  if (withoutRecord.length > 0) {
    notes.push({
      code: 'NO_RECORD',
      message: `${withoutRecord.length} of ${folders.length} distributions have no RECORD; their files were attributed by top_level.txt or by name`,
    });
  }
  for (const shared of sharedFolders) {
    notes.push({
      code: 'SHARED_FOLDER',
      message: `${shared.path} is shared by ${shared.owners.map((d) => folders[d]!.name).join(', ')} and no RECORD splits it; part of it is unattributed`,
    });
  }
  const links = zip.entries.filter((e) => e.kind === 'symlink');
  if (links.length > 0) {
    notes.push({ code: 'SYMLINKS', message: `${links.length} symbolic link entries (first: ${links[0]!.name}); pyslim profile will not extract this zip` });
  }
  if (report.bytecode.tags.length > 1) {
    notes.push({ code: 'MIXED_BYTECODE', message: `bytecode for several interpreters (${report.bytecode.tags.join(', ')}); each runtime uses only its own .pyc files` });
  }
  return notes;
}

/** The package that owns each file entry of a zip (its display name), or '(unattributed)'. */
export async function entryOwners(zipPath: string, options: InspectOptions = {}): Promise<Map<string, string>> {
  const zip = await openZipSafely(zipPath, options.limits);
  try {
    const folders = await readMetadataFolders(zip);
    const paths = zip.entries.map((e) => e.name);
    const { entries } = attributeEntries(paths, folders);
    return new Map(paths.map((p, i) => [p, entries[i]!.owner === null ? '(unattributed)' : folders[entries[i]!.owner!]!.name]));
  } finally {
    zip.close();
  }
}
