/**
 * A zip writer built for pyslim's output: deflate level 9 on several files at once, in a fixed
 * entry order, with bytes that never depend on timing, concurrency or the host. Files are
 * compressed whole with libdeflate on worker threads (deflate-pool.ts says why); files above
 * `streamThreshold` stream through Node's zlib.
 *
 * Why not archiver: it compresses one entry at a time, so on a 181 MB, 7,260-file tree it took
 * 1.09× Info-ZIP `zip -r9`'s wall time and CPU, where this writer needs 0.8× the CPU before any
 * parallelism (test/bench/zip-writer.js measures all three). Nor can archiver take entries that
 * are already deflated, which the dependency cache needs.
 *
 * How it stays fast and bounded:
 * - Each file is compressed by one zlib call on libuv's thread pool, `concurrency` at a time, and
 *   the results are written strictly in input order. An entry's bytes depend only on its name,
 *   mode and content, so any concurrency gives the same file as concurrency 1.
 * - Files are read whole only up to `streamThreshold`; bigger ones are streamed through zlib when
 *   their turn comes, and their local header is patched afterwards with a positional write (the
 *   output is a seekable file, so no data descriptors are needed). While one streams, the entries
 *   behind it keep compressing into memory, up to `maxBufferedBytes`.
 * - zlib is asked for gzip rather than raw deflate: the payload is the same raw deflate stream,
 *   and the gzip trailer carries the CRC-32 and length, computed on the pool thread by zlib's
 *   SIMD CRC instead of by JavaScript on the main thread.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { PyslimError, throwIfAborted } from '../errors.js';
import { crc32 } from './crc32.js';
import { libdeflateGzip } from './deflate-pool.js';

/** DOS date of every entry: 1980-01-01, the earliest a DOS date can hold ((0 << 9) | (1 << 5) | 1). */
export const DOS_DATE = 0x0021;
/** DOS time of every entry: 00:00:00. */
export const DOS_TIME = 0;
/** Unix (3) in the high byte, APPNOTE 2.0 in the low byte. */
export const VERSION_MADE_BY = (3 << 8) | 20;
/**
 * Eight files in flight: libuv's pool runs four compressions at a time, and the four queued
 * behind them start the moment a thread frees up, instead of after a round trip through the main
 * thread. Of 1, 2, 3, 4 and 8 on the two-core machine, 8 had the best median wall time in each of
 * three benchmark runs (test/bench/zip-writer.js); the memory budget bounds what they hold.
 */
export const DEFAULT_CONCURRENCY = 8;
/** zlib's maximum: the zip is what Lambda downloads on every cold start. */
export const DEFAULT_LEVEL = 9;
/** Files above this are streamed at their turn instead of read whole. */
export const DEFAULT_STREAM_THRESHOLD = 32 * 1024 * 1024;
/** Input bytes that may sit in memory ahead of the write position. */
export const DEFAULT_MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

/** What an entry's bytes come from. */
export type ZipEntrySource =
  /** A file on disk; `size` is what the caller saw, and a file that no longer has it is an error. */
  | { kind: 'file'; path: string; size: number }
  /** A folder entry; its name ends with "/". */
  | { kind: 'directory' }
  | PrecompressedSource;

/**
 * Bytes already in their final zip form (from the cache): copied verbatim, never recompressed,
 * so a rebuild from cached entries gives the same bytes as a cold build.
 */
export interface PrecompressedSource {
  kind: 'precompressed';
  /** 0 stored, 8 deflated. */
  method: 0 | 8;
  /** CRC-32 of the uncompressed bytes. */
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** A fresh stream of exactly `compressedSize` raw bytes (no headers) each time it is called. */
  read(): NodeJS.ReadableStream;
  /**
   * The same bytes at once, faster than a stream per entry. The buffer need only stay valid until
   * the writer asks the next entry for its bytes: the writer copies or writes it before then.
   */
  bytes?(): Buffer | Promise<Buffer>;
}

/** One entry to write. The writer keeps the given order; the caller sorts. */
export interface ZipInputEntry {
  /** Path inside the zip, with forward slashes; folders end with "/". */
  name: string;
  /** Permission bits only (0644, 0755); the file-type bits are added from the source kind. */
  mode: number;
  source: ZipEntrySource;
}

/** What was written for one entry. */
export interface WrittenEntry {
  name: string;
  mode: number;
  /** 0 stored (folders, and files that deflate did not shrink), 8 deflated. */
  method: 0 | 8;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Where the entry's compressed bytes start in the output, so a cache can copy them out later. */
  dataOffset: number;
}

