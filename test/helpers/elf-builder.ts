/**
 * Builds minimal ELF files for the cases no wheel in the local index covers: 32-bit, big endian,
 * aarch64, extended section numbering. The files hold only a header, a few sections and the
 * section header table, but they are well-formed enough for readelf to act as the oracle.
 */

export interface CraftedSection {
  name: string;
  /** sh_type: 1 PROGBITS, 2 SYMTAB, 3 STRTAB, 8 NOBITS, … */
  type: number;
  data?: Buffer;
  /** sh_size of a NOBITS section, which has no data in the file. */
  size?: number;
}

export interface CraftOptions {
  class: 32 | 64;
  endian: 'little' | 'big';
  machine: number;
  /** e_type; a shared object (3) unless told. */
  type?: number;
  /** Library -> version names, written as .dynstr plus .gnu.version_r. */
  needs?: Record<string, string[]>;
  sections?: CraftedSection[];
  /** Writes e_shnum = 0 and e_shstrndx = SHN_XINDEX, with the real values in section 0. */
  extendedNumbering?: boolean;
}

export interface CraftedElf {
  bytes: Buffer;
  /** File offset of each section's data, by name, for tests that corrupt one. */
  offsets: Record<string, number>;
  /** e_shoff. */
  shoff: number;
}

/** The SysV ELF hash that vna_hash holds; readers may ignore it, the format defines it. */
function elfHash(name: string): number {
  let h = 0;
  for (const byte of Buffer.from(name)) {
    h = ((h << 4) + byte) >>> 0;
    const g = h & 0xf0000000;
    if (g) h ^= g >>> 24;
    h &= ~g >>> 0;
  }
  return h >>> 0;
}

class Writer {
  constructor(
    readonly buffer: Buffer,
    private readonly little: boolean,
  ) {}
  u16(at: number, v: number) {
    if (this.little) this.buffer.writeUInt16LE(v, at);
    else this.buffer.writeUInt16BE(v, at);
  }
  u32(at: number, v: number) {
    if (this.little) this.buffer.writeUInt32LE(v >>> 0, at);
    else this.buffer.writeUInt32BE(v >>> 0, at);
  }
  u64(at: number, v: number) {
    if (this.little) this.buffer.writeBigUInt64LE(BigInt(v), at);
    else this.buffer.writeBigUInt64BE(BigInt(v), at);
  }
}

/** A string table: a leading NUL, then each string once. */
class StringTable {
  private readonly offsets = new Map<string, number>();
  private bytes = Buffer.from([0]);
  add(s: string): number {
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    const offset = this.bytes.length;
    this.bytes = Buffer.concat([this.bytes, Buffer.from(s), Buffer.from([0])]);
    this.offsets.set(s, offset);
    return offset;
  }
  get data() {
    return this.bytes;
  }
}

interface Planned extends CraftedSection {
  link?: number;
  info?: number;
  flags?: number;
  entsize?: number;
  align?: number;
}

