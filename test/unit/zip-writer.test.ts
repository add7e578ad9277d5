import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { PyslimError } from '../../src/errors.js';
import { readZipEntries } from '../../src/zip-reader.js';
import { crc32 } from '../../src/zip/crc32.js';
import { DOS_DATE, endOfCentralDirectory, localHeader } from '../../src/zip/records.js';
import { precompressedSource, readRawEntry, writeZipFile, type WriteZipOptions, type ZipInputEntry } from '../../src/zip/writer.js';
import { HOST_PYTHON, removeTree, sha256, tempDir } from '../helpers/lambda.js';

const dirs: string[] = [];
const scratch = () => {
  const dir = tempDir('pyslim-zipwriter-');
  dirs.push(dir);
  return dir;
};
afterEach(() => dirs.splice(0).forEach(removeTree));

/** Deterministic bytes that deflate cannot shrink (a xorshift stream, not crypto). */
function noise(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const text = (lines: number, seed = 0) => Array.from({ length: lines }, (_, i) => `value_${i} = ${(i * 7919 + seed) % 10007}  # line ${i}\n`).join('');

/** A small tree covering each case: text, noise, empty, executable, nested, non-ASCII. */
function makeTree(root: string): void {
  const files: Record<string, string | Buffer> = {
    'handler.py': 'def handler(event, context):\n    return {"ok": True}\n',
    'pkg/__init__.py': text(2000),
    'pkg/data.bin': noise(70_000),
    'pkg/empty.txt': '',
    'pkg/tiny.txt': 'x',
    'pkg/sub/deep.py': text(300, 5),
    'pkg/tool.sh': '#!/bin/sh\necho hi\n',
    'pkg/ünïcode.py': 'NAME = "ü"\n',
  };
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), content);
  }
  chmodSync(path.join(root, 'pkg/tool.sh'), 0o755);
}

/** Entries for every file and folder under root, sorted as the zip stage sorts them. */
function treeEntries(root: string): ZipInputEntry[] {
  const entries: ZipInputEntry[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const item of readdirSync(dir, { withFileTypes: true })) {
      const rel = `${prefix}${item.name}`;
      const abs = path.join(dir, item.name);
      if (item.isDirectory()) {
        entries.push({ name: `${rel}/`, mode: 0o755, source: { kind: 'directory' } });
        walk(abs, `${rel}/`);
      } else {
        const stats = statSync(abs);
        entries.push({ name: rel, mode: stats.mode & 0o111 ? 0o755 : 0o644, source: { kind: 'file', path: abs, size: stats.size } });
      }
    }
  };
  walk(root, '');
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function zipTree(root: string, options: WriteZipOptions = {}) {
  const out = path.join(scratch(), 'out.zip');
  const result = await writeZipFile(out, treeEntries(root), options);
  // The hash computed while writing is the file's, whenever the writer offers one.
  if (result.sha256 !== undefined) expect(result.sha256).toBe(sha256(out));
  return { out, result, sha: sha256(out) };
}

/** Python's view of the zip, local headers included: an oracle that shares no code with ours. */
function pythonView(zip: string) {
  const script = `
import json, struct, sys, zipfile
out = []
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[1], 'rb') as f:
    for i in z.infolist():
        f.seek(i.header_offset)
        local = struct.unpack('<IHHHHHIIIHH', f.read(30))
        out.append(dict(name=i.filename, flags=i.flag_bits, system=i.create_system, made=i.create_version,
            needed=i.extract_version, external=i.external_attr, method=i.compress_type, date=list(i.date_time),
            extra=i.extra.hex(), comment=i.comment.hex(), internal=i.internal_attr, crc=i.CRC,
            size=i.file_size, csize=i.compress_size, local_flags=local[2], local_method=local[3],
            local_time=local[4], local_date=local[5], local_extra=local[10]))
print(json.dumps(out))
`;
  return JSON.parse(execFileSync(HOST_PYTHON, ['-c', script, zip], { encoding: 'utf8' })) as Record<string, unknown>[];
}

function pythonTest(zip: string): void {
  execFileSync(HOST_PYTHON, ['-m', 'zipfile', '-t', zip], { stdio: 'pipe' });
}

/** Open descriptors of this process that point at `file` (Linux). */
function openHandles(file: string): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file ? [fd] : [];
    } catch {
      return []; // the descriptor closed while we listed them (readdir's own)
    }
  });
}

