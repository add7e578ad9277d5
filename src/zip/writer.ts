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

import { createReadStream, promises as fs, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { PyslimError, throwIfAborted } from '../errors.js';
import { crc32 } from './crc32.js';
import { compressBuffer, type Compressed, type DeflateEngine, GzipUnwrapper } from './deflate.js';
import { Limiter } from './limiter.js';
import { WRITE_CHUNK, ZipOutput } from './output.js';
import { centralHeader, type CentralRecord, endOfCentralDirectory, externalAttributes, FLAG_UTF8, localHeader, MAX_16, MAX_32 } from './records.js';

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

/** Files up to this size are read with one blocking call (see readWholeFile). */
const SYNC_READ_MAX = 1024 * 1024;

/** Files above this always stream, whatever streamThreshold says: Node cannot read them whole. */
const MAX_WHOLE_FILE = 1024 * 1024 * 1024;

/** Entries queued ahead of the write position, whatever their size (folders cost no bytes). */
const MAX_AHEAD = 1024;

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

async function writeEntries(
  out: ZipOutput,
  entries: Iterable<ZipInputEntry> | AsyncIterable<ZipInputEntry>,
  settings: Settings,
  slots: Slot[],
): Promise<WriteZipResult> {
  const records: CentralRecord<WrittenEntry>[] = [];
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

function changedWhileZipping(file: string): PyslimError {
  return new PyslimError('INTERNAL', `${file} changed while it was being zipped`, {
    stage: 'zip',
    hint: 'Make sure nothing writes to the build tree during the build, then build again',
  });
}

/** Writes one entry (local header and data) at the current offset. */
async function writeEntry(out: ZipOutput, slot: Slot, settings: Settings, onBytes: (bytes: number) => void): Promise<CentralRecord<WrittenEntry>> {
  throwIfAborted(settings.signal);
  const { entry, nameBytes } = slot;
  const { source } = entry;
  const flags = /[^\x00-\x7f]/.test(entry.name) ? FLAG_UTF8 : 0;
  const headerOffset = out.offset;
  const record = (method: 0 | 8, crc: number, compressedSize: number, uncompressedSize: number, dataOffset: number): CentralRecord<WrittenEntry> => ({
    nameBytes,
    flags,
    externalAttributes: externalAttributes(entry.source.kind === 'directory', entry.mode),
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
