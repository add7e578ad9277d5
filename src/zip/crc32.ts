/**
 * CRC-32 (ISO-HDLC, the polynomial zip and gzip use), table-driven with slicing-by-8.
 *
 * Node 20 has no zlib.crc32 (it arrived in Node 22.2). The zip writer gets most CRCs from zlib
 * itself (see writer.ts); this one covers the bytes zlib does not see: stored copies of
 * streamed files, re-reads that must match, and the tests.
 */

const POLYNOMIAL = 0xedb88320;

/** Eight 256-entry tables, flat: TABLES[k * 256 + b] is the CRC of byte b followed by k zeros. */
const TABLES = buildTables();

function buildTables(): Int32Array {
  const tables = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLYNOMIAL ^ (c >>> 1) : c >>> 1;
    tables[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[n];
    for (let k = 1; k < 8; k++) {
      c = tables[c & 0xff] ^ (c >>> 8);
      tables[k * 256 + n] = c;
    }
  }
  return tables;
}

/**
 * Updates a running CRC-32 with more bytes. Start with 0 (the default); the result of one call
 * is the `previous` of the next, so a stream can be checked chunk by chunk.
 */
export function crc32(data: Uint8Array, previous = 0): number {
  const t = TABLES;
  let crc = ~previous;
  let i = 0;
  const fast = data.length - (data.length % 8);
  // Eight bytes per step: each table folds one byte position, so the loop carries one
  // dependency chain per 8 bytes instead of per byte.
  for (; i < fast; i += 8) {
    const a = (crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))) >>> 0;
    crc =
      t[1792 + (a & 0xff)] ^
      t[1536 + ((a >>> 8) & 0xff)] ^
      t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^
      t[768 + data[i + 4]] ^
      t[512 + data[i + 5]] ^
      t[256 + data[i + 6]] ^
      t[data[i + 7]];
  }
  for (; i < data.length; i++) crc = t[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}
