import { execFileSync } from 'node:child_process';
import { copyFileSync, promises as fsPromises, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ELF_MACHINES, ElfFormatError, compareGlibc, isSharedObjectName, readElf, type ElfInfo } from '../../src/elf.js';
import { craftElf, type CraftOptions } from '../helpers/elf-builder.js';
import { HOST_PYTHON, removeTree, tempDir } from '../helpers/lambda.js';
import { READELF_MACHINE_TEXT, readelf, type ReadelfFacts } from '../helpers/readelf.js';

const dirs: string[] = [];
const scratch = () => {
  const dir = tempDir('pyslim-elf-');
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.splice(0).forEach(removeTree));

/** Asserts that readElf and readelf agree on everything both can see. */
async function expectAgreement(file: string): Promise<{ info: ElfInfo; oracle: ReadelfFacts }> {
  const [info, oracle] = await Promise.all([readElf(file), readelf(file)]);
  expect(info, file).not.toBeNull();
  const debug = oracle.sections.filter((s) => /^\.z?debug_/.test(s.name) && s.type !== 'NOBITS');
  expect(
    {
      machine: READELF_MACHINE_TEXT[info!.machineName as keyof typeof READELF_MACHINE_TEXT] ?? `unknown(${info!.machine})`,
      class: info!.class,
      type: info!.type,
      glibcVersionsNeeded: info!.glibcVersionsNeeded,
      maxGlibc: info!.maxGlibc,
      neededBy: info!.neededBy,
      hasDebugInfo: info!.hasDebugInfo,
      debugBytes: info!.debugBytes,
      hasSymtab: info!.hasSymtab,
    },
    file,
  ).toEqual({
    machine: oracle.machine,
    class: oracle.class,
    type: oracle.type,
    glibcVersionsNeeded: oracle.glibc,
    maxGlibc: oracle.glibc.at(-1),
    neededBy: oracle.needs,
    hasDebugInfo: debug.length > 0,
    debugBytes: debug.reduce((n, s) => n + s.size, 0),
    hasSymtab: oracle.sections.some((s) => s.name === '.symtab'),
  });
  return { info: info!, oracle };
}

function writeCrafted(options: CraftOptions, name = 'crafted.so'): string {
  const file = path.join(scratch(), name);
  writeFileSync(file, craftElf(options).bytes);
  return file;
}

function listSharedObjects(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return listSharedObjects(path.join(dir, entry.name), rel);
    return isSharedObjectName(entry.name) ? [rel] : [];
  });
}

