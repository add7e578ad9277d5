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
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import archiver from 'archiver';
import { throwIfAborted } from '../errors.js';
import { readZipEntries } from '../zip-reader.js';
import type { TreeFile } from './inventory.js';

/**
 * The date on every entry: 1980-01-01 00:00:00, the earliest a DOS timestamp can hold. A fixed
 * date is what makes the bytes repeatable; it is also why timestamp-checked .pyc files cannot be
 * shipped (they would be stale on arrival), see the compile stage.
 */
export const FIXED_ZIP_DATE = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));
export const FILE_MODE = 0o644;
export const EXECUTABLE_MODE = 0o755;
export const DIRECTORY_MODE = 0o755;
/** zlib's maximum. */
export const COMPRESSION_LEVEL = 9;

export interface ZipOptions {
  /** What goes in, already free of duplicate paths, sorted by path. */
  files: readonly TreeFile[];
  /** The final output path; the zip is written to a temp file beside it. */
  out: string;
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
}

/** The folder entries a set of file paths implies, e.g. "a/b/c.py" → "a/", "a/b/". */
export function folderEntries(paths: readonly string[]): string[] {
  const folders = new Set<string>();
  for (const p of paths) {
    for (let slash = p.indexOf('/'); slash >= 0; slash = p.indexOf('/', slash + 1)) folders.add(p.slice(0, slash + 1));
  }
  return [...folders];
}

export async function writeZip(options: ZipOptions): Promise<ZipResult> {
  const out = path.resolve(options.out);
  await fs.mkdir(path.dirname(out), { recursive: true });
  const tempPath = path.join(path.dirname(out), `.pyslim-${path.basename(out)}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeArchive(tempPath, options);
    const [sha256, stats, entries] = await Promise.all([hashFile(tempPath), fs.stat(tempPath), readZipEntries(tempPath)]);
    const compressedSizes = new Map<string, number>();
    let unzippedBytes = 0;
    for (const entry of entries) {
      if (entry.isDirectory) continue;
      compressedSizes.set(entry.name, entry.compressedSize);
      unzippedBytes += entry.uncompressedSize;
    }
    return { tempPath, bytes: stats.size, entries: entries.length, unzippedBytes, sha256, compressedSizes };
  } catch (error) {
    await fs.rm(tempPath, { force: true });
    throw error;
  }
}

async function writeArchive(tempPath: string, options: ZipOptions): Promise<void> {
  const archive = archiver('zip', { zlib: { level: COMPRESSION_LEVEL }, forceLocalTime: false });
  const output = createWriteStream(tempPath);
  const done = pipeline(archive, output);
  const onAbort = () => archive.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const totalBytes = options.files.reduce((sum, f) => sum + f.size, 0);
    let doneBytes = 0;
    archive.on('entry', (entry: archiver.EntryData) => {
      doneBytes += entry.stats?.size ?? 0;
      options.onProgress?.(doneBytes, totalBytes);
    });
    const files = new Map(options.files.map((f) => [f.path, f]));
    const names = [...folderEntries([...files.keys()]), ...files.keys()].sort();
    for (const name of names) {
      throwIfAborted(options.signal);
      const file = files.get(name);
      if (!file) {
        archive.append(Buffer.alloc(0), { name, date: FIXED_ZIP_DATE, mode: DIRECTORY_MODE });
        continue;
      }
      // Passing stats makes archiver queue entries in call order (its own stat queue runs in
      // parallel and would reorder them).
      const stats = await fs.stat(file.abs);
      archive.file(file.abs, { name, date: FIXED_ZIP_DATE, mode: file.executable ? EXECUTABLE_MODE : FILE_MODE, stats });
    }
    await archive.finalize();
    await done;
    throwIfAborted(options.signal);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}