export interface WriteZipOptions {
  /** Files read and compressed at once (default 8); libuv's pool runs 4 at a time and queues the rest. */
  concurrency?: number;
  /** zlib level, 0–9 (default 9). */
  level?: number;
  /**
   * What compresses whole files: libdeflate on worker threads (default; smaller and faster), or
   * Node's zlib on the libuv pool. Streamed files always use zlib.
   */
  engine?: DeflateEngine;
  /** Files larger than this many bytes are streamed rather than read whole (default 16 MiB, at most 1 GiB). */
  streamThreshold?: number;
  /** Input bytes allowed in memory ahead of the write position (default 64 MiB). */
  maxBufferedBytes?: number;
  /** Stops the write; the promise rejects with an INTERRUPTED PyslimError once nothing is running. */
  signal?: AbortSignal;
  /** Called after each entry is written, in order. */
  onEntry?: (entry: WrittenEntry) => void;
  /** Uncompressed bytes written so far. */
  onProgress?: (doneBytes: number) => void;
}

export interface WriteZipResult {
  /** Size of the zip file. */
  bytes: number;
  /** Every entry, in the order written. */
  entries: WrittenEntry[];
  /** The file's SHA-256, computed while writing; undefined when a header was patched afterwards (hash the file then). */
  sha256: string | undefined;
}

const MAX_16 = 0xffff;
const MAX_32 = 0xffffffff;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
/** The MS-DOS directory attribute, which Windows tools read; Info-ZIP and Python set it too. */
const DOS_DIRECTORY = 0x10;
const FLAG_UTF8 = 1 << 11;
const VERSION_NEEDED = 20;
/** APPNOTE 4.5: ZIP64 needs version 4.5. */
const VERSION_ZIP64 = 45;
const LOCAL_HEADER_SIZE = 30;
const CENTRAL_HEADER_SIZE = 46;
/** Local headers carry both 8-byte sizes in their ZIP64 field (APPNOTE 4.5.3). */
const LOCAL_ZIP64_EXTRA_SIZE = 4 + 16;
const GZIP_HEADER_SIZE = 10;
const GZIP_TRAILER_SIZE = 8;
/** Output is gathered into writes of about this size: fewer pool round trips. */
const WRITE_CHUNK = 1024 * 1024;
/** Files up to this size are read with one blocking call (see readWholeFile). */
const SYNC_READ_MAX = 1024 * 1024;
/** Files above this always stream, whatever streamThreshold says: Node cannot read them whole. */
const MAX_WHOLE_FILE = 1024 * 1024 * 1024;
/** Largest zlib output chunk for a whole-file compression. */
const MAX_CHUNK = 4 * 1024 * 1024;
/** Entries queued ahead of the write position, whatever their size (folders cost no bytes). */
const MAX_AHEAD = 1024;

const gzip = promisify(zlib.gzip);

export type DeflateEngine = 'libdeflate' | 'zlib';

/**
 * Writes `entries` to a new zip at `outPath` and resolves when the file is complete.
 *
 * On abort or error it rejects after every read, compression and file handle it started has
 * finished, and leaves the partial file in place for the caller to delete.
 */
