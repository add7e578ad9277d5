/**
 * Extracting a zip from any tool into a folder, for `pyslim profile`, which imports the handler
 * from a read-only tree the way Lambda does from /var/task.
 *
 * Safety, in order:
 * - every structural check of `openZipSafely` passes before the first byte is written, so a
 *   traversal, a duplicate or an absurd size never starts an extraction;
 * - symlinks and special files are refused, not recreated: a link is the one entry that could make
 *   a later write land outside the folder, and pyslim's own zips never contain one;
 * - files are created with O_EXCL under folders this function made itself, and each target path
 *   is checked to resolve inside the folder;
 * - each entry must inflate to exactly its declared size and match its CRC-32;
 * - on any failure the folder (and everything written into it) is removed.
 */
import { constants, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PyslimError, throwIfAborted } from '../errors.js';
import { openZipSafely, type SafeZipEntry, type ZipLimits } from './reader.js';

export interface ExtractOptions {
  /** Bounds on the zip; see DEFAULT_ZIP_LIMITS. */
  limits?: Partial<ZipLimits>;
  /**
   * Remove every write bit once extracted (files 0444/0555, folders 0555), as /var/task is
   * read-only on Lambda. Default true. Use `removeExtractedTree` to delete such a tree.
   */
  readOnly?: boolean;
  signal?: AbortSignal;
  /** Called after each file with the unzipped bytes written so far and the total to write. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface ExtractResult {
  /** The folder holding the extracted tree. */
  dir: string;
  /** Regular files written. */
  files: number;
  /** Folders created, the root not included. */
  directories: number;
  /** Unzipped bytes written. */
  bytes: number;
}

/** Permission bits given to what is extracted: executables stay executable, nothing is setuid. */
const FILE_MODE = 0o644;
const EXECUTABLE_MODE = 0o755;
const DIRECTORY_MODE = 0o755;

/**
 * Extracts `zip` into `intoDir`, which must not exist yet or be an empty folder. Throws
 * INVALID_ZIP for an unsafe or damaged zip, after removing whatever it wrote.
 */
export async function extractZipSafely(zip: string, intoDir: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const safe = await openZipSafely(zip, options.limits);
  try {
    const refused = safe.entries.find((e) => e.kind === 'symlink' || e.kind === 'special');
    if (refused) {
      throw new PyslimError(
        'INVALID_ZIP',
        `cannot use ${zip}: entry ${refused.name} is a ${refused.kind === 'symlink' ? 'symbolic link' : 'special file (device, pipe or socket)'}, which pyslim does not extract`,
        { hint: 'Rebuild the zip so that it stores file contents instead of links (Info-ZIP zip does unless given -y)' },
      );
    }
    const root = path.resolve(intoDir);
    const created = await prepareRoot(root);
    try {
      return await writeTree(safe, root, options);
    } catch (error) {
      throw await withCleanup(error, root, created);
    }
  } finally {
    safe.close();
  }
}