describe('readElf on real wheels, against readelf', () => {
  let root = '';
  let wheels = '';
  const so = (rel: string) => path.join(root, rel);

  beforeAll(() => {
    wheels = scratch();
    root = scratch();
    // One pip call for both: numpy 2.4.6 is manylinux_2_28 (its .so need GLIBC_2.27) and ships
    // unstripped files; pydantic-core is manylinux2014, a stripped Rust build.
    execFileSync(
      HOST_PYTHON,
      [
        '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:',
        '--platform', 'manylinux_2_28_x86_64', '--platform', 'manylinux_2_17_x86_64', '--platform', 'manylinux2014_x86_64',
        '--python-version', '3.11', '--implementation', 'cp', '-d', wheels,
        'numpy==2.4.6', 'pydantic-core==2.49.0',
      ],
      { env: { ...process.env, PIP_RETRIES: '0' }, stdio: 'pipe' },
    );
    // Only the shared objects: the rest of numpy is twice their count in files, for nothing.
    const extract = [
      'import re, sys, zipfile',
      'for wheel in sys.argv[2:]:',
      '    with zipfile.ZipFile(wheel) as z:',
      '        z.extractall(sys.argv[1], [n for n in z.namelist() if re.search(r"\\.so(\\.\\d+)*$", n)])',
    ].join('\n');
    const files = readdirSync(wheels).map((w) => path.join(wheels, w));
    execFileSync(HOST_PYTHON, ['-c', extract, root, ...files], { stdio: 'pipe' });
  });

  it('agrees with readelf on machine, class, version needs, symbols and debug info for every shared object', async () => {
    const files = listSharedObjects(root);
    // numpy has 22 (3 of them vendored in numpy.libs), pydantic-core 1: guard against a run
    // that silently checks nothing.
    expect(files.length).toBeGreaterThan(20);
    const seen = { symtab: 0, stripped: 0, glibc: new Set<string>() };
    // A few at a time: readelf prints every dynamic symbol's version, tens of thousands of lines for OpenBLAS.
    for (let i = 0; i < files.length; i += 8) {
      const batch = await Promise.all(files.slice(i, i + 8).map((rel) => expectAgreement(so(rel))));
      for (const { info } of batch) {
        if (info.hasSymtab) seen.symtab++;
        else seen.stripped++;
        if (info.maxGlibc) seen.glibc.add(info.maxGlibc);
      }
    }
    // The set covers both stripped and unstripped files and several glibc floors.
    expect(seen.symtab).toBeGreaterThan(0);
    expect(seen.stripped).toBeGreaterThan(0);
    expect([...seen.glibc].sort(compareGlibc)).toEqual(expect.arrayContaining(['2.14', '2.17', '2.27']));
  });

  it('finds the GLIBC_2.27 that numpy 2.4.6 needs from libm, and ignores GLIBCXX_, CXXABI_ and GCC_', async () => {
    const info = (await readElf(so('numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so')))!;
    expect(info).toMatchObject({ machine: ELF_MACHINES.x86_64, machineName: 'x86_64', class: 64, type: 3, maxGlibc: '2.27' });
    expect(info.neededBy['libm.so.6']).toContain('GLIBC_2.27');
    expect(info.neededBy['libstdc++.so.6']).toEqual(expect.arrayContaining(['GLIBCXX_3.4.21', 'CXXABI_1.3.9']));
    expect(info.neededBy['libgcc_s.so.1']).toEqual(['GCC_3.0']);
    expect(info.glibcVersionsNeeded.every((v) => /^\d+\.\d+(\.\d+)?$/.test(v))).toBe(true);
    // Numeric order: 2.10 and 2.14 come after 2.3.
    expect(info.glibcVersionsNeeded).toEqual(['2.2.5', '2.3', '2.10', '2.14', '2.27']);
  });

  it('reads a manylinux2014 extension (pydantic-core) as needing glibc 2.14 at most, stripped', async () => {
    const info = (await readElf(so('pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so')))!;
    expect(info.maxGlibc).toBe('2.14');
    expect(info.glibcVersionsNeeded).toContain('2.3.4');
    expect(info.hasSymtab).toBe(false);
    expect(info.hasDebugInfo).toBe(false);
  });

  it('reports no glibc floor for an extension that needs no versioned glibc symbol', async () => {
    const info = (await readElf(so('numpy/_core/_operand_flag_tests.cpython-311-x86_64-linux-gnu.so')))!;
    expect(info.glibcVersionsNeeded).toEqual([]);
    expect(info.maxGlibc).toBeUndefined();
  });

  it('reads a 25 MB vendored library (OpenBLAS in numpy.libs) through a few small reads', async () => {
    const rel = listSharedObjects(path.join(root, 'numpy.libs')).find((n) => n.startsWith('libscipy_openblas'));
    expect(rel).toBeDefined();
    const file = so(`numpy.libs/${rel}`);
    const size = statSync(file).size;
    expect(size).toBeGreaterThan(20_000_000);
    await expectAgreement(file);

    // Count what readElf asks the file for, through the one fs function it opens files with.
    let bytesRead = 0;
    const open = fsPromises.open;
    const spy = vi.spyOn(fsPromises, 'open').mockImplementation(async (...args: Parameters<typeof open>) => {
      const handle = await open(...args);
      const read = handle.read.bind(handle) as (...a: unknown[]) => Promise<{ bytesRead: number }>;
      (handle as { read: unknown }).read = async (...a: unknown[]) => {
        const result = await read(...a);
        bytesRead += result.bytesRead;
        return result;
      };
      return handle;
    });
    try {
      expect((await readElf(file))!.maxGlibc).toBeDefined();
    } finally {
      spy.mockRestore();
    }
    expect(bytesRead).toBeGreaterThan(0);
    expect(bytesRead).toBeLessThan(size / 100);
  });

  it('throws a clear error for a truncated copy (the first 100 bytes of a real .so)', async () => {
    const file = path.join(scratch(), 'truncated.so');
    writeFileSync(file, readFileSync(so('numpy/linalg/_umath_linalg.cpython-311-x86_64-linux-gnu.so')).subarray(0, 100));
    const error = await readElf(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ElfFormatError);
    expect((error as ElfFormatError).file).toBe(file);
    expect((error as Error).message).toMatch(/truncated\.so is not a valid ELF file: the section header table .* ends past the end of the 100-byte file; it is truncated/);
  });

  it('finds the version needs through the dynamic segment when the section headers are gone (sstrip)', async () => {
    const original = so('numpy/linalg/_umath_linalg.cpython-311-x86_64-linux-gnu.so');
    const file = path.join(scratch(), 'sstripped.so');
    copyFileSync(original, file);
    const bytes = readFileSync(file);
    // What sstrip does to the header: no section header table, no count, no name table.
    bytes.writeBigUInt64LE(0n, 40);
    bytes.writeUInt16LE(0, 60);
    bytes.writeUInt16LE(0, 62);
    writeFileSync(file, bytes);
    const oracle = await readelf(original);
    const info = (await readElf(file))!;
    expect(info.neededBy).toEqual(oracle.needs);
    expect(info.maxGlibc).toBe('2.27');
    expect(info.hasSymtab).toBe(false);
  });
});

