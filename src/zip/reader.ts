/**
 * Reading zips that pyslim did not write, safely.
 *
 * `pyslim inspect`, `diff` and `profile` read zips from any tool, so a zip is untrusted input.
 * `openZipSafely` checks the whole central directory before anything is read or written: entry
 * names (no traversal, absolute paths, backslashes or drive letters, no duplicates, no entry that
 * is both a file and a folder), the entry count, every declared size, the compression ratio, and
 * that entries neither overlap nor run past the end of the file. Contents are then read through
 * yauzl with `validateEntrySizes`, so no entry can inflate to more bytes than it declared: the
 * checked declared sizes bound the work.
 *
 * Every failure is one PyslimError('INVALID_ZIP') whose message says what is wrong with which
 * entry. This module leaves src/zip-reader.ts (the build's reader of its own output) alone.
 */
import { promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import yauzl from 'yauzl';
import { PyslimError } from '../errors.js';
import { LAMBDA_UNZIPPED_LIMIT } from '../size.js';

/** Bounds on what a zip may declare. Every field can be lowered or raised by the caller. */
export interface ZipLimits {
  /** Most entries (files and folders) a zip may list. */
  maxEntries: number;
  /** Largest declared unzipped size of one entry. */
  maxEntryBytes: number;
  /** Largest sum of the declared unzipped sizes of all entries. */
  maxTotalBytes: number;
  /** Highest unzipped:zipped ratio, for an entry or for the whole zip, once it is over `ratioFloorBytes`. */
  maxCompressionRatio: number;
  /** Sizes below this are never ratio-checked: small files of zeros are common and harmless. */
  ratioFloorBytes: number;
}

/**
 * The defaults. Why these numbers:
 * - 100,000 entries: big real functions (botocore, pandas, scipy together) hold 10–30k files.
 * - 262,144,000 bytes per entry: Lambda's unzipped limit, so no entry of a deployable zip is larger.
 * - 1 GiB in total: four times Lambda's limit, so inspect can still explain an oversized zip, yet
 *   a bomb cannot fill the disk.
 * - ratio 100 above 8 MiB: across ~970 real wheels, no file over 4 MiB compresses better than 36:1
 *   (small test fixtures of zeros reach 1,000:1, hence the floor), while deflate's ceiling, which
 *   bombs sit at, is about 1,030:1.
 */
export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = Object.freeze({
  maxEntries: 100_000,
  maxEntryBytes: LAMBDA_UNZIPPED_LIMIT,
  maxTotalBytes: 1024 ** 3,
  maxCompressionRatio: 100,
  ratioFloorBytes: 8 * 1024 * 1024,
});

/** What an entry is, from its name and Unix mode. */
export type ZipEntryKind = 'file' | 'directory' | 'symlink' | 'special';

/** One checked entry of the central directory. */
export interface SafeZipEntry {
  /** The path, normalized: forward slashes, no "." or empty segments; folders end with "/". */
  name: string;
  kind: ZipEntryKind;
  /** Bytes of the entry's data inside the zip (headers not included). */
  compressedSize: number;
  /** Declared unzipped size; reading enforces it. */
  uncompressedSize: number;
  /** 0 stored, 8 deflated; the only two Lambda (and pyslim) read. */
  compressionMethod: number;
  crc32: number;
  /** Permission bits from a Unix-made zip (0 when the zip was made elsewhere). */
  mode: number;
}

/** An opened, fully checked zip. Call `close()` when done. */
export interface SafeZip {
  /** The zip file's path. */
  path: string;
  /** Size of the zip file. */
  fileBytes: number;
  /** Every entry, in central-directory order. */
  entries: readonly SafeZipEntry[];
  /** Sum of the declared unzipped sizes. */
  uncompressedBytes: number;
  /** Sum of the entries' compressed sizes. */
  compressedBytes: number;
  /** Reads one entry into memory; refuses entries declared larger than `maxBytes`. */
  readEntry(entry: SafeZipEntry, maxBytes: number): Promise<Buffer>;
  /** A stream of the entry's unzipped bytes that fails (INVALID_ZIP) if they exceed the declared size. */
  openEntryStream(entry: SafeZipEntry): Promise<Readable>;
  close(): void;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
/** The "version made by" host byte of a zip written on Unix; only then is the mode meaningful. */
const HOST_UNIX = 3;
/** A local file header is at least this long, before its name and extra field. */
const LOCAL_HEADER_BYTES = 30;

/**
 * Opens a zip and checks its whole central directory against `limits`. Throws INVALID_ZIP, with
 * the entry and the problem in the message, for anything unsafe or damaged.
 */
export async function openZipSafely(file: string, limits: Partial<ZipLimits> = {}): Promise<SafeZip> {
  const bounds: ZipLimits = { ...DEFAULT_ZIP_LIMITS, ...limits };
  const fileBytes = await sizeOf(file);
  let zip: yauzl.ZipFile;
  try {
    // decodeStrings: false so that yauzl does not rewrite backslashes or reject names with its
    // own generic messages; names are decoded and checked below, each with a precise message.
    zip = await yauzl.openPromise(file, { autoClose: false, decodeStrings: false, validateEntrySizes: true });
  } catch (error) {
    throw invalidZip(file, await describeOpenError(file, fileBytes, error));
  }
  try {
    if (zip.entryCount > bounds.maxEntries) {
      throw invalidZip(file, `it lists ${count(zip.entryCount)} entries, more than the limit of ${count(bounds.maxEntries)}`);
    }
    const raw: yauzl.Entry[] = [];
    try {
      for await (const entry of zip.eachEntry()) raw.push(entry);
    } catch (error) {
      throw invalidZip(file, describeReadError(error));
    }
    const entries = checkEntries(file, raw, fileBytes, bounds);
    return wrap(file, zip, fileBytes, raw, entries);
  } catch (error) {
    zip.close();
    throw error;
  }
}

function wrap(file: string, zip: yauzl.ZipFile, fileBytes: number, raw: yauzl.Entry[], entries: SafeZipEntry[]): SafeZip {
  const rawOf = new Map(entries.map((entry, i) => [entry, raw[i]!]));
  const openEntryStream = async (entry: SafeZipEntry): Promise<Readable> => {
    const source = rawOf.get(entry);
    if (!source) throw new PyslimError('INTERNAL', `entry ${entry.name} does not belong to ${file}`);
    let stream: Readable;
    try {
      stream = await zip.openReadStreamPromise(source);
    } catch (error) {
      throw invalidZip(file, describeReadError(error, entry.name));
    }
    return guardStream(file, entry, stream);
  };
  return {
    path: file,
    fileBytes,
    entries,
    uncompressedBytes: entries.reduce((n, e) => n + e.uncompressedSize, 0),
    compressedBytes: entries.reduce((n, e) => n + e.compressedSize, 0),
    openEntryStream,
    async readEntry(entry, maxBytes) {
      if (entry.uncompressedSize > maxBytes) {
        throw invalidZip(file, `entry ${entry.name} declares ${count(entry.uncompressedSize)} bytes, more than the ${count(maxBytes)} expected of it`);
      }
      const stream = await openEntryStream(entry);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    close: () => zip.close(),
  };
}

/**
 * Re-emits a read stream's errors as INVALID_ZIP and verifies the CRC-32 at the end. yauzl checks
 * the byte count but not the checksum, and a damaged entry of the right length must not pass.
 */
function guardStream(file: string, entry: SafeZipEntry, source: Readable): Readable {
  async function* checked(): AsyncGenerator<Buffer> {
    let crc = 0;
    try {
      for await (const chunk of source) {
        crc = crc32(chunk as Buffer, crc);
        yield chunk as Buffer;
      }
    } catch (error) {
      throw invalidZip(file, describeReadError(error, entry.name));
    }
    if (crc >>> 0 !== entry.crc32 >>> 0) throw invalidZip(file, `entry ${entry.name} fails its CRC-32 check: its data is damaged`);
  }
  // Readable.from keeps back-pressure, and a throw inside the generator becomes a stream error.
  return Readable.from(checked(), { objectMode: false });
}

/** zlib.crc32 arrived in Node 20.15; the table version covers older 20.x. */
const crc32: (data: Buffer, value: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (data, value) => (zlib as unknown as { crc32(d: Buffer, v: number): number }).crc32(data, value)
    : crc32Table;

let table: Uint32Array | undefined;
function crc32Table(data: Buffer, value: number): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~value >>> 0;
  for (const byte of data) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** Every check that needs only the central directory. Nothing is read or written before they pass. */
function checkEntries(file: string, raw: readonly yauzl.Entry[], fileBytes: number, limits: ZipLimits): SafeZipEntry[] {
  const entries: SafeZipEntry[] = [];
  const seen = new Set<string>();
  let total = 0;
  for (const entry of raw) {
    const decoded = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
    const problem = nameProblem(decoded);
    if (problem) throw invalidZip(file, `entry ${JSON.stringify(decoded)} ${problem}`);
    const kind = kindOf(decoded, entry);
    // A folder marked only by its mode still gets the trailing slash every other folder has.
    const name = normalizeEntryName(kind === 'directory' && !decoded.endsWith('/') ? `${decoded}/` : decoded);
    if (seen.has(name)) throw invalidZip(file, `entry ${name} appears more than once`);
    seen.add(name);

    const safe: SafeZipEntry = {
      name,
      kind,
      compressedSize: entry.compressedSize,
      uncompressedSize: entry.uncompressedSize,
      compressionMethod: entry.compressionMethod,
      crc32: entry.crc32,
      mode: entry.versionMadeBy >> 8 === HOST_UNIX ? (entry.externalFileAttributes >>> 16) & 0o7777 : 0,
    };
    if (entry.isEncrypted()) throw invalidZip(file, `entry ${name} is encrypted; Lambda cannot read encrypted entries`);
    if (safe.compressionMethod !== 0 && safe.compressionMethod !== 8) {
      throw invalidZip(file, `entry ${name} uses compression method ${safe.compressionMethod}; only stored (0) and deflated (8) entries are supported`);
    }
    if (safe.uncompressedSize > limits.maxEntryBytes) {
      throw invalidZip(file, `entry ${name} declares ${count(safe.uncompressedSize)} bytes unzipped, more than the limit of ${count(limits.maxEntryBytes)} per entry`);
    }
    if (safe.uncompressedSize > limits.ratioFloorBytes && safe.uncompressedSize > safe.compressedSize * limits.maxCompressionRatio) {
      throw invalidZip(
        file,
        `entry ${name} inflates ${count(safe.compressedSize)} bytes to ${count(safe.uncompressedSize)}, a compression ratio over ${limits.maxCompressionRatio}:1 (a zip bomb?)`,
      );
    }
    total += safe.uncompressedSize;
    if (total > limits.maxTotalBytes) {
      throw invalidZip(file, `its entries declare more than ${count(limits.maxTotalBytes)} bytes unzipped in total, the limit`);
    }
    entries.push(safe);
  }
  if (total > limits.ratioFloorBytes && total > fileBytes * limits.maxCompressionRatio) {
    throw invalidZip(file, `it inflates ${count(fileBytes)} bytes to ${count(total)}, a compression ratio over ${limits.maxCompressionRatio}:1 (a zip bomb?)`);
  }
  checkFileFolderConflicts(file, entries);
  checkExtents(file, raw, entries, fileBytes);
  return entries;
}

/**
 * Why an entry name is unsafe, or undefined. These are the names that could write outside the
 * extraction folder, or that Linux and Windows tools read differently.
 */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'has an empty name';
  if (name.includes('\0')) return 'has a NUL byte in its name';
  if (name.includes('\\')) return 'has a backslash in its name (a Windows path separator; a path traversal on some tools)';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter (an absolute Windows path)';
  if (name.startsWith('/')) return 'is an absolute path';
  if (name.split('/').includes('..')) return 'contains ".." (a path traversal)';
  if (normalizeEntryName(name) === '') return 'names the zip root itself';
  // Linux's NAME_MAX: such an entry cannot be extracted, by pyslim or by Lambda.
  if (name.split('/').some((segment) => Buffer.byteLength(segment) > 255)) return 'has a path segment longer than 255 bytes';
  return undefined;
}

/** Drops "." and empty segments ("./a//b" → "a/b"), keeping a folder's trailing slash. */
export function normalizeEntryName(name: string): string {
  const isFolder = name.endsWith('/');
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  return segments.length === 0 ? '' : segments.join('/') + (isFolder ? '/' : '');
}

function kindOf(name: string, entry: yauzl.Entry): ZipEntryKind {
  const type = entry.versionMadeBy >> 8 === HOST_UNIX ? (entry.externalFileAttributes >>> 16) & S_IFMT : 0;
  if (name.endsWith('/') || type === S_IFDIR) return 'directory';
  if (type === S_IFLNK) return 'symlink';
  if (type === 0 || type === S_IFREG) return 'file';
  return 'special';
}

/** A path cannot be a file (or link) and also hold other entries. */
function checkFileFolderConflicts(file: string, entries: readonly SafeZipEntry[]): void {
  const leaves = new Set(entries.filter((e) => e.kind !== 'directory').map((e) => e.name));
  for (const entry of entries) {
    const name = entry.name.endsWith('/') ? entry.name.slice(0, -1) : entry.name;
    if (entry.kind === 'directory' && leaves.has(name)) {
      throw invalidZip(file, `${name} is both a file and a folder in the zip`);
    }
    for (let slash = name.indexOf('/'); slash >= 0; slash = name.indexOf('/', slash + 1)) {
      const parent = name.slice(0, slash);
      if (leaves.has(parent)) throw invalidZip(file, `${parent} is both a file and a folder in the zip (entry ${entry.name} is inside it)`);
    }
  }
}

/**
 * Entries' data must lie inside the file and must not overlap. Overlapping entries are how the
 * densest zip bombs reuse one compressed kernel many times; no zip tool writes them.
 */
function checkExtents(file: string, raw: readonly yauzl.Entry[], entries: readonly SafeZipEntry[], fileBytes: number): void {
  const extents = raw.map((entry, i) => ({
    name: entries[i]!.name,
    start: entry.relativeOffsetOfLocalHeader,
    // A lower bound of the entry's length: the local header repeats the name, then the data.
    end: entry.relativeOffsetOfLocalHeader + LOCAL_HEADER_BYTES + entry.fileNameLength + entry.compressedSize,
  }));
  extents.sort((a, b) => a.start - b.start);
  for (const [i, extent] of extents.entries()) {
    if (extent.end > fileBytes) {
      throw invalidZip(file, `entry ${extent.name} runs past the end of the file (${count(extent.end)} > ${count(fileBytes)} bytes): the zip is truncated or damaged`);
    }
    const next = extents[i + 1];
    if (next && extent.end > next.start) throw invalidZip(file, `entries ${extent.name} and ${next.name} overlap (a zip bomb?)`);
  }
}

/** Turns yauzl's open-time errors into what the user can act on. */
async function describeOpenError(file: string, fileBytes: number, error: unknown): Promise<string> {
  const message = errorMessage(error);
  if (/End of central directory record signature not found/.test(message)) {
    if (fileBytes === 0) return 'the file is empty';
    const head = await readHead(file, 4);
    // A local file header at the start means a zip whose end is missing.
    if (head.equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return 'it is truncated: the end of central directory record is missing';
    return 'it is not a zip file (no end of central directory record)';
  }
  if (/Invalid comment length/.test(message)) return 'its end of central directory record is damaged, or bytes follow it';
  if (/multi-disk/.test(message)) return 'it is one part of a split (multi-disk) zip';
  if (/zip64/i.test(message)) return `its zip64 end records are damaged (${message})`;
  if (/EOF/i.test(message)) return 'it is truncated: its end record points past the end of the file';
  return message;
}

/** Turns yauzl's and zlib's errors while reading entries into one line naming the entry. */
function describeReadError(error: unknown, entryName?: string): string {
  if (error instanceof PyslimError) return error.message;
  const message = errorMessage(error);
  const subject = entryName ? `entry ${entryName}` : 'the central directory';
  let match: RegExpExecArray | null;
  if ((match = /too many bytes in the stream\. expected (\d+)/.exec(message))) {
    return `${subject} inflates to more than its declared ${count(Number(match[1]))} bytes (a zip bomb, or a damaged zip)`;
  }
  if ((match = /not enough bytes in the stream\. expected (\d+)/.exec(message))) {
    return `${subject} inflates to fewer than its declared ${count(Number(match[1]))} bytes: the zip is damaged`;
  }
  if (/invalid central directory file header signature/.test(message)) {
    return 'its central directory is damaged: no entry header where the end record says the directory starts';
  }
  if (/unexpected EOF/i.test(message)) return `${subject} runs past the end of the file: the zip is truncated or damaged`;
  if (/invalid local file header signature/.test(message)) return `${subject} has no local header where the central directory says: the zip is damaged`;
  if (/file data overflows file bounds/.test(message)) return `${subject} runs past the end of the file: the zip is truncated or damaged`;
  if (/compressed\/uncompressed size mismatch for stored file/.test(message)) return `an entry stored without compression declares two different sizes: ${message}`;
  if (/strong encryption/.test(message)) return 'it uses strong encryption, which Lambda cannot read';
  if (/extra field/.test(message)) return `an entry's extra field is damaged (${message})`;
  const zlibCode = (error as { code?: unknown }).code;
  if (typeof zlibCode === 'string' && zlibCode.startsWith('Z_')) return `${subject} has damaged compressed data (${message})`;
  return entryName ? `${subject}: ${message}` : message;
}

function invalidZip(file: string, problem: string): PyslimError {
  return new PyslimError('INVALID_ZIP', `cannot use ${file}: ${problem}`, {
    hint: 'Rebuild the zip with a standard tool (pyslim build, or zip -r9), or check that it was copied whole',
  });
}

async function sizeOf(file: string): Promise<number> {
  try {
    const stats = await fs.stat(file);
    if (!stats.isFile()) throw invalidZip(file, 'it is not a file');
    return stats.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new PyslimError('FILE_NOT_FOUND', `zip not found: ${file}`, { hint: 'Check the path' });
    }
    throw error;
  }
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));
const count = (n: number) => n.toLocaleString('en-US');