export async function writeZipFile(
  outPath: string,
  entries: Iterable<ZipInputEntry> | AsyncIterable<ZipInputEntry>,
  options: WriteZipOptions = {},
): Promise<WriteZipResult> {
  // One internal signal stops queued work both when the caller aborts and when an entry fails.
  const stop = new AbortController();
  const settings = resolveSettings(options, stop.signal);
  throwIfAborted(options.signal);
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const slots: Slot[] = [];
  let out: ZipOutput | undefined;
  try {
    out = await ZipOutput.open(outPath);
    const result = await writeEntries(out, entries, settings, slots);
    const finished = out;
    out = undefined;
    // A failed close (a full disk, say) is a failed write.
    await finished.close();
    return result;
  } catch (error) {
    stop.abort();
    // Nothing may still hold a file or a pool thread when the caller deletes the temp file.
    await Promise.allSettled(slots.map((slot) => slot.prepared));
    // The write has already failed; an error from closing on top of it would only hide why.
    await out?.close().catch(() => undefined);
    if (options.signal?.aborted && !(error instanceof PyslimError && error.code === 'INTERRUPTED')) {
      throw new PyslimError('INTERRUPTED', 'build interrupted', { stage: 'zip', cause: error });
    }
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * A stream of an entry's raw compressed bytes, read back from a zip this writer made: what a cache
 * keeps, and what a PrecompressedSource's read() returns.
 */
export function readRawEntry(zipPath: string, entry: Pick<WrittenEntry, 'dataOffset' | 'compressedSize'>): NodeJS.ReadableStream {
  if (entry.compressedSize === 0) return Readable.from([]);
  return createReadStream(zipPath, { start: entry.dataOffset, end: entry.dataOffset + entry.compressedSize - 1 });
}

/** A precompressed source for an entry of a zip this writer made, to write it again unchanged. */
export function precompressedSource(zipPath: string, entry: WrittenEntry): PrecompressedSource {
  const { method, crc32: crc, compressedSize, uncompressedSize } = entry;
  return { kind: 'precompressed', method, crc32: crc, compressedSize, uncompressedSize, read: () => readRawEntry(zipPath, entry) };
}

interface Settings {
  concurrency: number;
  level: number;
  engine: DeflateEngine;
  streamThreshold: number;
  maxBufferedBytes: number;
  /** Fires when the caller aborts or any entry fails. */
  signal: AbortSignal;
  onEntry: ((entry: WrittenEntry) => void) | undefined;
  onProgress: ((doneBytes: number) => void) | undefined;
  limiter: Limiter;
}

function resolveSettings(options: WriteZipOptions, signal: AbortSignal): Settings {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const level = options.level ?? DEFAULT_LEVEL;
  const engine = options.engine ?? 'libdeflate';
  const streamThreshold = options.streamThreshold ?? DEFAULT_STREAM_THRESHOLD;
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  if (!Number.isInteger(concurrency) || concurrency < 1) invalid(`concurrency must be a positive integer, got ${concurrency}`);
  if (!Number.isInteger(level) || level < 0 || level > 9) invalid(`level must be an integer from 0 to 9, got ${level}`);
  if (engine !== 'libdeflate' && engine !== 'zlib') invalid(`engine must be libdeflate or zlib, got ${String(engine)}`);
  if (!(streamThreshold >= 0)) invalid(`streamThreshold must be a size in bytes, got ${streamThreshold}`);
  if (!(maxBufferedBytes >= 0)) invalid(`maxBufferedBytes must be a size in bytes, got ${maxBufferedBytes}`);
  return {
    concurrency,
    level,
    engine,
    streamThreshold,
    maxBufferedBytes,
    signal,
    onEntry: options.onEntry,
    onProgress: options.onProgress,
    limiter: new Limiter(concurrency),
  };
}

function invalid(message: string): never {
  throw new PyslimError('INTERNAL', `zip writer: ${message}`, { stage: 'zip' });
}

/** An entry on its way to the output, with the work started for it. */
interface Slot {
  entry: ZipInputEntry;
  nameBytes: Buffer;
  /** Input bytes held in memory for this entry until it is written. */
  reserved: number;
  /** Settles when the entry's bytes are ready; null for entries produced at their turn. */
  prepared: Promise<Compressed | null>;
}

/** A file compressed in memory. */
interface Compressed {
  method: 0 | 8;
  crc32: number;
  data: Buffer;
  uncompressedSize: number;
}

/** Central directory facts kept for each written entry. */
interface CentralRecord {
  nameBytes: Buffer;
  flags: number;
  externalAttributes: number;
  headerOffset: number;
  written: WrittenEntry;
}

async function writeEntries(
  out: ZipOutput,
  entries: Iterable<ZipInputEntry> | AsyncIterable<ZipInputEntry>,
  settings: Settings,
  slots: Slot[],
): Promise<WriteZipResult> {
  const records: CentralRecord[] = [];
  const names = new Set<string>();
  let reserved = 0;
  let doneBytes = 0;
  // Slots before `next` are written; they stay in `slots` so an error path can wait for them all.
  let next = 0;
  const writeNext = async () => {
    const slot = slots[next];
    const record = await writeEntry(out, slot, settings, (bytes) => settings.onProgress?.(doneBytes + bytes));
    records.push(record);
    next++;
    reserved -= slot.reserved;
    doneBytes += record.written.uncompressedSize;
    settings.onEntry?.(record.written);
    settings.onProgress?.(doneBytes);
    // Forget the slot's buffers as soon as it is on disk.
    slots[next - 1] = { ...slot, prepared: Promise.resolve(null) };
  };

  for await (const entry of entries) {
    throwIfAborted(settings.signal);
    const nameBytes = validateEntry(entry, names);
    const slot = startEntry(entry, nameBytes, settings);
    slots.push(slot);
    reserved += slot.reserved;
    // The slot that pushed us over the budget is already running; keep writing until under it.
    while (next < slots.length && (slots.length - next > MAX_AHEAD || (reserved > settings.maxBufferedBytes && slots.length - next > 1))) {
      await writeNext();
    }
  }
  while (next < slots.length) await writeNext();
  throwIfAborted(settings.signal);

  const centralOffset = out.offset;
  for (const record of records) await out.append(centralHeader(record));
  await out.append(endOfCentralDirectory(records.length, centralOffset, out.offset - centralOffset));
  await out.drain();
  return { bytes: out.offset, entries: records.map((r) => r.written), sha256: out.sha256() };
}

/** Checks what the format or the reader would otherwise get wrong; returns the encoded name. */
function validateEntry(entry: ZipInputEntry, names: Set<string>): Buffer {
  const { name, mode, source } = entry;
  if (typeof name !== 'string' || name === '' || name.startsWith('/') || name.includes('\0')) {
    invalid(`invalid entry name ${JSON.stringify(name)}`);
  }
  if (name.split('/').some((part, i, parts) => part === '.' || part === '..' || (part === '' && i < parts.length - 1))) {
    invalid(`entry name ${JSON.stringify(name)} has an empty, "." or ".." segment`);
  }
  if ((source.kind === 'directory') !== name.endsWith('/')) {
    invalid(`entry ${JSON.stringify(name)}: only folder entries end with "/"`);
  }
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) invalid(`entry ${JSON.stringify(name)}: mode must be permission bits, got ${mode}`);
  if (names.has(name)) invalid(`duplicate entry ${JSON.stringify(name)}`);
  names.add(name);
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > MAX_16) invalid(`entry name longer than 65535 bytes: ${name.slice(0, 80)}…`);
  if (source.kind === 'file' && !(Number.isSafeInteger(source.size) && source.size >= 0)) invalid(`entry ${JSON.stringify(name)}: bad size`);
  if (source.kind === 'precompressed') {
    const { method, compressedSize, uncompressedSize, crc32: crc } = source;
    if (method !== 0 && method !== 8) invalid(`entry ${JSON.stringify(name)}: method must be 0 or 8`);
    if (![compressedSize, uncompressedSize].every((n) => Number.isSafeInteger(n) && n >= 0)) invalid(`entry ${JSON.stringify(name)}: bad sizes`);
    if (method === 0 && compressedSize !== uncompressedSize) invalid(`entry ${JSON.stringify(name)}: stored sizes differ`);
    if (!(Number.isInteger(crc) && crc >= 0 && crc <= MAX_32)) invalid(`entry ${JSON.stringify(name)}: bad CRC-32`);
  }
  return nameBytes;
}