describe('readElf on host binaries, against readelf', () => {
  it.each(['/bin/ls', '/lib/x86_64-linux-gnu/libc.so.6'])('%s', async (file) => {
    const { info } = await expectAgreement(file);
    expect(info.machineName).toBe('x86_64');
  });

  it('counts only version needs: libc.so.6 defines every GLIBC_2.x but needs only a few from ld.so', async () => {
    const info = (await readElf('/lib/x86_64-linux-gnu/libc.so.6'))!;
    expect(Object.keys(info.neededBy)).toEqual(['ld-linux-x86-64.so.2']);
    // GLIBC_PRIVATE is needed too, but it is not a version a runtime can be compared with.
    expect(info.neededBy['ld-linux-x86-64.so.2']).toContain('GLIBC_PRIVATE');
    expect(info.glibcVersionsNeeded.length).toBe(info.neededBy['ld-linux-x86-64.so.2']!.length - 1);
  });
});

describe('readElf on gcc output, against readelf', () => {
  // No wheel in the index ships debug sections, so gcc makes some: -g writes .debug_*, objcopy
  // compresses them into .zdebug_*, strip removes them and .symtab.
  let dir = '';
  beforeAll(() => {
    dir = scratch();
    writeFileSync(path.join(dir, 'f.c'), '#include <string.h>\nvoid *copy(void *a, const void *b, size_t n) { return memcpy(a, b, n); }\n');
    execFileSync('gcc', ['-shared', '-fPIC', '-g', '-O1', '-o', 'debug.so', 'f.c'], { cwd: dir });
    execFileSync('gcc', ['-c', '-g', '-o', 'f.o', 'f.c'], { cwd: dir });
    execFileSync('objcopy', ['--compress-debug-sections=zlib-gnu', 'debug.so', 'zdebug.so'], { cwd: dir });
    execFileSync('strip', ['-o', 'stripped.so', 'debug.so'], { cwd: dir });
  });

  it.each([
    ['debug.so', { hasDebugInfo: true, hasSymtab: true, type: 3 }],
    ['zdebug.so', { hasDebugInfo: true, hasSymtab: true, type: 3 }],
    ['stripped.so', { hasDebugInfo: false, hasSymtab: false, type: 3 }],
    ['f.o', { hasDebugInfo: true, hasSymtab: true, type: 1 }],
  ] as const)('%s', async (name, expected) => {
    const { info } = await expectAgreement(path.join(dir, name));
    expect(info).toMatchObject(expected);
    if (expected.hasDebugInfo) expect(info.debugBytes).toBeGreaterThan(0);
  });

  it('sees the .zdebug_ sections as smaller than the .debug_ ones they replace', async () => {
    const plain = (await readElf(path.join(dir, 'debug.so')))!;
    const compressed = (await readElf(path.join(dir, 'zdebug.so')))!;
    expect(compressed.debugBytes).toBeLessThan(plain.debugBytes);
  });
});

