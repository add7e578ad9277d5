/**
 * Reading zips with yauzl: the central directory of pyslim's own output (for per-entry
 * compressed sizes), and any Lambda zip for `inspect`.
 */
import yauzl from 'yauzl';
import { PyslimError } from './errors.js';

export interface ZipEntryInfo {
  name: string;
  compressedSize: number;
  uncompressedSize: number;
  /** 0 stored, 8 deflated. */
  compressionMethod: number;
  crc32: number;
  /** Unix mode from the external attributes (0 when the zip was not made on Unix). */
  mode: number;
  isDirectory: boolean;
  /** The DOS date and time fields, raw. */
  dosDate: number;
  dosTime: number;
  extraFieldLength: number;
}

/** Lists a zip's central directory without extracting anything. */
export function readZipEntries(file: string): Promise<ZipEntryInfo[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: true, decodeStrings: true, strictFileNames: false }, (openError, zip) => {
      if (openError || !zip) {
        reject(new PyslimError('INVALID_ZIP', `cannot read ${file} as a zip: ${openError?.message ?? 'unknown error'}`));
        return;
      }
      const entries: ZipEntryInfo[] = [];
      zip.on('entry', (entry: yauzl.Entry) => {
        const mode = (entry.externalFileAttributes >>> 16) & 0o177777;
        entries.push({
          name: entry.fileName,
          compressedSize: entry.compressedSize,
          uncompressedSize: entry.uncompressedSize,
          compressionMethod: entry.compressionMethod,
          crc32: entry.crc32,
          mode,
          isDirectory: entry.fileName.endsWith('/'),
          dosDate: entry.lastModFileDate,
          dosTime: entry.lastModFileTime,
          extraFieldLength: entry.extraFieldLength,
        });
        zip.readEntry();
      });
      zip.on('end', () => resolve(entries));
      zip.on('error', (error: Error) =>
        reject(new PyslimError('INVALID_ZIP', `cannot read ${file} as a zip: ${error.message}`)),
      );
      zip.readEntry();
    });
  });
}
