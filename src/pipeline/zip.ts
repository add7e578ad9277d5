/**
 * Zip stage: writes the deployment package at maximum compression, reproducibly.
 *
 * Reproducible by construction: entries are sorted by path, every entry carries the same fixed
 * date, modes are normalized (0644 files, 0755 executables and folders; every entry world-readable
 * because Lambda runs the code as another user), and no uid/gid or timestamp extra fields are
 * written. The zip goes to a temp file beside the output; the orchestrator renames it into place
 * only when the whole build has succeeded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { writeZipFile, type WrittenEntry, type ZipInputEntry } from '../zip/writer.js';
import type { TreeFile } from '../model/files.js';

/**
 * The date on every entry: 1980-01-01 00:00:00, the earliest a DOS timestamp can hold. A fixed
 * date is what makes the bytes repeatable; it is also why timestamp-checked .pyc files cannot be
 * shipped (they would be stale on arrival), see the compile stage.
 */
export const FIXED_ZIP_DATE = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));
export const FILE_MODE = 0o644;
export const EXECUTABLE_MODE = 0o755;
export const DIRECTORY_MODE = 0o755;

export interface ZipOptions {
  /** What goes in, already free of duplicate paths, sorted by path. */
  files: readonly TreeFile[];
  /** The final output path; the zip is written to a temp file beside it. */
  out: string;
  /** Entries already compressed (from the cache), by path; they are copied as they are. */
  precompressed?: ReadonlyMap<string, ZipInputEntry['source']>;
  /** A folder every entry goes under ("python" for a layer). */
  prefix?: string;
  signal?: AbortSignal;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface ZipResult {
  /** The temp file holding the finished zip. */
  tempPath: string;
  bytes: number;
  entries: number;
  unzippedBytes: number;
  sha256: string;
  /** Compressed size of each file entry, by path. */
  compressedSizes: Map<string, number>;
  /** Every entry as written (method, CRC, sizes, data offset), for the cache. */
  written: WrittenEntry[];
}

/** The folder entries a set of file paths implies, e.g. "a/b/c.py" → "a/", "a/b/". */
export function folderEntries(paths: readonly string[]): string[] {
  const folders = new Set<string>();
  for (const p of paths) {
    for (let slash = p.indexOf('/'); slash >= 0; slash = p.indexOf('/', slash + 1)) folders.add(p.slice(0, slash + 1));
  }
  return [...folders];
}

/** The zip's entries in their one order: folders and files sorted together by path. */
export function zipEntries(files: readonly TreeFile[], precompressed?: ReadonlyMap<string, ZipInputEntry['source']>, prefix?: string): ZipInputEntry[] {
  const lead = prefix ? `${prefix}/` : '';
  const byPath = new Map(files.map((f) => [lead + f.path, f]));
  const names = [...folderEntries([...byPath.keys()]), ...byPath.keys()].sort();
  return names.map((name): ZipInputEntry => {
    const file = byPath.get(name);
    if (!file) return { name, mode: DIRECTORY_MODE, source: { kind: 'directory' } };
    const mode = file.executable ? EXECUTABLE_MODE : FILE_MODE;
    // Cached data does not depend on the entry's name, so a layer reuses a function's and back.
    return { name, mode, source: precompressed?.get(file.path) ?? { kind: 'file', path: file.abs, size: file.size } };
  });
}

export async function writeZip(options: ZipOptions): Promise<ZipResult> {
  const out = path.resolve(options.out);
  await fs.mkdir(path.dirname(out), { recursive: true });
  const tempPath = path.join(path.dirname(out), `.pyslim-${path.basename(out)}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    const totalBytes = options.files.reduce((sum, f) => sum + f.size, 0);
    const result = await writeZipFile(tempPath, zipEntries(options.files, options.precompressed, options.prefix), {
      signal: options.signal,
      onProgress: (done) => options.onProgress?.(done, totalBytes),
    });
    const compressedSizes = new Map<string, number>();
    let unzippedBytes = 0;
    const lead = options.prefix ? `${options.prefix}/` : '';
    for (const entry of result.entries) {
      if (entry.name.endsWith('/')) continue;
      // Sizes are keyed by the files' own paths, whatever folder the zip puts them under.
      compressedSizes.set(lead && entry.name.startsWith(lead) ? entry.name.slice(lead.length) : entry.name, entry.compressedSize);
      unzippedBytes += entry.uncompressedSize;
    }
    return { tempPath, bytes: result.bytes, entries: result.entries.length, unzippedBytes, sha256: result.sha256 ?? (await hashFile(tempPath)), compressedSizes, written: result.entries };
  } catch (error) {
    await fs.rm(tempPath, { force: true });
    throw error;
  }
}

export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}
