/**
 * A small ELF reader for the native-code audit that runs on every build.
 *
 * The audit needs a few facts per shared object: which CPU it was built for, the newest glibc
 * symbol version it needs (a `manylinux_2_28` wheel on python3.11 fails with "GLIBC_2.28 not
 * found"), and whether it still carries symbols or debug info that only cost bytes. Those facts
 * sit in the ELF header, the section header table and two small sections, so the reader uses
 * positional reads and never loads a whole file: some shared objects in wheels exceed 25 MB.
 */
import { promises as fs } from 'node:fs';

/** ELF e_machine values of the architectures pyslim cares about, by the name the audit shows. */
export const ELF_MACHINES = {
  i386: 3,
  arm: 40,
  x86_64: 62,
  aarch64: 183,
  ppc64: 21,
  /** EM_S390 covers both s390 and s390x; the class tells them apart. */
  s390: 22,
  riscv: 243,
} as const;

export type ElfMachineName = keyof typeof ELF_MACHINES;

/** What the audit needs to know about one ELF file. */
export interface ElfInfo {
  /** e_machine, the CPU the code was built for (62 for x86_64, 183 for aarch64). */
  machine: number;
  /** A key of ELF_MACHINES, or `unknown(N)` for any other e_machine. */
  machineName: string;
  /** ELFCLASS32 or ELFCLASS64. */
  class: 32 | 64;
  /** e_type: 1 relocatable, 2 executable, 3 shared object (also PIE executables), 4 core. */
  type: number;
  /** Every GLIBC_x.y[.z] version the file needs, from any glibc library, oldest first. */
  glibcVersionsNeeded: string[];
  /** The newest entry of glibcVersionsNeeded ('2.27'), or undefined when it needs none. */
  maxGlibc: string | undefined;
  /** Each library named in the version needs (e.g. 'libm.so.6'), with the versions needed from it in file order. */
  neededBy: Record<string, string[]>;
  /** Whether any section is named .debug_* or .zdebug_* (compressed DWARF). */
  hasDebugInfo: boolean;
  /** Bytes those debug sections take in the file. */
  debugBytes: number;
  /** Whether a full symbol table (.symtab) is present, i.e. the file is not stripped. */
  hasSymtab: boolean;
}

/**
 * Thrown by readElf for a file that starts with the ELF magic but cannot be read as ELF:
 * truncated, or with offsets, sizes or links that point outside it. I/O errors (a missing or
 * unreadable file) are not wrapped, so a caller can tell a broken file from a broken disk.
 */
export class ElfFormatError extends Error {
  /** The file that was read. */
  readonly file: string;
  /** What is wrong with it, without the file name. */
  readonly reason: string;

  constructor(file: string, reason: string) {
    super(`${file} is not a valid ELF file: ${reason}`);
    this.name = 'ElfFormatError';
    this.file = file;
    this.reason = reason;
  }
}

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ELFDATA2MSB = 2;
const SHN_UNDEF = 0;
/** Values from SHN_LORESERVE up are special indexes, never real sections. */
const SHN_LORESERVE = 0xff00;
const SHN_XINDEX = 0xffff;
const SHT_SYMTAB = 2;
const SHT_NOBITS = 8;
const SHT_GNU_VERNEED = 0x6ffffffe;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NULL = 0;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_VERNEED = 0x6ffffffe;
const DT_VERNEEDNUM = 0x6fffffff;
/** Elf_Verneed and Elf_Vernaux are both 16 bytes, in either class. */
const VERSION_ENTRY_SIZE = 16;
const GLIBC_VERSION = /^GLIBC_(\d+\.\d+(\.\d+)?)$/;
const DEBUG_SECTION = /^\.z?debug_/;

const MACHINE_NAMES = new Map<number, string>(Object.entries(ELF_MACHINES).map(([name, value]) => [value, name]));