describe('crc32', () => {
  it.each([
    ['', 0x00000000],
    ['a', 0xe8b7be43],
    ['abc', 0x352441c2],
    ['123456789', 0xcbf43926],
    ['The quick brown fox jumps over the lazy dog', 0x414fa339],
  ])('crc32(%j) = %i', (input, expected) => {
    expect(crc32(Buffer.from(input))).toBe(expected);
  });

  it('gives the same value chunk by chunk, at any split', () => {
    const data = noise(10_007, 3);
    const whole = crc32(data);
    for (const split of [1, 7, 8, 9, 4096, 10_006]) expect(crc32(data.subarray(split), crc32(data.subarray(0, split)))).toBe(whole);
  });

  it("matches Python's zlib.crc32 on real files and zlib's gzip trailer", () => {
    const dir = scratch();
    makeTree(dir);
    writeFileSync(path.join(dir, 'big.bin'), noise(3_000_001, 9));
    const files = [
      ...treeEntries(dir).flatMap((e) => (e.source.kind === 'file' ? [e.source.path] : [])),
      path.resolve('package-lock.json'),
      path.resolve('src/zip/writer.ts'),
    ];
    const script = 'import sys, zlib\nfor f in sys.argv[1:]: print(zlib.crc32(open(f, "rb").read()))';
    const expected = execFileSync(HOST_PYTHON, ['-c', script, ...files], { encoding: 'utf8' }).trim().split('\n').map(Number);
    const actual = files.map((f) => crc32(readFileSync(f)));
    expect(actual).toEqual(expected);
    const gz = zlib.gzipSync(readFileSync(files[0]));
    expect(gz.readUInt32LE(gz.length - 8)).toBe(actual[0]);
  });
});