/** Extracts into a new folder under the system temp dir. Remove it with `removeExtractedTree`. */
export async function extractZipToTemp(zip: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'pyslim-extract-'));
  try {
    // The tree goes one level down so that the temp folder itself (mode 0700) stays writable
    // and removable even when the tree is made read-only.
    return await extractZipSafely(zip, path.join(parent, 'task'), options);
  } catch (error) {
    await fs.rm(parent, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Deletes an extracted tree, read-only or not. For a tree from `extractZipToTemp`, also removes
 * the (then empty) temp folder around it.
 */
export async function removeExtractedTree(dir: string): Promise<void> {
  const root = path.resolve(dir);
  await makeWritable(root);
  await fs.rm(root, { recursive: true, force: true });
  const parent = path.dirname(root);
  if (path.basename(root) === 'task' && path.basename(parent).startsWith('pyslim-extract-') && path.dirname(parent) === path.resolve(os.tmpdir())) {
    // rmdir, not rm -r: only ever removes the folder extractZipToTemp made, once it is empty.
    await fs.rmdir(parent);
  }
}

/** Creates the root (or accepts an empty one); returns whether it was created here. */
async function prepareRoot(root: string): Promise<boolean> {
  try {
    await fs.mkdir(root, { mode: 0o700 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new PyslimError('INVALID_OPTION', `cannot create ${root}: ${(error as Error).message}`, { hint: 'Extract into a new folder whose parent exists' });
    }
  }
  const stats = await fs.lstat(root);
  if (!stats.isDirectory() || (await fs.readdir(root)).length > 0) {
    throw new PyslimError('INVALID_OPTION', `${root} exists and is not an empty folder`, { hint: 'Extract into a new or empty folder' });
  }
  return false;
}

async function writeTree(safe: Awaited<ReturnType<typeof openZipSafely>>, root: string, options: ExtractOptions): Promise<ExtractResult> {
  const files = safe.entries.filter((e) => e.kind === 'file');
  const folders = folderPaths(safe.entries);
  // Parents sort before their children, so each mkdir finds its parent made by this function.
  for (const folder of folders) await fs.mkdir(inside(root, folder), { mode: DIRECTORY_MODE });

  const totalBytes = files.reduce((n, f) => n + f.uncompressedSize, 0);
  let doneBytes = 0;
  for (const entry of files) {
    throwIfAborted(options.signal);
    doneBytes += await writeFile(safe, entry, inside(root, entry.name));
    options.onProgress?.(doneBytes, totalBytes);
  }
  if (options.readOnly ?? true) await makeReadOnly(root, files, folders);
  return { dir: root, files: files.length, directories: folders.length, bytes: doneBytes };
}

async function writeFile(safe: Awaited<ReturnType<typeof openZipSafely>>, entry: SafeZipEntry, target: string): Promise<number> {
  // O_EXCL: never open something that already exists (a link planted by anyone else included).
  const handle = await fs.open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, FILE_MODE);
  let stream;
  try {
    stream = await safe.openEntryStream(entry);
  } catch (error) {
    await handle.close();
    throw error;
  }
  // The write stream owns the handle from here and closes it, on success or failure: a FileHandle
  // closed by hand while a stream still holds it never settles.
  const out = handle.createWriteStream();
  await pipeline(stream, out);
  // chmod by path is safe here: the file was just created with O_EXCL in a folder made by this function.
  await fs.chmod(target, entry.mode & 0o111 ? EXECUTABLE_MODE : FILE_MODE);
  return out.bytesWritten;
}

/** Every folder the tree needs, from folder entries and from the paths of files, sorted. */
function folderPaths(entries: readonly SafeZipEntry[]): string[] {
  const folders = new Set<string>();
  for (const entry of entries) {
    const name = entry.name.endsWith('/') ? entry.name.slice(0, -1) : entry.name;
    if (entry.kind === 'directory') folders.add(name);
    for (let slash = name.indexOf('/'); slash >= 0; slash = name.indexOf('/', slash + 1)) folders.add(name.slice(0, slash));
  }
  return [...folders].sort();
}

/** Joins and checks that the result stays inside the root; the names were checked already, this is defence in depth. */
function inside(root: string, name: string): string {
  const target = path.resolve(root, ...name.split('/').filter(Boolean));
  const relative = path.relative(root, target);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new PyslimError('INVALID_ZIP', `entry ${name} would be written outside the extraction folder`);
  }
  return target;
}

async function makeReadOnly(root: string, files: readonly SafeZipEntry[], folders: readonly string[]): Promise<void> {
  for (const entry of files) await fs.chmod(inside(root, entry.name), entry.mode & 0o111 ? 0o555 : 0o444);
  // Deepest first, so that no folder loses its write bit before its children are done.
  for (const folder of [...folders].reverse()) await fs.chmod(inside(root, folder), 0o555);
  await fs.chmod(root, 0o555);
}

/** Gives the owner back the write bit on every folder, so that the tree can be deleted. */
async function makeWritable(dir: string): Promise<void> {
  let stats;
  try {
    stats = await fs.lstat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isDirectory()) return;
  await fs.chmod(dir, stats.mode | 0o700);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await makeWritable(path.join(dir, entry.name));
  }
}

/**
 * Removes a failed extraction and returns the error to throw. A failure to clean up is not
 * swallowed: it is added to the error's details, so the user learns what was left behind.
 */
async function withCleanup(error: unknown, root: string, created: boolean): Promise<unknown> {
  try {
    await makeWritable(root);
    if (created) {
      await fs.rm(root, { recursive: true, force: true });
    } else {
      for (const name of await fs.readdir(root)) await fs.rm(path.join(root, name), { recursive: true, force: true });
    }
    return error;
  } catch (cleanupError) {
    const original = error instanceof PyslimError ? error : new PyslimError('INTERNAL', (error as Error).message ?? String(error));
    return new PyslimError(original.code, original.message, {
      hint: `${original.hint ? `${original.hint}. ` : ''}Also remove ${root} by hand: cleaning it up failed`,
      details: `cleanup of ${root} failed: ${(cleanupError as Error).message}`,
      cause: error,
    });
  }
}

