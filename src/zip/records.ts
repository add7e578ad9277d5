/** The zip format's records as pyslim writes them: local and central headers, ZIP64 fields, the end of central directory. */

/** DOS date of every entry: 1980-01-01, the earliest a DOS date can hold ((0 << 9) | (1 << 5) | 1). */
export const DOS_DATE = 0x0021;

/** DOS time of every entry: 00:00:00. */
export const DOS_TIME = 0;

/** Unix (3) in the high byte, APPNOTE 2.0 in the low byte. */
export const VERSION_MADE_BY = (3 << 8) | 20;

export const MAX_16 = 0xffff;

export const MAX_32 = 0xffffffff;

const S_IFREG = 0o100000;

const S_IFDIR = 0o040000;

/** The MS-DOS directory attribute, which Windows tools read; Info-ZIP and Python set it too. */
const DOS_DIRECTORY = 0x10;

export const FLAG_UTF8 = 1 << 11;

const VERSION_NEEDED = 20;

/** APPNOTE 4.5: ZIP64 needs version 4.5. */
const VERSION_ZIP64 = 45;

const LOCAL_HEADER_SIZE = 30;

const CENTRAL_HEADER_SIZE = 46;

/** Local headers carry both 8-byte sizes in their ZIP64 field (APPNOTE 4.5.3). */
const LOCAL_ZIP64_EXTRA_SIZE = 4 + 16;

/** Central directory facts kept for each written entry. */
/** What the headers record of an entry's data. */
export interface EntryFacts {
  method: 0 | 8;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
}

export interface CentralRecord<Written extends EntryFacts = EntryFacts> {
  nameBytes: Buffer;
  flags: number;
  externalAttributes: number;
  headerOffset: number;
  written: Written;
}

/** Unix file type and permission bits in the high half, the DOS folder flag in the low. */
export function externalAttributes(directory: boolean, mode: number): number {
  if (directory) return (((S_IFDIR | mode) << 16) | DOS_DIRECTORY) >>> 0;
  return ((S_IFREG | mode) << 16) >>> 0;
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
export function centralHeader(record: CentralRecord): Buffer {
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