describe('readElf on crafted files, against readelf', () => {
  const glibcNeeds = { 'libc.so.6': ['GLIBC_2.17', 'GLIBC_2.28', 'GLIBC_2.9'], 'libstdc++.so.6': ['GLIBCXX_3.4.29', 'CXXABI_1.3'] };

  it.each([
    ['aarch64, ELF64 little endian', { class: 64, endian: 'little', machine: ELF_MACHINES.aarch64 }, 'aarch64'],
    ['i386, ELF32 little endian', { class: 32, endian: 'little', machine: ELF_MACHINES.i386 }, 'i386'],
    ['arm, ELF32 little endian', { class: 32, endian: 'little', machine: ELF_MACHINES.arm }, 'arm'],
    ['ppc64, ELF64 big endian', { class: 64, endian: 'big', machine: ELF_MACHINES.ppc64 }, 'ppc64'],
    ['s390, ELF32 big endian', { class: 32, endian: 'big', machine: ELF_MACHINES.s390 }, 's390'],
    ['riscv, ELF64 little endian', { class: 64, endian: 'little', machine: ELF_MACHINES.riscv }, 'riscv'],
  ] as const)('%s', async (_label, layout, machineName) => {
    const file = writeCrafted({ ...layout, needs: glibcNeeds, sections: [{ name: '.debug_info', type: 1, data: Buffer.alloc(300) }] });
    const { info, oracle } = await expectAgreement(file);
    expect(oracle.littleEndian).toBe(layout.endian === 'little');
    expect(info).toMatchObject({ machineName, class: layout.class, maxGlibc: '2.28', glibcVersionsNeeded: ['2.9', '2.17', '2.28'], debugBytes: 300 });
  });

  it('reads names longer than its first read window', async () => {
    const library = `lib${'x'.repeat(1000)}.so.1`;
    const { info } = await expectAgreement(writeCrafted({ class: 64, endian: 'big', machine: ELF_MACHINES.ppc64, needs: { [library]: ['GLIBC_2.17'] } }));
    expect(Object.keys(info.neededBy)).toEqual([library]);
  });

  it('names an unlisted machine unknown(N)', async () => {
    const info = (await readElf(writeCrafted({ class: 64, endian: 'little', machine: 0x1234 })))!;
    expect(info.machineName).toBe('unknown(4660)');
    expect(info.neededBy).toEqual({});
    expect(info.maxGlibc).toBeUndefined();
  });

  it.each([64, 32] as const)('follows extended section numbering (ELF%i: e_shnum 0, e_shstrndx SHN_XINDEX)', async (elfClass) => {
    const file = writeCrafted({
      class: elfClass,
      endian: 'little',
      machine: ELF_MACHINES.x86_64,
      extendedNumbering: true,
      needs: { 'libm.so.6': ['GLIBC_2.29'] },
      sections: [
        { name: '.zdebug_line', type: 1, data: Buffer.alloc(40) },
        { name: '.symtab', type: 2, data: Buffer.alloc(elfClass === 64 ? 24 : 16) },
      ],
    });
    const { info } = await expectAgreement(file);
    expect(info).toMatchObject({ maxGlibc: '2.29', hasDebugInfo: true, debugBytes: 40, hasSymtab: true });
  });

  it('does not count NOBITS debug sections, which take no bytes in the file', async () => {
    const file = writeCrafted({
      class: 64,
      endian: 'little',
      machine: ELF_MACHINES.x86_64,
      sections: [{ name: '.debug_info', type: 8, size: 5000 }],
    });
    expect(await readElf(file)).toMatchObject({ hasDebugInfo: false, debugBytes: 0 });
  });
});