/** Starts the work for an entry that can run ahead of the write position. */
function startEntry(entry: ZipInputEntry, nameBytes: Buffer, settings: Settings): Slot {
  const { source } = entry;
  if (source.kind !== 'file' || source.size > Math.min(settings.streamThreshold, MAX_WHOLE_FILE)) {
    return { entry, nameBytes, reserved: 0, prepared: Promise.resolve(null) };
  }
  const prepared = settings.limiter.run(false, async () => {
    throwIfAborted(settings.signal);
    const data = await readWholeFile(source.path, source.size, settings.signal);
    if (data.length !== source.size) throw changedWhileZipping(source.path);
    return compressBuffer(data, settings.level, settings.engine);
  });
  // Awaited in order later; until then a failure must not count as unhandled.
  prepared.catch(() => undefined);
  return { entry, nameBytes, reserved: source.size, prepared };
}

/**
 * Reads a file that is compressed whole. Small files are read synchronously: the promise API
 * costs about four pool round trips per file, and on an 8,000-file tree that was a second of CPU
 * (of about fourteen) against half a second for readFileSync, measured on this kind of machine.
 * A small read blocks the event loop for well under a millisecond; the pool keeps compressing.
 */
async function readWholeFile(file: string, size: number, signal: AbortSignal): Promise<Buffer> {
  return size <= SYNC_READ_MAX ? readFileSync(file) : fs.readFile(file, { signal });
}

