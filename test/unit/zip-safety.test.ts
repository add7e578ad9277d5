/**
 * Hostile zips: each one must fail with INVALID_ZIP and a message naming the problem, through both
 * the reader (inspect, diff) and the extractor (profile), and an extraction must leave nothing behind.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isPyslimError, type PyslimError } from '../../src/errors.js';
import { extractZipSafely, extractZipToTemp, removeExtractedTree } from '../../src/zip/extract.js';
import { nameProblem, normalizeEntryName, openZipSafely, type ZipLimits } from '../../src/zip/reader.js';
import { removeTree, tempDir } from '../helpers/lambda.js';
import { localHeaderOffset, patchCentralEntry, shiftCentralDirectoryOffset, truncateFile, writeZipWithPython, type ZipSpec } from '../helpers/zips.js';

const dirs: string[] = [];
const scratch = () => {
  const dir = tempDir('pyslim-zip-safety-');
  dirs.push(dir);
  return dir;
};
afterEach(() => dirs.splice(0).forEach(removeTree));

const normal: ZipSpec[] = [
  { name: 'handler.py', text: 'def handler(event, context):\n    return 1\n' },
  { name: 'pkg/', mode: 0o40755 },
  { name: 'pkg/__init__.py', text: 'X = 1\n'.repeat(300) },
  { name: 'pkg/run.sh', text: '#!/bin/sh\necho hi\n', mode: 0o100755 },
];

function zipOf(specs: readonly ZipSpec[], name = 'z.zip'): string {
  return writeZipWithPython(path.join(scratch(), name), specs);
}

async function caught(promise: Promise<unknown>): Promise<PyslimError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isPyslimError(error)) throw new Error(`expected a PyslimError, got ${error === undefined ? 'success' : String(error)}`);
  return error;
}

/** Extracts into a fresh folder and checks that the failure left its parent exactly as empty as it was. */
async function extractionError(zip: string, limits?: Partial<ZipLimits>): Promise<PyslimError> {
  const parent = scratch();
  const error = await caught(extractZipSafely(zip, path.join(parent, 'task'), { limits }));
  expect(readdirSync(parent)).toEqual([]);
  return error;
}

function expectInvalid(error: PyslimError, message: RegExp): void {
  expect(error.code).toBe('INVALID_ZIP');
  expect(error.kind).toBe('usage');
  expect(error.message).toMatch(message);
  expect(error.hint).toBeTruthy();
  expect(error.line).not.toContain('\n');
}

describe('entry names', () => {
  it.each([
    ['a/b.py', undefined],
    ['./a//b.py', undefined],
    ['../evil.py', /path traversal/],
    ['a/../../evil.py', /path traversal/],
    ['/etc/cron.d/evil', /absolute path/],
    ['..\\evil.py', /backslash/],
    ['C:/Windows/evil.dll', /drive letter/],
    ['c:evil', /drive letter/],
    ['./', /zip root/],
    [`${'x'.repeat(256)}.py`, /longer than 255 bytes/],
  ])('%s', (name, problem) => {
    const found = nameProblem(name);
    if (problem) expect(found).toMatch(problem);
    else expect(found).toBeUndefined();
  });

  it('normalizes "." and empty segments but keeps the folder slash', () => {
    expect(normalizeEntryName('./a//b/./c.py')).toBe('a/b/c.py');
    expect(normalizeEntryName('a/b/')).toBe('a/b/');
  });
});