describe('readElf on files that are not ELF or are broken', () => {
  it.each([
    ['a Python source', Buffer.from('def handler(event, context):\n    return 1\n')],
    ['an empty file', Buffer.alloc(0)],
    ['three bytes of the magic', Buffer.from([0x7f, 0x45, 0x4c])],
    ['a zip', Buffer.from('PK\x03\x04rest of a zip')],
    ['a Mach-O header', Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1])],
  ])('returns null for %s', async (_label, bytes) => {
    const file = path.join(scratch(), 'file');
    writeFileSync(file, bytes);
    expect(await readElf(file)).toBeNull();
  });

  const valid = () => craftElf({ class: 64, endian: 'little', machine: ELF_MACHINES.x86_64, needs: { 'libc.so.6': ['GLIBC_2.17'] } });
  const corrupt = (edit: (crafted: ReturnType<typeof craftElf>) => Buffer) => {
    const file = path.join(scratch(), 'broken.so');
    writeFileSync(file, edit(valid()));
    return readElf(file);
  };

  it.each([
    ['the magic and nothing else', () => Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1]), /shorter than the 16-byte identification block/],
    ['an unknown class', (c) => Buffer.concat([c.bytes.subarray(0, 4), Buffer.from([9]), c.bytes.subarray(5)]), /unknown class 9/],
    ['an unknown byte order', (c) => Buffer.concat([c.bytes.subarray(0, 5), Buffer.from([3]), c.bytes.subarray(6)]), /unknown byte order 3/],
    ['a cut-off section header table', (c) => c.bytes.subarray(0, c.bytes.length - 10), /section header table .* ends past the end/],
    [
      'a version entry that points past its section',
      (c) => {
        c.bytes.writeUInt32LE(0x1000, c.offsets['.gnu.version_r']! + 8); // vn_aux
        return c.bytes;
      },
      /version needs entry at offset 4096 runs past the end of its \d+-byte section/,
    ],
    [
      'a version name outside the string table',
      (c) => {
        c.bytes.writeUInt32LE(0x7fff, c.offsets['.gnu.version_r']! + 16 + 8); // vna_name
        return c.bytes;
      },
      /a needed version name at offset 32767 is not inside its \d+-byte string table/,
    ],
  ] as [string, (c: ReturnType<typeof craftElf>) => Buffer, RegExp][])('throws ElfFormatError for %s', async (_label, edit, message) => {
    const error = await corrupt(edit).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ElfFormatError);
    expect((error as Error).message).toMatch(message);
  });

  it('lets I/O errors through unchanged', async () => {
    await expect(readElf(path.join(scratch(), 'missing.so'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('compareGlibc', () => {
  it.each([
    ['2.9', '2.14', -1],
    ['2.14', '2.9', 1],
    ['2.17', '2.17', 0],
    ['2.3', '2.3.4', -1],
    ['2.3.4', '2.4', -1],
    ['2.2.5', '2.3', -1],
    ['2.3', '2.3.0', 0],
    ['2.27', '2.28', -1],
  ])('%s vs %s is %i', (a, b, sign) => {
    expect(compareGlibc(a, b)).toBe(sign);
  });

  it('sorts numerically, not as text', () => {
    expect(['2.14', '2.2.5', '2.27', '2.9', '2.3.4'].sort(compareGlibc)).toEqual(['2.2.5', '2.3.4', '2.9', '2.14', '2.27']);
  });

  it('refuses what is not a dotted number', () => {
    expect(() => compareGlibc('GLIBC_2.17', '2.17')).toThrow(/not a dotted version number/);
  });
});

describe('isSharedObjectName', () => {
  it.each([
    ['libopenblas64_p-r0-0cf96a72.3.23.dev.so', true],
    ['libgfortran-040039e1.so.5.0.0', true],
    ['_multiarray_umath.cpython-311-x86_64-linux-gnu.so', true],
    ['_cffi_backend.abi3.so', true],
    ['libc.so.6', true],
    ['numpy.libs/libquadmath-96973f99-934c22de.so.0.0.0', true],
    ['module.py', false],
    ['libfoo.so.bak', false],
    ['libfoo.so.6a', false],
    ['notes.so.txt', false],
    ['libfoo.SO', false],
    ['.so', false],
    ['pkg/.so', false],
  ])('%s: %s', (name, expected) => {
    expect(isSharedObjectName(name)).toBe(expected);
  });
});

describe('ELF_MACHINES', () => {
  it('holds the e_machine values of the EM_* constants', () => {
    expect(ELF_MACHINES).toEqual({ i386: 3, arm: 40, x86_64: 62, aarch64: 183, ppc64: 21, s390: 22, riscv: 243 });
  });
});