/** Deflates one whole file, or keeps it stored when deflate does not make it smaller. */
async function compressBuffer(data: Buffer, level: number, engine: DeflateEngine): Promise<Compressed> {
  if (level === 0) return { method: 0, crc32: crc32(data), data, uncompressedSize: data.length };
  // One output chunk that fits the whole member: zlib's default 16 KiB chunks would cost a pool
  // round trip and a copy each. Deflate's worst case is a few bytes per 16 KiB stored block.
  const chunkSize = Math.min(Math.max(data.length + (data.length >> 10) + 64, zlib.constants.Z_MIN_CHUNK), MAX_CHUNK);
  const wrapped = engine === 'libdeflate' ? await libdeflateGzip(data, level) : await gzip(data, { level, chunkSize });
  const { payload, crc, size } = unwrapGzip(wrapped);
  if (size !== data.length % 2 ** 32) throw new PyslimError('INTERNAL', 'zlib returned a gzip member of the wrong length', { stage: 'zip' });
  // Ties go to stored: readers do less work for the same bytes.
  if (payload.length >= data.length) return { method: 0, crc32: crc, data, uncompressedSize: data.length };
  return { method: 8, crc32: crc, data: payload, uncompressedSize: data.length };
}

/** Splits Node's gzip output (a 10-byte header with no optional fields) into payload and trailer. */
function unwrapGzip(wrapped: Buffer): { payload: Buffer; crc: number; size: number } {
  checkGzipHeader(wrapped);
  const end = wrapped.length - GZIP_TRAILER_SIZE;
  return { payload: wrapped.subarray(GZIP_HEADER_SIZE, end), crc: wrapped.readUInt32LE(end), size: wrapped.readUInt32LE(end + 4) };
}

function checkGzipHeader(header: Buffer): void {
  // Magic, method 8 (deflate), no flags: anything else would put header bytes in the payload.
  if (header.length < GZIP_HEADER_SIZE || header[0] !== 0x1f || header[1] !== 0x8b || header[2] !== 8 || header[3] !== 0) {
    throw new PyslimError('INTERNAL', 'zlib returned an unexpected gzip header', { stage: 'zip' });
  }
}

function changedWhileZipping(file: string): PyslimError {
  return new PyslimError('INTERNAL', `${file} changed while it was being zipped`, {
    stage: 'zip',
    hint: 'Make sure nothing writes to the build tree during the build, then build again',
  });
}

/** Writes one entry (local header and data) at the current offset. */
async function writeEntry(out: ZipOutput, slot: Slot, settings: Settings, onBytes: (bytes: number) => void): Promise<CentralRecord> {
  throwIfAborted(settings.signal);
  const { entry, nameBytes } = slot;
  const { source } = entry;
  const flags = /[^\x00-\x7f]/.test(entry.name) ? FLAG_UTF8 : 0;
  const headerOffset = out.offset;
  const record = (method: 0 | 8, crc: number, compressedSize: number, uncompressedSize: number, dataOffset: number): CentralRecord => ({
    nameBytes,
    flags,
    externalAttributes: externalAttributes(entry),
    headerOffset,
    written: { name: entry.name, mode: entry.mode, method, crc32: crc, compressedSize, uncompressedSize, dataOffset },
  });

  if (source.kind === 'directory') {
    const header = localHeader(nameBytes, flags, 0, 0, 0, 0);
    await out.append(header);
    return record(0, 0, 0, 0, headerOffset + header.length);
  }
  if (source.kind === 'precompressed') {
    const header = localHeader(nameBytes, flags, source.method, source.crc32, source.compressedSize, source.uncompressedSize);
    await out.append(header);
    const dataOffset = out.offset;
    if (source.bytes) await out.append(await source.bytes());
    else await copyStream(source.read(), out, settings.signal);
    if (out.offset - dataOffset !== source.compressedSize) {
      throw new PyslimError('INTERNAL', `precompressed entry ${entry.name}: read ${out.offset - dataOffset} bytes, expected ${source.compressedSize}`, {
        stage: 'zip',
      });
    }
    return record(source.method, source.crc32, source.compressedSize, source.uncompressedSize, dataOffset);
  }
  const compressed = await slot.prepared;
  if (compressed) {
    const header = localHeader(nameBytes, flags, compressed.method, compressed.crc32, compressed.data.length, compressed.uncompressedSize);
    await out.append(header);
    const dataOffset = out.offset;
    await out.append(compressed.data);
    return record(compressed.method, compressed.crc32, compressed.data.length, compressed.uncompressedSize, dataOffset);
  }
  // A large file: its turn has come, so it streams straight into place.
  return settings.limiter.run(true, async () => {
    const streamed = await streamFile(out, nameBytes, flags, source.path, source.size, settings, onBytes);
    return record(streamed.method, streamed.crc32, streamed.compressedSize, source.size, streamed.dataOffset);
  });
}