describe('writeZipFile', () => {
  it('gives the same bytes at every concurrency, and run after run', async () => {
    const root = scratch();
    makeTree(root);
    const sequential = await zipTree(root, { concurrency: 1 });
    for (const concurrency of [2, 4, 8]) expect((await zipTree(root, { concurrency })).sha).toBe(sequential.sha);
    expect((await zipTree(root, { concurrency: 4 })).sha).toBe(sequential.sha);
    // Tiny budgets force the write-as-you-go paths; the bytes still do not change. (Streamed files
    // go through zlib, so this compares zlib with zlib.)
    const zlibSequential = await zipTree(root, { concurrency: 1, engine: 'zlib' });
    expect((await zipTree(root, { concurrency: 3, maxBufferedBytes: 0, streamThreshold: 1000, engine: 'zlib' })).sha).toBe(zlibSequential.sha);
    expect((await zipTree(root, { concurrency: 3, maxBufferedBytes: 0 })).sha).toBe(sequential.sha);
  });

  it('stores what deflate does not shrink and deflates the rest', async () => {
    const root = scratch();
    makeTree(root);
    const { out, result } = await zipTree(root);
    const method = (name: string) => result.entries.find((e) => e.name === name)!;
    expect(method('pkg/data.bin')).toMatchObject({ method: 0, compressedSize: 70_000, uncompressedSize: 70_000 });
    expect(method('pkg/empty.txt')).toMatchObject({ method: 0, compressedSize: 0, crc32: 0 });
    expect(method('pkg/tiny.txt')).toMatchObject({ method: 0, compressedSize: 1 });
    expect(method('pkg/')).toMatchObject({ method: 0, compressedSize: 0, uncompressedSize: 0 });
    const init = method('pkg/__init__.py');
    expect(init.method).toBe(8);
    expect(init.compressedSize).toBeLessThan(init.uncompressedSize / 3);
    // The result agrees with what readers see, and the data offsets point at the data.
    const listed = await readZipEntries(out);
    expect(listed.map((e) => [e.name, e.compressionMethod, e.compressedSize, e.crc32])).toEqual(
      result.entries.map((e) => [e.name, e.method, e.compressedSize, e.crc32]),
    );
    const raw = readFileSync(out).subarray(init.dataOffset, init.dataOffset + init.compressedSize);
    expect(zlib.inflateRawSync(raw).toString()).toBe(text(2000));
    expect(result.bytes).toBe(statSync(out).size);
  });

  it('writes fixed metadata, read back by yauzl, Python and Info-ZIP', async () => {
    const root = scratch();
    makeTree(root);
    const { out } = await zipTree(root);
    pythonTest(out);
    execFileSync('unzip', ['-tq', out]);

    for (const entry of await readZipEntries(out)) {
      expect(entry).toMatchObject({ dosDate: DOS_DATE, dosTime: 0, extraFieldLength: 0 });
    }
    const view = pythonView(out);
    expect(view.map((e) => e.name)).toEqual(treeEntries(root).map((e) => e.name));
    for (const e of view) {
      const name = e.name as string;
      const isDir = name.endsWith('/');
      const mode = isDir || name === 'pkg/tool.sh' ? 0o755 : 0o644;
      const utf8 = /[^\x00-\x7f]/.test(name) ? 0x800 : 0;
      expect(e, name).toMatchObject({
        system: 3,
        made: 20,
        needed: 20,
        date: [1980, 1, 1, 0, 0, 0],
        extra: '',
        comment: '',
        internal: 0,
        flags: utf8,
        local_flags: utf8,
        local_method: e.method,
        local_time: 0,
        local_date: DOS_DATE,
        local_extra: 0,
        external: (((isDir ? 0o040000 : 0o100000) | mode) * 65536 + (isDir ? 0x10 : 0)) >>> 0,
      });
    }

    // Info-ZIP's own reading of the same fields.
    const info = execFileSync('zipinfo', ['-v', out], { encoding: 'utf8' });
    const blocks = info.split(/Central directory entry #\d+:/).slice(1);
    expect(blocks).toHaveLength(view.length);
    for (const block of blocks) {
      expect(block).toContain('file system or operating system of origin:      Unix');
      expect(block).toContain('version of encoding software:                   2.0');
      expect(block).toContain('file last modified on (DOS date/time):          1980 Jan 1 00:00:00');
      expect(block).toContain('length of extra field:                          0 bytes');
      expect(block).toContain('extended local header:                          no');
      expect(block).toMatch(/Unix file attributes \((040755|100644|100755) octal\)/);
    }
    expect(info).toContain('pkg/tool.sh');
    expect(info).toMatch(/pkg\/tool\.sh[\s\S]*?Unix file attributes \(100755 octal\)/);
  });

  it('copies precompressed entries verbatim: a zip rebuilt from its own entries is byte-identical', async () => {
    const root = scratch();
    makeTree(root);
    const inputs = treeEntries(root);
    const a = await zipTree(root);
    const modes = new Map(inputs.map((e) => [e.name, e.mode]));

    const rebuilt = a.result.entries.map((e): ZipInputEntry => ({
      name: e.name,
      mode: modes.get(e.name)!,
      source: e.name.endsWith('/') ? { kind: 'directory' } : precompressedSource(a.out, e),
    }));
    const b = path.join(scratch(), 'b.zip');
    await writeZipFile(b, rebuilt);
    expect(sha256(b)).toBe(a.sha);

    // The cache's case: dependencies from A, the changed source compressed afresh.
    const mixed = inputs.map((e, i) => (e.source.kind === 'file' && e.name.startsWith('pkg/') ? rebuilt[i] : e));
    const c = path.join(scratch(), 'c.zip');
    await writeZipFile(c, mixed, { concurrency: 4 });
    expect(sha256(c)).toBe(a.sha);

    const init = a.result.entries.find((e) => e.name === 'pkg/__init__.py')!;
    const chunks: Buffer[] = [];
    for await (const chunk of readRawEntry(a.out, init)) chunks.push(chunk as Buffer);
    expect(crc32(zlib.inflateRawSync(Buffer.concat(chunks)))).toBe(init.crc32);
  });

  it('copies precompressed bytes before asking for the next entry, so a source may reuse one buffer', async () => {
    const root = scratch();
    makeTree(root);
    writeFileSync(path.join(root, 'pkg', 'big.bin'), noise(3_000_000, 5)); // stored: past the gather buffer
    const a = await zipTree(root);
    const raw = readFileSync(a.out);
    const modes = new Map(treeEntries(root).map((e) => [e.name, e.mode]));
    // Every entry's bytes are served from one shared buffer, overwritten on each call.
    let shared = Buffer.alloc(0);
    const rebuilt = a.result.entries.map((e): ZipInputEntry => ({
      name: e.name,
      mode: modes.get(e.name)!,
      source: e.name.endsWith('/')
        ? { kind: 'directory' }
        : {
            ...precompressedSource(a.out, e),
            bytes: async () => {
              if (shared.length < e.compressedSize) shared = Buffer.alloc(e.compressedSize);
              raw.copy(shared, 0, e.dataOffset, e.dataOffset + e.compressedSize);
              await new Promise((resolve) => setImmediate(resolve));
              return shared.subarray(0, e.compressedSize);
            },
          },
    }));
    const b = path.join(scratch(), 'b.zip');
    const result = await writeZipFile(b, rebuilt);
    expect(sha256(b)).toBe(a.sha);
    expect(result.sha256).toBe(a.sha);
  });

  it('rejects a precompressed source whose stream is not the size it claims', async () => {
    const out = path.join(scratch(), 'bad.zip');
    const source = { kind: 'precompressed' as const, method: 0 as const, crc32: crc32(Buffer.from('abc')), compressedSize: 4, uncompressedSize: 4 };
    const entry: ZipInputEntry = { name: 'a.txt', mode: 0o644, source: { ...source, read: () => Readable.from([Buffer.from('abc')]) } };
    await expect(writeZipFile(out, [entry])).rejects.toThrow(/read 3 bytes, expected 4/);
  });

  it('streams a large file with the same bytes as compressing it whole, and stores one that does not shrink', async () => {
    const root = scratch();
    // 40 MB: noise, then text, then noise again, so deflate has both kinds of block to make.
    const big = Buffer.concat([noise(12_000_000, 7), Buffer.from(text(400_000).slice(0, 16_000_000)), noise(12_000_000, 8)]);
    writeFileSync(path.join(root, 'big.so'), big);
    writeFileSync(path.join(root, 'random.bin'), noise(17_000_000, 11));
    writeFileSync(path.join(root, 'small.py'), text(100));
    // Streaming always uses zlib; compressing the file whole with zlib must give the same bytes.
    const streamed = await zipTree(root, { concurrency: 2, engine: 'zlib' });
    const whole = await zipTree(root, { concurrency: 2, streamThreshold: Infinity, engine: 'zlib' });
    expect(streamed.sha).toBe(whole.sha);
    const entry = (name: string) => streamed.result.entries.find((e) => e.name === name)!;
    expect(entry('big.so').method).toBe(8);
    expect(entry('big.so').compressedSize).toBeLessThan(big.length);
    expect(entry('random.bin')).toMatchObject({ method: 0, compressedSize: 17_000_000, crc32: crc32(noise(17_000_000, 11)) });
    expect(entry('big.so').crc32).toBe(crc32(big));
    pythonTest(streamed.out);
  });

  it('rejects a file whose size changed since the caller listed it', async () => {
    const root = scratch();
    writeFileSync(path.join(root, 'a.py'), 'x = 1\n');
    const out = path.join(scratch(), 'x.zip');
    const entries: ZipInputEntry[] = [{ name: 'a.py', mode: 0o644, source: { kind: 'file', path: path.join(root, 'a.py'), size: 3 } }];
    await expect(writeZipFile(out, entries)).rejects.toThrow(/changed while it was being zipped/);
    await expect(writeZipFile(out, entries, { streamThreshold: 0 })).rejects.toThrow(/changed while it was being zipped/);
  });

  it('stops on abort mid-write and leaves no open handle on the output or the inputs', async () => {
    const root = scratch();
    for (let i = 0; i < 60; i++) writeFileSync(path.join(root, `f${String(i).padStart(2, '0')}.py`), text(3000, i));
    writeFileSync(path.join(root, 'zz-big.bin'), Buffer.concat([noise(4_000_000), Buffer.from(text(100_000))]));
    const out = path.join(scratch(), 'aborted.zip');
    const controller = new AbortController();
    let written = 0;
    const promise = writeZipFile(out, treeEntries(root), {
      concurrency: 4,
      streamThreshold: 1_000_000,
      signal: controller.signal,
      onEntry: () => {
        if (++written === 10) controller.abort();
      },
    });
    const error = await promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PyslimError);
    expect((error as PyslimError).code).toBe('INTERRUPTED');
    expect(written).toBe(10);
    expect(openHandles(out)).toEqual([]);
    expect(readdirSync('/proc/self/fd').some((fd) => safeReadlink(fd).startsWith(root))).toBe(false);

    // Aborted while a large file streams into place.
    const streaming = path.join(scratch(), 'streaming.zip');
    const mid = new AbortController();
    const bigStart = treeEntries(root).reduce((n, e) => n + (e.source.kind === 'file' && e.name !== 'zz-big.bin' ? e.source.size : 0), 0);
    const stopped = writeZipFile(streaming, treeEntries(root), {
      streamThreshold: 1_000_000,
      signal: mid.signal,
      onProgress: (done) => {
        if (done > bigStart + 1_000_000) mid.abort();
      },
    });
    await expect(stopped).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(openHandles(streaming)).toEqual([]);

    // Aborted before it starts: nothing is created.
    const early = path.join(scratch(), 'early.zip');
    await expect(writeZipFile(early, treeEntries(root), { signal: controller.signal })).rejects.toThrow(/interrupted/);
    expect(() => statSync(early)).toThrow();
  });

  it('fails on a missing file without leaving handles open', async () => {
    const root = scratch();
    makeTree(root);
    const entries = treeEntries(root);
    entries.splice(2, 0, { name: 'a-missing.py', mode: 0o644, source: { kind: 'file', path: path.join(root, 'nope.py'), size: 5 } });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    const out = path.join(scratch(), 'x.zip');
    await expect(writeZipFile(out, entries, { concurrency: 4 })).rejects.toMatchObject({ code: 'ENOENT' });
    expect(openHandles(out)).toEqual([]);
  });

  it.each([
    [{ name: 'a/', mode: 0o644, source: { kind: 'file', path: '/x', size: 0 } }, /only folder entries end with/],
    [{ name: 'a', mode: 0o755, source: { kind: 'directory' } }, /only folder entries end with/],
    [{ name: '/etc/passwd', mode: 0o644, source: { kind: 'directory' } }, /invalid entry name/],
    [{ name: 'a/../b', mode: 0o644, source: { kind: 'file', path: '/x', size: 0 } }, /"\.\." segment/],
    [{ name: 'a', mode: 0o100644, source: { kind: 'file', path: '/x', size: 0 } }, /mode must be permission bits/],
  ] as [ZipInputEntry, RegExp][])('rejects a bad entry: %j', async (entry, message) => {
    await expect(writeZipFile(path.join(scratch(), 'x.zip'), [entry])).rejects.toThrow(message);
  });

  it('rejects a duplicate name', async () => {
    const dir: ZipInputEntry = { name: 'a/', mode: 0o755, source: { kind: 'directory' } };
    await expect(writeZipFile(path.join(scratch(), 'x.zip'), [dir, dir])).rejects.toThrow(/duplicate entry "a\/"/);
  });

  it('writes an empty zip: the end record alone', async () => {
    const out = path.join(scratch(), 'empty.zip');
    const result = await writeZipFile(out, []);
    expect(result).toEqual({ bytes: 22, entries: [], sha256: sha256(out) });
    expect(readFileSync(out).toString('hex')).toBe(`504b0506${'0'.repeat(36)}`);
    pythonTest(out);
    expect(await readZipEntries(out)).toEqual([]);
  });

  it('takes entries from an async iterable', async () => {
    const root = scratch();
    makeTree(root);
    async function* entries() {
      for (const entry of treeEntries(root)) yield entry;
    }
    const out = path.join(scratch(), 'async.zip');
    await writeZipFile(out, entries());
    expect(sha256(out)).toBe((await zipTree(root)).sha);
  });
});

