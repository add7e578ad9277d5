/** Deflating one whole file (libdeflate or zlib), and reading the raw deflate stream out of zlib's gzip framing. */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { PyslimError } from '../errors.js';
import { crc32 } from './crc32.js';
import { libdeflateGzip } from './deflate-pool.js';

export const GZIP_HEADER_SIZE = 10;

const GZIP_TRAILER_SIZE = 8;

/** Largest zlib output chunk for a whole-file compression. */
const MAX_CHUNK = 4 * 1024 * 1024;

const gzip = promisify(zlib.gzip);

export type DeflateEngine = 'libdeflate' | 'zlib';

/** A file compressed in memory. */
export interface Compressed {
  method: 0 | 8;
  crc32: number;
  data: Buffer;
  uncompressedSize: number;
}

/** Deflates one whole file, or keeps it stored when deflate does not make it smaller. */
export async function compressBuffer(data: Buffer, level: number, engine: DeflateEngine): Promise<Compressed> {
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

export function checkGzipHeader(header: Buffer): void {
  // Magic, method 8 (deflate), no flags: anything else would put header bytes in the payload.
  if (header.length < GZIP_HEADER_SIZE || header[0] !== 0x1f || header[1] !== 0x8b || header[2] !== 8 || header[3] !== 0) {
    throw new PyslimError('INTERNAL', 'zlib returned an unexpected gzip header', { stage: 'zip' });
  }
}

/** Strips the gzip framing from a stream of gzip output, holding back what may be the trailer. */
export class GzipUnwrapper {
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
