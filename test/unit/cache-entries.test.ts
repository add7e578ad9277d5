/**
 * A cache hit serves the layer's compressed entries from entries.bin through two reused blocks,
 * reading the next block while the zip copies from the current one. Each slice must hold the
 * right bytes when it is handed out, whatever the sizes and whichever entries are skipped.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CachedEntry } from '../../src/cache/store.js';
import { removeTree, tempDir } from '../helpers/lambda.js';
import { precompressedEntries } from '../../src/pipeline/deps/entries.js';

const dir = tempDir('pyslim-entries-');
afterAll(() => removeTree(dir));

/** entries.bin with entries of the given sizes back to back. */
function entriesFile(sizes: number[]): { bytes: Buffer; entries: CachedEntry[] } {
  const bytes = randomBytes(sizes.reduce((a, b) => a + b, 0));
  writeFileSync(path.join(dir, 'entries.bin'), bytes);
  let offset = 0;
  const entries = sizes.map((size, i): CachedEntry => {
    const entry: CachedEntry = { path: `f${i}`, method: 0, crc32: 0, compressedSize: size, uncompressedSize: size, offset };
    offset += size;
    return entry;
  });
  return { bytes, entries };
}

describe('precompressed entries from entries.bin', () => {
  it('hand out the right bytes in order, across blocks, past an entry bigger than a block, and with entries skipped', async () => {
    // A block of 1,000 bytes: entries straddle blocks, one is 2,500 bytes, some are empty.
    const sizes = [10, 300, 0, 990, 2500, 7, 400, 400, 400, 0, 1, 999, 1000, 1001, 3];
    const { bytes, entries } = entriesFile(sizes);
    const { sources, close } = await precompressedEntries(dir, entries, bytes.length, 1000);
    try {
      const skipped = new Set(['f5', 'f7', 'f12']);
      for (const entry of entries) {
        if (skipped.has(entry.path)) continue;
        const got = await sources.get(entry.path)!.bytes!();
        // Compared at once: the buffer may be reused by the next call.
        expect(Buffer.compare(got, bytes.subarray(entry.offset, entry.offset + entry.compressedSize))).toBe(0);
      }
    } finally {
      await close();
    }
  });

  it('serves entries out of order too (reads what it needs)', async () => {
    const { bytes, entries } = entriesFile([1500, 200, 3000, 50, 700]);
    const { sources, close } = await precompressedEntries(dir, entries, bytes.length, 1024);
    try {
      for (const entry of [entries[3]!, entries[0]!, entries[4]!, entries[2]!, entries[1]!]) {
        const got = await sources.get(entry.path)!.bytes!();
        expect(Buffer.compare(got, bytes.subarray(entry.offset, entry.offset + entry.compressedSize))).toBe(0);
      }
    } finally {
      await close();
    }
  });

  it('fails, rather than hand out short bytes, when the file is shorter than the manifest says', async () => {
    const { bytes, entries } = entriesFile([100, 100]);
    writeFileSync(path.join(dir, 'entries.bin'), bytes.subarray(0, 150));
    const { sources, close } = await precompressedEntries(dir, entries, bytes.length, 64);
    try {
      await sources.get('f0')!.bytes!();
      await expect(sources.get('f1')!.bytes!()).rejects.toThrow(/ended before the entry/);
    } finally {
      await close();
    }
  });
});