describe('a well-formed zip', () => {
  it('lists checked entries with kinds and modes', async () => {
    const safe = await openZipSafely(zipOf(normal));
    try {
      expect(safe.entries.map((e) => [e.name, e.kind])).toEqual([
        ['handler.py', 'file'],
        ['pkg/', 'directory'],
        ['pkg/__init__.py', 'file'],
        ['pkg/run.sh', 'file'],
      ]);
      expect(safe.entries[3]!.mode).toBe(0o755);
      expect((await safe.readEntry(safe.entries[0]!, 1024)).toString()).toContain('def handler');
      await expect(safe.readEntry(safe.entries[2]!, 10)).rejects.toThrow(/declares 1,800 bytes, more than the 10 expected/);
    } finally {
      safe.close();
    }
  });

  it('extracts into a read-only tree, executables kept, and removes it', async () => {
    const tree = await extractZipToTemp(zipOf(normal));
    try {
      const bytes = normal.reduce((n, spec) => n + Buffer.byteLength(spec.text ?? ''), 0);
      expect(tree).toMatchObject({ files: 3, directories: 1, bytes });
      expect(readFileSync(path.join(tree.dir, 'pkg/__init__.py'), 'utf8')).toBe('X = 1\n'.repeat(300));
      expect(statSync(path.join(tree.dir, 'handler.py')).mode & 0o777).toBe(0o444);
      expect(statSync(path.join(tree.dir, 'pkg/run.sh')).mode & 0o777).toBe(0o555);
      expect(statSync(path.join(tree.dir, 'pkg')).mode & 0o777).toBe(0o555);
    } finally {
      await removeExtractedTree(tree.dir);
    }
    expect(existsSync(tree.dir)).toBe(false);
    expect(existsSync(path.dirname(tree.dir))).toBe(false);
  });

  it('refuses a folder that is not empty, and leaves it untouched', async () => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'keep.txt'), 'mine');
    const error = await caught(extractZipSafely(zipOf(normal), dir));
    expect(error.code).toBe('INVALID_OPTION');
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });
});

describe('hostile zips fail before anything is written', () => {
  const outside = `/tmp/pyslim-abs-${randomBytes(4).toString('hex')}`;
  const cases: [string, () => string, RegExp, Partial<ZipLimits>?][] = [
    ['path traversal', () => zipOf([...normal, { name: '../evil.py', text: 'x' }]), /entry "\.\.\/evil\.py" contains "\.\." \(a path traversal\)/],
    ['nested traversal', () => zipOf([{ name: 'pkg/../../../evil.py', text: 'x' }]), /path traversal/],
    ['absolute path', () => zipOf([{ name: `${outside}/evil.py`, text: 'x' }]), /is an absolute path/],
    ['backslashes', () => zipOf([{ name: '..\\..\\evil.py', text: 'x' }]), /has a backslash/],
    ['a drive letter', () => zipOf([{ name: 'C:/Windows/evil.dll', text: 'x' }]), /starts with a drive letter/],
    ['duplicate names', () => zipOf([...normal, { name: 'handler.py', text: 'other' }]), /entry handler\.py appears more than once/],
    ['duplicates after normalization', () => zipOf([{ name: 'a.py', text: '1' }, { name: './a.py', text: '2' }]), /entry a\.py appears more than once/],
    ['a file that is also a folder', () => zipOf([{ name: 'pkg', text: 'x' }, { name: 'pkg/a.py', text: 'y' }]), /pkg is both a file and a folder/],
    ['too many entries', () => zipOf(normal), /lists 4 entries, more than the limit of 3/, { maxEntries: 3 }],
    ['a bomb (200 MB of zeros)', () => zipOf([{ name: 'zeros.bin', zeros: 200_000_000 }]), /entry zeros\.bin inflates [\d,]+ bytes to 200,000,000, a compression ratio over 100:1 \(a zip bomb\?\)/],
    ['many small bombs', () => zipOf(Array.from({ length: 6 }, (_, i) => ({ name: `z${i}.bin`, zeros: 4_000_000 }))), /it inflates [\d,]+ bytes to 24,000,000, a compression ratio over 100:1/],
    [
      'an absurd declared size',
      () => {
        const zip = zipOf(normal);
        patchCentralEntry(zip, 'pkg/__init__.py', { uncompressedSize: 300_000_000 });
        return zip;
      },
      /entry pkg\/__init__\.py declares 300,000,000 bytes unzipped, more than the limit of 262,144,000 per entry/,
    ],
    ['a total over the cap', () => zipOf(normal), /declare more than 1,000 bytes unzipped in total/, { maxTotalBytes: 1000 }],
    ['a truncated file', () => {
      const zip = zipOf(normal);
      truncateFile(zip, Math.floor(statSync(zip).size / 2));
      return zip;
    }, /it is truncated: the end of central directory record is missing/],
    ['a garbage file', () => {
      const file = path.join(scratch(), 'garbage.zip');
      writeFileSync(file, randomBytes(4096));
      return file;
    }, /it is not a zip file/],
    ['an empty file', () => {
      const file = path.join(scratch(), 'empty.zip');
      writeFileSync(file, '');
      return file;
    }, /the file is empty/],
    ['a broken central directory offset', () => {
      const zip = zipOf(normal);
      shiftCentralDirectoryOffset(zip, 7);
      return zip;
    }, /its central directory is damaged/],
    ['a central directory offset past the end', () => {
      const zip = zipOf(normal);
      shiftCentralDirectoryOffset(zip, 1_000_000);
      return zip;
    }, /runs past the end of the file/],
    ['overlapping entries', () => {
      const zip = zipOf(normal);
      patchCentralEntry(zip, 'pkg/run.sh', { localHeaderOffset: localHeaderOffset(zip, 'pkg/__init__.py') });
      return zip;
    }, /entries pkg\/__init__\.py and pkg\/run\.sh overlap|entries pkg\/run\.sh and pkg\/__init__\.py overlap/],
    ['an encrypted entry', () => {
      const zip = zipOf(normal);
      patchCentralEntry(zip, 'handler.py', { setFlags: 0x1 });
      return zip;
    }, /entry handler\.py is encrypted/],
    ['an unsupported compression method', () => zipOf([{ name: 'a.py', text: 'x = 1\n', method: 'bzip2' }]), /uses compression method 12/],
  ];

  it.each(cases)('%s', async (_label, make, message, limits) => {
    const zip = make();
    expectInvalid(await caught(openZipSafely(zip, limits)), message);
    expectInvalid(await extractionError(zip, limits), message);
    expect(existsSync(outside)).toBe(false);
  });
});

