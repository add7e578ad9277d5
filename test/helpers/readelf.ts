/**
 * The independent oracle for src/elf.ts: what binutils' readelf reports for a file, parsed from
 * one `readelf -h -S -V --wide` run. Nothing here shares code with the reader under test; even
 * the version order uses Intl's numeric collation rather than compareGlibc.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ReadelfSection {
  name: string;
  /** readelf's type name: PROGBITS, SYMTAB, NOBITS, VERNEED, … */
  type: string;
  size: number;
}

export interface ReadelfFacts {
  class: 32 | 64;
  littleEndian: boolean;
  /** readelf's machine text, e.g. 'Advanced Micro Devices X86-64'. */
  machine: string;
  /** e_type as a number, from readelf's NONE/REL/EXEC/DYN/CORE. */
  type: number;
  sections: ReadelfSection[];
  /** The "Version needs" section only: library -> version names, in file order. */
  needs: Record<string, string[]>;
  /** GLIBC_x.y[.z] names from the version needs, unique, oldest first. */
  glibc: string[];
}

/** readelf's machine text for each ELF_MACHINES entry. */
export const READELF_MACHINE_TEXT = {
  i386: 'Intel 80386',
  arm: 'ARM',
  x86_64: 'Advanced Micro Devices X86-64',
  aarch64: 'AArch64',
  ppc64: 'PowerPC64',
  s390: 'IBM S/390',
  riscv: 'RISC-V',
} as const;

const TYPES: Record<string, number> = { NONE: 0, REL: 1, EXEC: 2, DYN: 3, CORE: 4 };

export async function readelf(file: string): Promise<ReadelfFacts> {
  // Big tables (a 25 MB OpenBLAS lists every dynamic symbol's version) print a lot.
  const { stdout } = await run('readelf', ['-h', '-S', '-V', '--wide', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const field = (name: string) => new RegExp(`^\\s*${name}:\\s+(.+)$`, 'm').exec(stdout)?.[1]?.trim() ?? '';
  const sections: ReadelfSection[] = [];
  const needs: Record<string, string[]> = {};
  let inNeeds = false;
  let library: string | undefined;
  for (const line of stdout.split('\n')) {
    // "  [Nr] Name  Type  Address  Off  Size ..."; entry 0 has an empty name and is skipped.
    const section = /^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s/.exec(line);
    if (section && section[1] !== '0') sections.push({ name: section[2]!, type: section[3]!, size: parseInt(section[4]!, 16) });
    // Version definitions also print "Name: GLIBC_…" lines (libc defines them); only needs count.
    if (line.startsWith('Version needs section')) inNeeds = true;
    else if (line.startsWith('Version ') || line.trim() === '') inNeeds = false;
    if (!inNeeds) continue;
    const file = /File: (\S+)\s+Cnt:/.exec(line);
    if (file) {
      library = file[1]!;
      needs[library] ??= [];
    }
    const name = /^\s+0x[0-9a-f]+:\s+Name: (\S+)\s+Flags:/.exec(line);
    if (name && library) needs[library]!.push(name[1]!);
  }
  const glibc = [
    ...new Set(
      Object.values(needs)
        .flat()
        .flatMap((name) => /^GLIBC_(\d[\d.]*)$/.exec(name)?.[1] ?? []),
    ),
  ].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return {
    class: field('Class') === 'ELF32' ? 32 : 64,
    littleEndian: field('Data').includes('little endian'),
    machine: field('Machine'),
    type: TYPES[field('Type').split(' ')[0]!] ?? -1,
    sections,
    needs,
    glibc,
  };
}