/**
 * Reads the audit facts of one file. Returns null when the file does not start with the ELF
 * magic (scripts, data, Python sources, files shorter than 4 bytes); throws ElfFormatError when
 * it does but is truncated or corrupt. Errors from opening or reading the file pass through.
 */
export async function readElf(file: string): Promise<ElfInfo | null> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const ident = Buffer.alloc(Math.min(size, 16));
    await readFully(handle, ident, 0);
    if (ident.length < ELF_MAGIC.length || !ident.subarray(0, ELF_MAGIC.length).equals(ELF_MAGIC)) return null;
    return await parseElf(new ElfFile(file, handle, size, ident));
  } finally {
    await handle.close();
  }
}

/**
 * Orders two dotted version numbers numerically: '2.9' < '2.14' < '2.14.1'. A missing part
 * counts as 0, so '2.3' equals '2.3.0'.
 */
export function compareGlibc(a: string, b: string): number {
  const left = parseVersion(a);
  const right = parseVersion(b);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const diff = (left[i] ?? 0) - (right[i] ?? 0);
    if (diff !== 0) return diff < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * Whether a file name (or path) names a shared object: `.so`, or `.so.N[.N…]` as sonames and
 * vendored copies in `*.libs/` are spelled ('libgfortran-040039e1.so.5.0.0').
 */
export function isSharedObjectName(name: string): boolean {
  return /[^/]\.so(\.\d+)*$/.test(name);
}

function parseVersion(version: string): number[] {
  if (!/^\d+(\.\d+)*$/.test(version)) throw new Error(`not a dotted version number: ${version}`);
  return version.split('.').map(Number);
}

/** One section header, reduced to the fields the reader uses. */
interface Section {
  name: number;
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
}

/** One program header, reduced to the fields the reader uses. */
interface Segment {
  type: number;
  offset: number;
  vaddr: bigint;
  filesz: number;
}

/** A version-needs table and the string table its names point into, wherever they were found. */
interface VersionNeeds {
  /** Reads `length` bytes at `offset` inside the table, or throws when that runs past its end. */
  read(offset: number, length: number): Promise<Buffer>;
  /** How many Elf_Verneed entries to walk at most. */
  count: number;
  /** The string table the entries' names point into. */
  strings: StringTable;
}

/** An open ELF file: its size, byte order and class, and bounds-checked reads. */
class ElfFile {
  readonly is64: boolean;
  readonly littleEndian: boolean;

  constructor(
    readonly path: string,
    private readonly handle: fs.FileHandle,
    readonly size: number,
    ident: Buffer,
  ) {
    if (ident.length < 16) this.fail(`the ${ident.length}-byte file is shorter than the 16-byte identification block; it is truncated`);
    const elfClass = ident[4];
    if (elfClass !== ELFCLASS32 && elfClass !== ELFCLASS64) this.fail(`unknown class ${elfClass} (expected 1 for 32-bit or 2 for 64-bit)`);
    const data = ident[5];
    if (data !== ELFDATA2LSB && data !== ELFDATA2MSB) this.fail(`unknown byte order ${data} (expected 1 for little or 2 for big endian)`);
    this.is64 = elfClass === ELFCLASS64;
    this.littleEndian = data === ELFDATA2LSB;
  }

  fail(reason: string): never {
    throw new ElfFormatError(this.path, reason);
  }

  /** Reads a region that the file claims to hold, failing clearly when the file is too short for it. */
  async read(offset: number, length: number, what: string): Promise<Buffer> {
    if (offset + length > this.size) {
      this.fail(`${what} (${length} bytes at offset ${offset}) ends past the end of the ${this.size}-byte file; it is truncated or corrupt`);
    }
    const buffer = Buffer.alloc(length);
    await readFully(this.handle, buffer, offset);
    return buffer;
  }

  u16(buffer: Buffer, offset: number): number {
    return this.littleEndian ? buffer.readUInt16LE(offset) : buffer.readUInt16BE(offset);
  }

  u32(buffer: Buffer, offset: number): number {
    return this.littleEndian ? buffer.readUInt32LE(offset) : buffer.readUInt32BE(offset);
  }

  /** An address-sized field (Elf32_Addr or Elf64_Addr); addresses may exceed 2^53, so it stays a bigint. */
  address(buffer: Buffer, offset: number): bigint {
    if (!this.is64) return BigInt(this.u32(buffer, offset));
    return this.littleEndian ? buffer.readBigUInt64LE(offset) : buffer.readBigUInt64BE(offset);
  }

  /** An offset or size field. One that does not fit in a double cannot point inside any real file. */
  offset(buffer: Buffer, offset: number, what: string): number {
    const value = this.address(buffer, offset);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} ${value} is out of range`);
    return Number(value);
  }
}

/**
 * A string table read on demand. A big C++ library's .dynstr takes megabytes, of which the
 * version needs use a few dozen names, so each name is read alone.
 */
class StringTable {
  private readonly cache = new Map<number, string>();

  constructor(
    private readonly elf: ElfFile,
    private readonly offset: number,
    private readonly size: number,
  ) {
    if (offset + size > elf.size) elf.fail(`a string table (${size} bytes at offset ${offset}) ends past the end of the ${elf.size}-byte file; it is truncated or corrupt`);
  }

  async get(at: number, what: string): Promise<string> {
    const known = this.cache.get(at);
    if (known !== undefined) return known;
    if (at >= this.size) this.elf.fail(`${what} at offset ${at} is not inside its ${this.size}-byte string table`);
    // Names are short; a longer one is read again with a larger window.
    for (let length = Math.min(256, this.size - at); ; length = Math.min(length * 4, this.size - at)) {
      const chunk = await this.elf.read(this.offset + at, length, 'a string table');
      const end = chunk.indexOf(0);
      if (end >= 0) {
        const value = chunk.toString('utf8', 0, end);
        this.cache.set(at, value);
        return value;
      }
      if (at + length >= this.size) this.elf.fail(`${what} at offset ${at} runs past the end of its ${this.size}-byte string table`);
    }
  }
}

async function readFully(handle: fs.FileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done);
    // The size was checked before reading, so a short read means the file shrank meanwhile.
    if (bytesRead === 0) throw new Error(`unexpected end of file while reading ${buffer.length} bytes at offset ${position}`);
    done += bytesRead;
  }
}

async function parseElf(elf: ElfFile): Promise<ElfInfo> {
  const header = await elf.read(0, elf.is64 ? 64 : 52, 'the ELF header');
  const at = elf.is64 ? { phoff: 32, shoff: 40, phentsize: 54 } : { phoff: 28, shoff: 32, phentsize: 42 };
  const type = elf.u16(header, 16);
  const machine = elf.u16(header, 18);
  const shoff = elf.offset(header, at.shoff, 'the section header offset');
  const phoff = elf.offset(header, at.phoff, 'the program header offset');
  const phentsize = elf.u16(header, at.phentsize);
  const phnum = elf.u16(header, at.phentsize + 2);
  const shentsize = elf.u16(header, at.phentsize + 4);
  const shnum = elf.u16(header, at.phentsize + 6);
  const shstrndx = elf.u16(header, at.phentsize + 8);

  const info: ElfInfo = {
    machine,
    machineName: MACHINE_NAMES.get(machine) ?? `unknown(${machine})`,
    class: elf.is64 ? 64 : 32,
    type,
    glibcVersionsNeeded: [],
    maxGlibc: undefined,
    neededBy: {},
    hasDebugInfo: false,
    debugBytes: 0,
    hasSymtab: false,
  };

  const sections = await readSectionHeaders(elf, shoff, shentsize, shnum, shstrndx);
  let needs: VersionNeeds | undefined;
  if (sections) {
    const names = sections.names;
    for (const section of sections.list) {
      if (section.type === SHT_SYMTAB) info.hasSymtab = true;
      // A NOBITS section has a size but no bytes in the file, so it costs nothing in a zip.
      if (names && section.type !== SHT_NOBITS && DEBUG_SECTION.test(readString(elf, names, section.name, 'a section name'))) {
        info.hasDebugInfo = true;
        info.debugBytes += section.size;
      }
    }
    needs = await versionNeedsFromSections(elf, sections.list);
  } else {
    // Without a section header table (sstrip removes it; the loader never reads it) the same
    // table is still reachable the way ld.so finds it: through the dynamic segment.
    needs = await versionNeedsFromDynamic(elf, phoff, phentsize, phnum);
  }
  if (needs) {
    const neededBy = await walkVersionNeeds(elf, needs);
    info.neededBy = Object.fromEntries(neededBy);
    const glibc = new Set<string>();
    for (const versions of neededBy.values()) {
      for (const name of versions) {
        const match = GLIBC_VERSION.exec(name);
        if (match) glibc.add(match[1]!);
      }
    }
    info.glibcVersionsNeeded = [...glibc].sort(compareGlibc);
    info.maxGlibc = info.glibcVersionsNeeded.at(-1);
  }
  return info;
}

/**
 * Reads the section header table and the section name string table. Returns undefined when the
 * file has no section header table. With more than 0xff00 sections, ELF moves the real count to
 * section 0's sh_size and the real name-table index to its sh_link (extended numbering).
 */
async function readSectionHeaders(elf: ElfFile, shoff: number, shentsize: number, shnum: number, shstrndx: number) {
  if (shoff === 0) return undefined;
  const minimum = elf.is64 ? 64 : 40;
  if (shentsize < minimum) elf.fail(`section header entries are ${shentsize} bytes, smaller than the ${minimum} bytes of this class`);
  let count = shnum;
  let namesIndex = shstrndx;
  if (shnum === 0 || shstrndx === SHN_XINDEX) {
    const first = parseSection(elf, await elf.read(shoff, shentsize, 'section header 0'), 0);
    if (shnum === 0) count = first.size;
    if (shstrndx === SHN_XINDEX) namesIndex = first.link;
  }
  if (count === 0) return undefined;
  const table = await elf.read(shoff, count * shentsize, `the section header table (${count} entries)`);
  const list: Section[] = [];
  for (let i = 0; i < count; i++) list.push(parseSection(elf, table, i * shentsize));
  let names: Buffer | undefined;
  // SHN_UNDEF means the file has no section names; the facts that need names are then absent.
  if (namesIndex !== SHN_UNDEF) {
    const section = list[namesIndex];
    // Indexes from SHN_LORESERVE up are special values, except through SHN_XINDEX's indirection.
    const reserved = shstrndx >= SHN_LORESERVE && shstrndx !== SHN_XINDEX;
    if (!section || reserved) elf.fail(`the section name table index ${namesIndex} is not one of the ${count} sections`);
    names = await elf.read(section.offset, section.size, 'the section name table');
  }
  return { list, names };
}

function parseSection(elf: ElfFile, table: Buffer, at: number): Section {
  const wide = elf.is64;
  return {
    name: elf.u32(table, at),
    type: elf.u32(table, at + 4),
    offset: elf.offset(table, at + (wide ? 24 : 16), 'a section offset'),
    size: elf.offset(table, at + (wide ? 32 : 20), 'a section size'),
    link: elf.u32(table, at + (wide ? 40 : 24)),
    info: elf.u32(table, at + (wide ? 44 : 28)),
  };
}

/** The SHT_GNU_verneed section (normally .gnu.version_r) and the string table its sh_link names. */
async function versionNeedsFromSections(elf: ElfFile, sections: readonly Section[]): Promise<VersionNeeds | undefined> {
  const section = sections.find((s) => s.type === SHT_GNU_VERNEED);
  if (!section) return undefined;
  const strtab = sections[section.link];
  if (!strtab || section.link === SHN_UNDEF) elf.fail(`the version needs section links to section ${section.link}, which does not exist`);
  const table = await elf.read(section.offset, section.size, 'the version needs section');
  return {
    read: async (offset, length) => {
      if (offset + length > table.length) elf.fail(`a version needs entry at offset ${offset} runs past the end of its ${table.length}-byte section`);
      return table.subarray(offset, offset + length);
    },
    // sh_info holds the number of Elf_Verneed entries; should a linker leave it 0, the chain's
    // own end (vn_next = 0) stops the walk, bounded by what the section can hold.
    count: section.info || Math.floor(section.size / VERSION_ENTRY_SIZE),
    strings: new StringTable(elf, strtab.offset, strtab.size),
  };
}

/**
 * The version needs table found through PT_DYNAMIC: DT_VERNEED and DT_STRTAB hold addresses,
 * which the PT_LOAD segments map back to file offsets.
 */
async function versionNeedsFromDynamic(elf: ElfFile, phoff: number, phentsize: number, phnum: number): Promise<VersionNeeds | undefined> {
  if (phoff === 0 || phnum === 0) return undefined;
  const minimum = elf.is64 ? 56 : 32;
  if (phentsize < minimum) elf.fail(`program header entries are ${phentsize} bytes, smaller than the ${minimum} bytes of this class`);
  const table = await elf.read(phoff, phnum * phentsize, `the program header table (${phnum} entries)`);
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = i * phentsize;
    const wide = elf.is64;
    segments.push({
      type: elf.u32(table, at),
      offset: elf.offset(table, at + (wide ? 8 : 4), 'a segment offset'),
      vaddr: elf.address(table, at + (wide ? 16 : 8)),
      filesz: elf.offset(table, at + (wide ? 32 : 16), 'a segment size'),
    });
  }
  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  if (!dynamic) return undefined;
  const entries = await elf.read(dynamic.offset, dynamic.filesz, 'the dynamic segment');
  const entrySize = elf.is64 ? 16 : 8;
  const tags = new Map<number, bigint>();
  for (let at = 0; at + entrySize <= entries.length; at += entrySize) {
    // Tags are signed, but every tag read here is positive and below 2^32 in both classes.
    const tag = Number(elf.address(entries, at));
    if (tag === DT_NULL) break;
    if (!tags.has(tag)) tags.set(tag, elf.address(entries, at + entrySize / 2));
  }
  const verneed = tags.get(DT_VERNEED);
  const strtab = tags.get(DT_STRTAB);
  if (verneed === undefined) return undefined;
  if (strtab === undefined) elf.fail('the dynamic segment has DT_VERNEED but no DT_STRTAB');
  const loads = segments.filter((s) => s.type === PT_LOAD);
  const locate = (address: bigint, what: string) => {
    const load = loads.find((s) => address >= s.vaddr && address < s.vaddr + BigInt(s.filesz));
    if (!load) return elf.fail(`${what} address 0x${address.toString(16)} is not in any loaded segment`);
    const offset = load.offset + Number(address - load.vaddr);
    return { offset, end: load.offset + load.filesz };
  };
  const needs = locate(verneed, 'the version needs');
  const strings = locate(strtab, 'the dynamic string table');
  const strsz = tags.get(DT_STRSZ);
  const stringsLength = strsz === undefined ? strings.end - strings.offset : Math.min(Number(strsz), strings.end - strings.offset);
  return {
    // The table's size is not recorded anywhere here, so entries are read one by one as walked.
    read: (offset, length) => {
      if (needs.offset + offset + length > needs.end) elf.fail(`a version needs entry at offset ${offset} runs past the end of its segment`);
      return elf.read(needs.offset + offset, length, 'a version needs entry');
    },
    count: Number(tags.get(DT_VERNEEDNUM) ?? 0n),
    strings: new StringTable(elf, strings.offset, stringsLength),
  };
}

/**
 * Walks the Elf_Verneed list (one entry per library) and each entry's Elf_Vernaux list (one per
 * version needed from it). Both lists chain through relative offsets, so every step is bounded by
 * the entry counts to stop a corrupt file from looping.
 */
async function walkVersionNeeds(elf: ElfFile, needs: VersionNeeds): Promise<Map<string, string[]>> {
  const neededBy = new Map<string, string[]>();
  let offset = 0;
  for (let i = 0; i < needs.count; i++) {
    const entry = await needs.read(offset, VERSION_ENTRY_SIZE);
    const auxCount = elf.u16(entry, 2);
    const library = await needs.strings.get(elf.u32(entry, 4), 'a needed library name');
    const versions = neededBy.get(library) ?? [];
    let auxOffset = offset + elf.u32(entry, 8);
    for (let j = 0; j < auxCount; j++) {
      const aux = await needs.read(auxOffset, VERSION_ENTRY_SIZE);
      versions.push(await needs.strings.get(elf.u32(aux, 8), 'a needed version name'));
      const next = elf.u32(aux, 12);
      if (next === 0) break;
      auxOffset += next;
    }
    neededBy.set(library, versions);
    const next = elf.u32(entry, 12);
    if (next === 0) break;
    offset += next;
  }
  return neededBy;
}

/** A NUL-terminated string at `offset` in a string table. */
function readString(elf: ElfFile, table: Buffer, offset: number, what: string): string {
  const end = table.indexOf(0, offset);
  if (offset >= table.length || end < 0) elf.fail(`${what} at offset ${offset} is not inside its ${table.length}-byte string table`);
  return table.toString('utf8', offset, end);
}

/** The loader's page size on Lambda (4 KiB on both architectures). */
const LOADER_PAGE_SIZE = 4096n;

/**
 * Checks what glibc's loader checks before it maps a shared object: each PT_LOAD segment's
 * address and file offset must be congruent modulo the page size and modulo the segment's
 * alignment. binutils' strip can break this on libraries that patchelf rewrote (auditwheel's
 * vendored `.libs`), and the loader then refuses them with "ELF load command address/offset not
 * page-aligned". Returns what is wrong, or undefined when the file would load.
 */
export async function loadSegmentProblem(file: string): Promise<string | undefined> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const ident = Buffer.alloc(Math.min(size, 16));
    await readFully(handle, ident, 0);
    if (!ident.subarray(0, ELF_MAGIC.length).equals(ELF_MAGIC)) return 'not an ELF file';
    const elf = new ElfFile(file, handle, size, ident);
    const header = await elf.read(0, elf.is64 ? 64 : 52, 'the ELF header');
    const phoff = elf.offset(header, elf.is64 ? 32 : 28, 'the program header offset');
    const phentsize = elf.u16(header, elf.is64 ? 54 : 42);
    const phnum = elf.u16(header, elf.is64 ? 56 : 44);
    const table = await elf.read(phoff, phnum * phentsize, `the program header table (${phnum} entries)`);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (elf.u32(table, at) !== PT_LOAD) continue;
      const offset = elf.address(table, at + (elf.is64 ? 8 : 4));
      const vaddr = elf.address(table, at + (elf.is64 ? 16 : 8));
      const align = elf.address(table, at + (elf.is64 ? 48 : 28));
      if ((vaddr - offset) % LOADER_PAGE_SIZE !== 0n) return `load segment ${i}: address/offset not page-aligned`;
      if (align > 1n && (vaddr - offset) % align !== 0n) return `load segment ${i}: address/offset not aligned to ${align}`;
    }
    return undefined;
  } catch (error) {
    if (error instanceof ElfFormatError) return error.reason;
    throw error;
  } finally {
    await handle.close();
  }
}