describe('hostile zips caught while extracting', () => {
  it('refuses a symlink pointing outside, leaving nothing behind', async () => {
    const zip = zipOf([...normal, { name: 'pkg/passwd', text: '/etc/passwd', mode: 0o120777 }]);
    const safe = await openZipSafely(zip);
    expect(safe.entries.find((e) => e.name === 'pkg/passwd')?.kind).toBe('symlink');
    safe.close();
    expectInvalid(await extractionError(zip), /entry pkg\/passwd is a symbolic link, which pyslim does not extract/);
  });

  it('refuses a link used as a folder (the write-through trick) before writing', async () => {
    const zip = zipOf([{ name: 'up', text: '..', mode: 0o120777 }, { name: 'up/evil.py', text: 'x' }]);
    expectInvalid(await extractionError(zip), /up is both a file and a folder/);
  });

  it('stops an entry that inflates past its declared size (a lying bomb) and removes the partial tree', async () => {
    const zip = zipOf([...normal, { name: 'zz-bomb.bin', zeros: 20_000_000 }]);
    patchCentralEntry(zip, 'zz-bomb.bin', { uncompressedSize: 1000 });
    expectInvalid(await extractionError(zip), /entry zz-bomb\.bin inflates to more than its declared 1,000 bytes \(a zip bomb, or a damaged zip\)/);
  });

  it('empties, but keeps, a folder that existed (empty) before a failed extraction', async () => {
    const zip = zipOf([...normal, { name: 'zz-bomb.bin', zeros: 5_000_000 }]);
    patchCentralEntry(zip, 'zz-bomb.bin', { uncompressedSize: 1000 });
    const dir = scratch();
    expectInvalid(await caught(extractZipSafely(zip, dir)), /inflates to more than its declared/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('rejects an entry whose data does not match its CRC-32', async () => {
    const zip = zipOf(normal);
    patchCentralEntry(zip, 'pkg/run.sh', { crc32: 0x12345678 });
    expectInvalid(await extractionError(zip), /entry pkg\/run\.sh fails its CRC-32 check/);
  });

  it('rejects an entry that inflates to fewer bytes than declared', async () => {
    const zip = zipOf(normal);
    patchCentralEntry(zip, 'pkg/__init__.py', { uncompressedSize: 5000 });
    expectInvalid(await extractionError(zip), /entry pkg\/__init__\.py inflates to fewer than its declared 5,000 bytes/);
  });
});