/**
 * Deflates a file straight into the output behind a placeholder header, then patches the header.
 * If deflate did not shrink it, the data is rewritten stored in the same place and the file cut
 * back, so the choice matches what a whole-file compression would make.
 */
async function streamFile(
  out: ZipOutput,
  nameBytes: Buffer,
  flags: number,
  file: string,
  size: number,
  settings: Settings,
  onBytes: (bytes: number) => void,
): Promise<{ method: 0 | 8; crc32: number; compressedSize: number; dataOffset: number }> {
  const headerOffset = out.offset;
  // The placeholder has the final length: the ZIP64 field depends only on the known size.
  await out.append(localHeader(nameBytes, flags, 8, 0, 0, size));
  const dataOffset = out.offset;
  let read = 0;
  const unwrapper = new GzipUnwrapper();
  await pipeline(
    createReadStream(file, { highWaterMark: WRITE_CHUNK }),
    async function* count(chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        read += chunk.length;
        onBytes(read);
        yield chunk;
      }
    },
    zlib.createGzip({ level: settings.level, chunkSize: 256 * 1024 }),
    async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) await out.append(unwrapper.push(chunk));
    },
    { signal: settings.signal },
  );
  const { crc, size: trailerSize } = unwrapper.end();
  if (read !== size || trailerSize !== size % 2 ** 32) throw changedWhileZipping(file);
  let method: 0 | 8 = 8;
  if (out.offset - dataOffset >= size) {
    method = 0;
    await out.rewind(dataOffset);
    let storedCrc = 0;
    await pipeline(createReadStream(file, { highWaterMark: WRITE_CHUNK }), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        storedCrc = crc32(chunk, storedCrc);
        await out.append(chunk);
      }
    }, { signal: settings.signal });
    if (storedCrc !== crc || out.offset - dataOffset !== size) throw changedWhileZipping(file);
  }
  const compressedSize = out.offset - dataOffset;
  await out.writeAt(localHeader(nameBytes, flags, method, crc, compressedSize, size), headerOffset);
  return { method, crc32: crc, compressedSize, dataOffset };
}

