/**
 * Hand-made zips for the safety tests. Python's zipfile writes them (an independent writer that
 * keeps whatever name it is given), and the patch helpers then edit the central directory's bytes
 * to make the lies a hostile zip tells: declared sizes, checksums, flags, offsets.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { HOST_PYTHON } from './lambda.js';

export interface ZipSpec {
  name: string;
  /** Text content. */
  text?: string;
  /** Or this many zero bytes, written in 1 MiB chunks. */
  zeros?: number;
  /** The full st_mode (type and permission bits), written as from a Unix host. */
  mode?: number;
  method?: 'stored' | 'deflated' | 'bzip2';
}

const WRITER = `
import json, sys, zipfile
out, specs = sys.argv[1], json.load(sys.stdin)
methods = {"stored": zipfile.ZIP_STORED, "deflated": zipfile.ZIP_DEFLATED, "bzip2": zipfile.ZIP_BZIP2}
with zipfile.ZipFile(out, "w") as zf:
    for spec in specs:
        info = zipfile.ZipInfo(spec["name"], date_time=(1980, 1, 1, 0, 0, 0))
        # Folders are stored, as zip tools write them (deflating nothing still costs 2 bytes).
        default = "stored" if spec["name"].endswith("/") else "deflated"
        info.compress_type = methods[spec.get("method", default)]
        if "mode" in spec:
            info.create_system = 3
            info.external_attr = spec["mode"] << 16
        with zf.open(info, "w") as f:
            if "zeros" in spec:
                left = spec["zeros"]
                chunk = bytes(1 << 20)
                while left > 0:
                    f.write(chunk[: min(left, len(chunk))])
                    left -= len(chunk)
            else:
                f.write(spec.get("text", "").encode())
`;

let interpreter: string | undefined;
/** The interpreter behind HOST_PYTHON, resolved once: a version-manager shim costs a second a call. */
function python(): string {
  interpreter ??= execFileSync(HOST_PYTHON, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  return interpreter;
}

/** Writes a zip holding exactly these entries, in this order, names untouched. */
export function writeZipWithPython(out: string, specs: readonly ZipSpec[]): string {
  execFileSync(python(), ['-W', 'ignore', '-c', WRITER, out], { input: JSON.stringify(specs) });
  return out;
}

interface CentralRecord {
  /** Offset of the central directory header in the file. */
  offset: number;
  name: string;
}

/** Finds the end of central directory record (zips written here have no comment). */
function eocdOffset(buf: Buffer): number {
  for (let i = buf.length - 22; i >= 0; i--) if (buf.readUInt32LE(i) === 0x06054b50) return i;
  throw new Error('no end of central directory record');
}

function centralRecords(buf: Buffer): CentralRecord[] {
  const eocd = eocdOffset(buf);
  const entries = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const records: CentralRecord[] = [];
  for (let i = 0; i < entries; i++) {
    const nameLength = buf.readUInt16LE(at + 28);
    const extraLength = buf.readUInt16LE(at + 30);
    const commentLength = buf.readUInt16LE(at + 32);
    records.push({ offset: at, name: buf.toString('latin1', at + 46, at + 46 + nameLength) });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return records;
}

export interface CentralPatch {
  uncompressedSize?: number;
  crc32?: number;
  /** OR-ed into the general purpose bit flag. */
  setFlags?: number;
  localHeaderOffset?: number;
}

/** Rewrites fields of one entry's central directory header, where yauzl reads them. */
export function patchCentralEntry(file: string, name: string, patch: CentralPatch): void {
  const buf = readFileSync(file);
  const record = centralRecords(buf).find((r) => r.name === name);
  if (!record) throw new Error(`no entry ${name} in ${file}`);
  const at = record.offset;
  if (patch.setFlags !== undefined) buf.writeUInt16LE(buf.readUInt16LE(at + 8) | patch.setFlags, at + 8);
  if (patch.crc32 !== undefined) buf.writeUInt32LE(patch.crc32 >>> 0, at + 16);
  if (patch.uncompressedSize !== undefined) buf.writeUInt32LE(patch.uncompressedSize, at + 24);
  if (patch.localHeaderOffset !== undefined) buf.writeUInt32LE(patch.localHeaderOffset, at + 42);
  writeFileSync(file, buf);
}

/** The local header offset the central directory gives for an entry. */
export function localHeaderOffset(file: string, name: string): number {
  const buf = readFileSync(file);
  const record = centralRecords(buf).find((r) => r.name === name);
  if (!record) throw new Error(`no entry ${name} in ${file}`);
  return buf.readUInt32LE(record.offset + 42);
}

/** Moves the end record's pointer to the central directory by `delta` bytes. */
export function shiftCentralDirectoryOffset(file: string, delta: number): void {
  const buf = readFileSync(file);
  const eocd = eocdOffset(buf);
  buf.writeUInt32LE(buf.readUInt32LE(eocd + 16) + delta, eocd + 16);
  writeFileSync(file, buf);
}

/** Keeps only the first `bytes` of a file, as an interrupted download would. */
export function truncateFile(file: string, bytes: number): void {
  writeFileSync(file, readFileSync(file).subarray(0, bytes));
}