describe('ZIP64', () => {
  const ZIP64_END = Buffer.from([0x50, 0x4b, 0x06, 0x06]);

  async function manyEntries(count: number) {
    const root = scratch();
    writeFileSync(path.join(root, 'last.py'), text(50));
    // Folders cost no compression, so the entry count is what is tested.
    const entries: ZipInputEntry[] = Array.from({ length: count - 1 }, (_, i) => ({
      name: `d${String(i).padStart(6, '0')}/`,
      mode: 0o755,
      source: { kind: 'directory' },
    }));
    entries.push({ name: 'last.py', mode: 0o644, source: { kind: 'file', path: path.join(root, 'last.py'), size: text(50).length } });
    const out = path.join(scratch(), `n${count}.zip`);
    const result = await writeZipFile(out, entries);
    return { out, result };
  }

  it('writes a ZIP64 end record past 65535 entries, read back by yauzl, Python and Info-ZIP', async () => {
    const { out, result } = await manyEntries(65_536);
    expect(result.entries).toHaveLength(65_536);
    const bytes = readFileSync(out);
    expect(bytes.includes(ZIP64_END)).toBe(true);
    expect(bytes.readUInt16LE(bytes.length - 22 + 10)).toBe(0xffff);
    const listed = await readZipEntries(out);
    expect(listed).toHaveLength(65_536);
    expect(listed.at(-1)).toMatchObject({ name: 'last.py', compressionMethod: 8 });
    pythonTest(out);
    expect(execFileSync('zipinfo', ['-t', out], { encoding: 'utf8' })).toMatch(/^65536 files/);
  }, 120_000);

  it('treats exactly 65535 entries as needing ZIP64, since readers take 0xFFFF to mean "see ZIP64"', async () => {
    const edge = await manyEntries(65_535);
    expect(readFileSync(edge.out).includes(ZIP64_END)).toBe(true);
    expect(await readZipEntries(edge.out)).toHaveLength(65_535);
    const below = await manyEntries(65_534);
    expect(readFileSync(below.out).includes(ZIP64_END)).toBe(false);
    expect(await readZipEntries(below.out)).toHaveLength(65_534);
  }, 120_000);

  it('encodes sizes and offsets past 4 GiB in ZIP64 fields', () => {
    const name = Buffer.from('big.bin');
    const big = 5 * 2 ** 30;
    const local = localHeader(name, 0, 8, 0x12345678, 2 ** 20, big);
    expect(local.readUInt16LE(4)).toBe(45);
    expect(local.readUInt32LE(18)).toBe(0xffffffff);
    expect(local.readUInt32LE(22)).toBe(0xffffffff);
    expect(local.readUInt16LE(28)).toBe(20);
    const extra = local.subarray(30 + name.length);
    expect(extra.readUInt16LE(0)).toBe(1);
    expect(extra.readUInt16LE(2)).toBe(16);
    expect(Number(extra.readBigUInt64LE(4))).toBe(big);
    expect(Number(extra.readBigUInt64LE(12))).toBe(2 ** 20);
    expect(localHeader(name, 0, 8, 0, 100, 0xfffffffe).readUInt16LE(28)).toBe(0);

    const end = endOfCentralDirectory(3, big, 300);
    expect(end).toHaveLength(56 + 20 + 22);
    expect(Number(end.readBigUInt64LE(48))).toBe(big);
    expect(Number(end.readBigUInt64LE(56 + 8))).toBe(big + 300);
    expect(end.readUInt32LE(56 + 20 + 16)).toBe(0xffffffff);
    expect(endOfCentralDirectory(3, 1000, 300)).toHaveLength(22);
  });

  // Writes 4 GiB to disk; run with PYSLIM_TEST_ZIP64_LARGE=1.
  it.skipIf(!process.env.PYSLIM_TEST_ZIP64_LARGE)(
    'writes entries past 4 GiB that Python and Info-ZIP read',
    async () => {
      const size = 2 ** 32 + 10;
      const chunk = Buffer.alloc(16 * 1024 * 1024);
      let crc = 0;
      for (let done = 0; done < size; done += chunk.length) crc = crc32(chunk.subarray(0, Math.min(chunk.length, size - done)), crc);
      const zeros = () =>
        Readable.from(
          (function* () {
            for (let done = 0; done < size; done += chunk.length) yield chunk.subarray(0, Math.min(chunk.length, size - done));
          })(),
        );
      const root = scratch();
      writeFileSync(path.join(root, 'after.py'), text(10));
      const out = path.join(scratch(), 'huge.zip');
      const result = await writeZipFile(out, [
        { name: 'zeros.bin', mode: 0o644, source: { kind: 'precompressed', method: 0, crc32: crc, compressedSize: size, uncompressedSize: size, read: zeros } },
        { name: 'after.py', mode: 0o644, source: { kind: 'file', path: path.join(root, 'after.py'), size: text(10).length } },
      ]);
      expect(result.entries[1].dataOffset).toBeGreaterThan(2 ** 32);
      const listed = await readZipEntries(out);
      expect(listed.map((e) => e.uncompressedSize)).toEqual([size, text(10).length]);
      execFileSync('unzip', ['-tq', out]);
      const py = `import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(z.read("after.py").decode() == sys.argv[2], z.getinfo("zeros.bin").file_size)`;
      expect(execFileSync(HOST_PYTHON, ['-c', py, out, text(10)], { encoding: 'utf8' }).trim()).toBe(`True ${size}`);
    },
    600_000,
  );
});

function safeReadlink(fd: string): string {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return '';
  }
}