async function copyStream(stream: NodeJS.ReadableStream, out: ZipOutput, signal: AbortSignal | undefined): Promise<void> {
  await pipeline(stream, async (chunks: AsyncIterable<Buffer | string>) => {
    for await (const chunk of chunks) await out.append(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }, { signal });
}

/** Strips the gzip framing from a stream of gzip output, holding back what may be the trailer. */
class GzipUnwrapper {
  private header = Buffer.alloc(0);
  private tail = Buffer.alloc(0);

  push(chunk: Buffer): Buffer {
    if (this.header.length < GZIP_HEADER_SIZE) {
      const need = GZIP_HEADER_SIZE - this.header.length;
      this.header = Buffer.concat([this.header, chunk.subarray(0, need)]);
      chunk = chunk.subarray(need);
      if (this.header.length === GZIP_HEADER_SIZE) checkGzipHeader(this.header);
    }
    const joined = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    const keep = Math.min(GZIP_TRAILER_SIZE, joined.length);
    this.tail = Buffer.from(joined.subarray(joined.length - keep));
    return joined.subarray(0, joined.length - keep);
  }

  end(): { crc: number; size: number } {
    if (this.header.length < GZIP_HEADER_SIZE || this.tail.length < GZIP_TRAILER_SIZE) {
      throw new PyslimError('INTERNAL', 'zlib returned a truncated gzip member', { stage: 'zip' });
    }
    return { crc: this.tail.readUInt32LE(0), size: this.tail.readUInt32LE(4) };
  }
}

function externalAttributes(entry: ZipInputEntry): number {
  if (entry.source.kind === 'directory') return (((S_IFDIR | entry.mode) << 16) | DOS_DIRECTORY) >>> 0;
  return ((S_IFREG | entry.mode) << 16) >>> 0;
}

/**
 * The local file header. It carries a ZIP64 field (both sizes) exactly when the uncompressed size
 * needs one: the writer never lets compressed data outgrow the original (it stores instead), so
 * the decision is known before the data is, and is the same for every source of the same entry.
 */
export function localHeader(nameBytes: Buffer, flags: number, method: 0 | 8, crc: number, compressedSize: number, uncompressedSize: number): Buffer {
  const zip64 = uncompressedSize >= MAX_32 || compressedSize >= MAX_32;
  const header = Buffer.alloc(LOCAL_HEADER_SIZE + nameBytes.length + (zip64 ? LOCAL_ZIP64_EXTRA_SIZE : 0));
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(zip64 ? VERSION_ZIP64 : VERSION_NEEDED, 4);
  header.writeUInt16LE(flags, 6);
  header.writeUInt16LE(method, 8);
  header.writeUInt16LE(DOS_TIME, 10);
  header.writeUInt16LE(DOS_DATE, 12);
  header.writeUInt32LE(crc, 14);
  header.writeUInt32LE(zip64 ? MAX_32 : compressedSize, 18);
  header.writeUInt32LE(zip64 ? MAX_32 : uncompressedSize, 22);
  header.writeUInt16LE(nameBytes.length, 26);
  header.writeUInt16LE(zip64 ? LOCAL_ZIP64_EXTRA_SIZE : 0, 28);
  nameBytes.copy(header, LOCAL_HEADER_SIZE);
  if (zip64) {
    const extra = LOCAL_HEADER_SIZE + nameBytes.length;
    header.writeUInt16LE(0x0001, extra);
    header.writeUInt16LE(16, extra + 2);
    header.writeBigUInt64LE(BigInt(uncompressedSize), extra + 4);
    header.writeBigUInt64LE(BigInt(compressedSize), extra + 12);
  }
  return header;
}

/** The central directory header; its ZIP64 field holds only the values that overflow (APPNOTE 4.5.3). */
function centralHeader(record: CentralRecord): Buffer {
  const { nameBytes, flags, externalAttributes: attributes, headerOffset, written } = record;
  const big = [written.uncompressedSize, written.compressedSize, headerOffset].filter((n) => n >= MAX_32);
  const zip64 = big.length > 0;
  // Version 4.5 is needed as soon as either header of the entry uses a ZIP64 field.
  const localZip64 = written.uncompressedSize >= MAX_32 || written.compressedSize >= MAX_32;
  const extraSize = zip64 ? 4 + 8 * big.length : 0;
  const header = Buffer.alloc(CENTRAL_HEADER_SIZE + nameBytes.length + extraSize);
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE(zip64 ? (3 << 8) | VERSION_ZIP64 : VERSION_MADE_BY, 4);
  header.writeUInt16LE(zip64 || localZip64 ? VERSION_ZIP64 : VERSION_NEEDED, 6);
  header.writeUInt16LE(flags, 8);
  header.writeUInt16LE(written.method, 10);
  header.writeUInt16LE(DOS_TIME, 12);
  header.writeUInt16LE(DOS_DATE, 14);
  header.writeUInt32LE(written.crc32, 16);
  header.writeUInt32LE(Math.min(written.compressedSize, MAX_32), 20);
  header.writeUInt32LE(Math.min(written.uncompressedSize, MAX_32), 24);
  header.writeUInt16LE(nameBytes.length, 28);
  header.writeUInt16LE(extraSize, 30);
  // Comment length, disk number and internal attributes stay 0.
  header.writeUInt32LE(attributes, 38);
  header.writeUInt32LE(Math.min(headerOffset, MAX_32), 42);
  nameBytes.copy(header, CENTRAL_HEADER_SIZE);
  if (zip64) {
    let at = CENTRAL_HEADER_SIZE + nameBytes.length;
    header.writeUInt16LE(0x0001, at);
    header.writeUInt16LE(8 * big.length, at + 2);
    at += 4;
    for (const value of big) {
      header.writeBigUInt64LE(BigInt(value), at);
      at += 8;
    }
  }
  return header;
}

/**
 * The end of central directory record, preceded by the ZIP64 record and locator when the entry
 * count or an offset does not fit. A count of exactly 65535 counts as not fitting: readers take
 * 0xFFFF as "look for ZIP64".
 */
export function endOfCentralDirectory(count: number, centralOffset: number, centralSize: number): Buffer {
  const zip64 = count >= MAX_16 || centralOffset >= MAX_32 || centralSize >= MAX_32;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(count, MAX_16), 8);
  end.writeUInt16LE(Math.min(count, MAX_16), 10);
  end.writeUInt32LE(Math.min(centralSize, MAX_32), 12);
  end.writeUInt32LE(Math.min(centralOffset, MAX_32), 16);
  if (!zip64) return end;
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4); // size of the rest of the record
  record.writeUInt16LE((3 << 8) | VERSION_ZIP64, 12);
  record.writeUInt16LE(VERSION_ZIP64, 14);
  record.writeBigUInt64LE(BigInt(count), 24);
  record.writeBigUInt64LE(BigInt(count), 32);
  record.writeBigUInt64LE(BigInt(centralSize), 40);
  record.writeBigUInt64LE(BigInt(centralOffset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(centralOffset + centralSize), 8);
  locator.writeUInt32LE(1, 16); // total number of disks
  return Buffer.concat([record, locator, end]);
}