export function craftElf(options: CraftOptions): CraftedElf {
  const is64 = options.class === 64;
  const little = options.endian === 'little';
  const planned: Planned[] = [];
  const needs = Object.entries(options.needs ?? {});
  if (needs.length > 0) {
    const dynstr = new StringTable();
    const table = Buffer.alloc(needs.reduce((n, [, names]) => n + 16 + 16 * names.length, 0));
    const w = new Writer(table, little);
    let at = 0;
    let index = 2;
    needs.forEach(([library, names], i) => {
      const size = 16 + 16 * names.length;
      w.u16(at, 1); // vn_version
      w.u16(at + 2, names.length);
      w.u32(at + 4, dynstr.add(library));
      w.u32(at + 8, names.length ? 16 : 0); // vn_aux: right after the entry
      w.u32(at + 12, i === needs.length - 1 ? 0 : size);
      names.forEach((name, j) => {
        const aux = at + 16 + 16 * j;
        w.u32(aux, elfHash(name));
        w.u16(aux + 4, 0);
        w.u16(aux + 6, index++);
        w.u32(aux + 8, dynstr.add(name));
        w.u32(aux + 12, j === names.length - 1 ? 0 : 16);
      });
      at += size;
    });
    // Section 1 is .dynstr, so the verneed section links to 1.
    planned.push({ name: '.dynstr', type: 3, data: dynstr.data, flags: 2, align: 1 });
    planned.push({ name: '.gnu.version_r', type: 0x6ffffffe, data: table, link: 1, info: needs.length, flags: 2, align: 8 });
  }
  planned.push(...(options.sections ?? []));
  const shstrtab = new StringTable();
  const names = planned.map((s) => shstrtab.add(s.name));
  const shstrName = shstrtab.add('.shstrtab');
  planned.push({ name: '.shstrtab', type: 3, data: shstrtab.data, align: 1 });
  names.push(shstrName);

  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  const offsets: Record<string, number> = {};
  let cursor = ehsize;
  for (const s of planned) {
    cursor = Math.ceil(cursor / 8) * 8;
    offsets[s.name] = cursor;
    cursor += s.data?.length ?? 0;
  }
  const shoff = Math.ceil(cursor / 8) * 8;
  const count = planned.length + 1;
  const bytes = Buffer.alloc(shoff + count * shentsize);
  const w = new Writer(bytes, little);

  bytes.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, little ? 1 : 2, 1 /* EV_CURRENT */], 0);
  w.u16(16, options.type ?? 3);
  w.u16(18, options.machine);
  w.u32(20, 1);
  const shstrndx = count - 1;
  if (is64) {
    w.u64(40, shoff);
    w.u16(52, ehsize);
    w.u16(58, shentsize);
    w.u16(60, options.extendedNumbering ? 0 : count);
    w.u16(62, options.extendedNumbering ? 0xffff : shstrndx);
  } else {
    w.u32(32, shoff);
    w.u16(40, ehsize);
    w.u16(46, shentsize);
    w.u16(48, options.extendedNumbering ? 0 : count);
    w.u16(50, options.extendedNumbering ? 0xffff : shstrndx);
  }

  const writeHeader = (i: number, h: { name: number; type: number; flags: number; offset: number; size: number; link: number; info: number; align: number; entsize: number }) => {
    const at = shoff + i * shentsize;
    w.u32(at, h.name);
    w.u32(at + 4, h.type);
    if (is64) {
      w.u64(at + 8, h.flags);
      w.u64(at + 24, h.offset);
      w.u64(at + 32, h.size);
      w.u32(at + 40, h.link);
      w.u32(at + 44, h.info);
      w.u64(at + 48, h.align);
      w.u64(at + 56, h.entsize);
    } else {
      w.u32(at + 8, h.flags);
      w.u32(at + 16, h.offset);
      w.u32(at + 20, h.size);
      w.u32(at + 24, h.link);
      w.u32(at + 28, h.info);
      w.u32(at + 32, h.align);
      w.u32(at + 36, h.entsize);
    }
  };
  // Section 0 is all zeroes, except under extended numbering, where it carries the real values.
  const extended = options.extendedNumbering ? { size: count, link: shstrndx } : { size: 0, link: 0 };
  writeHeader(0, { name: 0, type: 0, flags: 0, offset: 0, info: 0, align: 0, entsize: 0, ...extended });
  planned.forEach((s, i) => {
    const offset = offsets[s.name]!;
    s.data?.copy(bytes, offset);
    writeHeader(i + 1, {
      name: names[i]!,
      type: s.type,
      flags: s.flags ?? 0,
      offset,
      size: s.data?.length ?? s.size ?? 0,
      link: s.link ?? 0,
      info: s.info ?? 0,
      align: s.align ?? 1,
      entsize: s.entsize ?? 0,
    });
  });
  return { bytes, offsets, shoff };
}
