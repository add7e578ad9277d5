/**
 * An independent oracle for native code in test zips: binutils' readelf, not pyslim's own ELF
 * reader, reports each shared object's machine and the newest GLIBC_x.y symbol version it needs.
 */
import { execFileSync } from 'node:child_process';

export interface NativeFacts {
  machine: string;
  /** Highest GLIBC_2.N required, as the minor number N (0 when none). */
  glibcMinor: number;
}

export function readNativeFacts(file: string): NativeFacts {
  const header = execFileSync('readelf', ['-h', '--wide', file], { encoding: 'utf8' });
  const machine = /Machine:\s+(.+)/.exec(header)?.[1]?.trim() ?? 'unknown';
  const versions = execFileSync('readelf', ['-V', '--wide', file], { encoding: 'utf8' });
  const minors = [...versions.matchAll(/Name: GLIBC_2\.(\d+)/g)].map((m) => Number(m[1]));
  return { machine, glibcMinor: minors.length ? Math.max(...minors) : 0 };
}

export const isSharedObject = (name: string) => /\.so(\.\d+)*$/.test(name);
