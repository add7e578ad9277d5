/**
 * The layer's compressed zip entries in the cache: copied out of a finished zip into entries.bin
 * when the layer is stored, and served back verbatim on a hit, so warm zips are byte-identical.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DepsCache, MANIFEST_FORMAT, entriesHash, measureTree, type CachedEntry, type DepsManifest } from '../../cache/store.js';
import { PyslimError } from '../../errors.js';
import type { PrecompressedSource, WrittenEntry } from '../../zip/writer.js';
import { readRawEntry } from '../../zip/writer.js';
import type { DepsLayer } from './stages.js';

/**
 * The layer's compressed entries, served from entries.bin through two reused blocks: the zip asks
 * for them in the order they were stored, so while it copies from one block the next is read into
 * the other. (The writer copies an entry's bytes before asking for the next, which is what lets a
 * block be reused.) The file is open from the hit on, so an eviction by another build cannot pull
 * it away mid-zip.
 */
export async function precompressedEntries(
  dir: string,
  entries: readonly CachedEntry[],
  totalBytes: number,
  blockBytes = ENTRIES_BLOCK,
): Promise<{ sources: Map<string, PrecompressedSource>; close: () => Promise<void> }> {
  const file = path.join(dir, 'entries.bin');
  const handle = await fs.open(file, 'r');
  interface Block {
    bytes: Buffer;
    start: number;
    end: number;
  }
  const load = async (bytes: Buffer, start: number, minimum: number): Promise<Block> => {
    if (bytes.length < minimum) bytes = Buffer.allocUnsafe(minimum);
    const want = Math.min(bytes.length, Math.max(totalBytes - start, minimum));
    let filled = 0;
    while (filled < want) {
      const { bytesRead } = await handle.read(bytes, filled, want - filled, start + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled < minimum) throw new PyslimError('INTERNAL', `${file} ended before the entry at ${start} (${minimum} bytes)`, { hint: 'Run pyslim cache clean, then build again' });
    return { bytes, start, end: start + filled };
  };
  let current: Block = { bytes: Buffer.allocUnsafe(blockBytes) as Buffer, start: 0, end: 0 };
  let spare: Buffer = Buffer.allocUnsafe(blockBytes);
  let ahead: Promise<Block> | null = null;
  const slice = async (offset: number, length: number): Promise<Buffer> => {
    if (offset < current.start || offset + length > current.end) {
      const next = ahead ? await ahead : null;
      ahead = null;
      const previous = current.bytes;
      current = next && offset >= next.start && offset + length <= next.end ? next : await load(next?.bytes ?? spare, offset, length);
      spare = previous;
      if (current.end < totalBytes) {
        ahead = load(spare, current.end, 0);
        ahead.catch(() => undefined); // surfaces when awaited
      }
    }
    return current.bytes.subarray(offset - current.start, offset - current.start + length);
  };
  const sources = new Map<string, PrecompressedSource>(
    entries.map((e) => [
      e.path,
      {
        kind: 'precompressed',
        method: e.method,
        crc32: e.crc32,
        compressedSize: e.compressedSize,
        uncompressedSize: e.uncompressedSize,
        read: () => readRawEntry(file, { dataOffset: e.offset, compressedSize: e.compressedSize }),
        bytes: () => slice(e.offset, e.compressedSize),
      },
    ]),
  );
  const close = async () => {
    await ahead?.catch(() => undefined);
    await handle.close();
  };
  return { sources, close };
}

/** Reads of entries.bin on a hit: large enough to be few, small enough to stay in one reused buffer. */
const ENTRIES_BLOCK = 4 * 1024 * 1024;

/**
 * Copies the layer's compressed entries out of the finished zip into entries.bin, then publishes
 * the entry. A later build of the same layer copies these bytes back verbatim, so its zip is
 * byte-identical to this one.
 */
export async function storeLayer(
  cache: DepsCache<DepsLayer>,
  staging: string,
  entry: Pick<DepsManifest<DepsLayer>, 'key' | 'inputs' | 'functionDir' | 'layer'>,
  written: readonly WrittenEntry[],
  zipPath: string,
): Promise<void> {
  const layerPaths = new Set(entry.layer.files.map((f) => f.path));
  const entries: CachedEntry[] = [];
  const zip = await fs.open(zipPath, 'r');
  const out = await fs.open(path.join(staging, 'entries.bin'), 'w');
  const checksum = entriesHash();
  let offset = 0;
  try {
    // One positional read per entry from the finished zip, gathered into large sequential writes,
    // and hashed on the way (never the whole file in memory).
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes > 0) {
        const chunk = Buffer.concat(pending, pendingBytes);
        checksum.update(chunk);
        await out.write(chunk);
      }
      pending = [];
      pendingBytes = 0;
    };
    for (const w of written) {
      if (!layerPaths.has(w.name)) continue;
      const bytes = Buffer.allocUnsafe(w.compressedSize);
      const { bytesRead } = await zip.read(bytes, 0, w.compressedSize, w.dataOffset);
      if (bytesRead !== w.compressedSize) throw new Error(`short read of ${w.name} from ${zipPath}`);
      pending.push(bytes);
      pendingBytes += bytes.length;
      if (pendingBytes >= 4 * 1024 * 1024) await flush();
      entries.push({ path: w.name, method: w.method, crc32: w.crc32, compressedSize: w.compressedSize, uncompressedSize: w.uncompressedSize, offset });
      offset += w.compressedSize;
    }
    await flush();
  } finally {
    await Promise.all([zip.close(), out.close()]);
  }
  const tree = await measureTree(path.join(staging, 'tree'));
  await cache.commit(staging, {
    format: MANIFEST_FORMAT,
    ...entry,
    createdAt: new Date().toISOString(),
    entries,
    entriesBytes: offset,
    entriesChecksum: checksum.digest('hex'),
    treeFiles: tree.files,
    treeBytes: tree.bytes,
  });
  await cache.enforceLimit(entry.key);
}