/**
 * The output file: appends are copied into two reused buffers (one fills while the other is
 * written) and go out in large positional writes, and a streamed entry can go back to patch its
 * header or rewrite its data.
 *
 * Appended bytes are copied (or written, when large) before append() resolves, so a caller may
 * reuse its buffer at once: the cache's entries are read into one reused block for that reason.
 * Fresh memory is what costs here: touching a new 50 MB buffer took 0.25 s on these machines,
 * against 10 ms to copy 50 MB into a buffer already touched.
 */
class ZipOutput {
  /** Logical end of the zip: bytes written, being written, and gathered. */
  offset = 0;
  /** Two gather buffers: one fills while the other is being written. */
  private gather = Buffer.allocUnsafe(WRITE_CHUNK);
  private spare = Buffer.allocUnsafe(WRITE_CHUNK);
  private gathered = 0;
  private inflight: Promise<void> | null = null;
  /**
   * SHA-256 of the bytes in append order, which is the file's order until a header is patched
   * or the file rewound: then the caller hashes the finished file instead.
   */
  private readonly hash = createHash('sha256');
  private linear = true;
  private writtenEnd = 0;

  private constructor(private readonly handle: fs.FileHandle) {}

  static async open(file: string): Promise<ZipOutput> {
    return new ZipOutput(await fs.open(file, 'w'));
  }

  async append(data: Buffer): Promise<void> {
    if (data.length === 0) return;
    if (data.length >= WRITE_CHUNK) {
      // Big buffers go out as they are rather than through the gather buffer.
      await this.drain();
      if (this.linear) this.hash.update(data);
      const at = this.offset;
      this.offset += data.length;
      await this.writeFully(data, at);
      return;
    }
    if (this.gathered + data.length > WRITE_CHUNK) await this.flush();
    data.copy(this.gather, this.gathered);
    this.gathered += data.length;
    this.offset += data.length;
  }

  /** Starts writing what is gathered, once the previous write is done; gathering goes on meanwhile. */
  async flush(): Promise<void> {
    await this.settle();
    if (this.gathered === 0) return;
    const bytes = this.gathered;
    const at = this.offset - bytes;
    const data = this.gather.subarray(0, bytes);
    // Hashed a megabyte at a time: per append, the calls cost more than the hashing.
    if (this.linear) this.hash.update(data);
    [this.gather, this.spare] = [this.spare, this.gather];
    this.gathered = 0;
    this.inflight = this.writeFully(data, at);
    this.inflight.catch(() => undefined); // surfaces at the next settle()
  }

  /** Writes everything appended so far and waits for it. */
  async drain(): Promise<void> {
    await this.flush();
    await this.settle();
  }

  private async settle(): Promise<void> {
    const writing = this.inflight;
    this.inflight = null;
    if (writing) await writing;
  }

  /** Overwrites bytes already appended (a streamed entry's header, once its sizes are known). */
  async writeAt(data: Buffer, position: number): Promise<void> {
    await this.drain();
    if (position < this.writtenEnd) this.linear = false; // a patch: the append-order hash no longer holds
    await this.writeFully(data, position);
  }

  private async writeFully(data: Buffer, position: number): Promise<void> {
    for (let done = 0; done < data.length; ) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
    this.writtenEnd = Math.max(this.writtenEnd, position + data.length);
  }

  /** The file's SHA-256, when every byte went out in order; undefined after a patch or a rewind. */
  sha256(): string | undefined {
    return this.linear ? this.hash.digest('hex') : undefined;
  }

  /** Moves the end back to `offset` and cuts the file there. */
  async rewind(offset: number): Promise<void> {
    await this.drain();
    this.linear = false;
    await this.handle.truncate(offset);
    this.offset = offset;
  }

  async close(): Promise<void> {
    // After a failure a write may still be running; its error is already the caller's.
    await this.settle().catch(() => undefined);
    await this.handle.close();
  }
}

/** At most `size` tasks at a time, started in call order; urgent tasks jump the queue. */
class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async run<T>(urgent: boolean, task: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) {
      await new Promise<void>((resolve) => (urgent ? this.waiting.unshift(resolve) : this.waiting.push(resolve)));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      const nextTask = this.waiting.shift();
      if (nextTask) nextTask();
      else this.running--;
    }
  }
}
