/** The native-code audit on crafted ELF files (no aarch64 or too-new-glibc wheel is at hand for unit tests). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ELF_MACHINES } from '../../src/elf.js';
import { auditNativeCode } from '../../src/pipeline/audit.js';
import { craftElf } from '../helpers/elf-builder.js';
import { rejection } from '../helpers/fake-exec.js';
import { removeTree, tempDir } from '../helpers/lambda.js';
import type { Distribution, TreeFile } from '../../src/model/files.js';

const dir = tempDir();
afterAll(() => removeTree(dir));

function sharedObject(name: string, machine: number, glibc: string[]): TreeFile {
  const abs = path.join(dir, name.replace(/\//g, '_'));
  writeFileSync(abs, craftElf({ class: 64, endian: 'little', machine, needs: { 'libc.so.6': glibc.map((v) => `GLIBC_${v}`) } }).bytes);
  return { path: name, abs, size: 1, executable: true, owner: 'fastlib', origin: 'deps' };
}
const dist: Distribution = { key: 'fastlib', name: 'fastlib', version: '1.2.3', distInfo: 'fastlib-1.2.3.dist-info', topLevel: ['fastlib'], hasTopLevelFile: true, requires: [] };

describe('auditNativeCode', () => {
  it('passes code for the arch and glibc, and reports the newest glibc needed', async () => {
    const files = [sharedObject('fastlib/_a.so', ELF_MACHINES.x86_64, ['2.2.5', '2.17']), sharedObject('fastlib/_b.so', ELF_MACHINES.x86_64, ['2.14'])];
    const summary = await auditNativeCode({ files, distributions: [dist], runtime: 'python3.11', arch: 'x86_64' });
    expect(summary).toEqual({ sharedObjects: 2, maxGlibc: '2.17', maxGlibcFile: 'fastlib/_a.so' });
  });

  it('fails on code for another CPU, naming the file and its distribution', async () => {
    const files = [sharedObject('fastlib/_a.cpython-312-x86_64-linux-gnu.so', ELF_MACHINES.x86_64, ['2.17'])];
    const error = await rejection(auditNativeCode({ files, distributions: [dist], runtime: 'python3.12', arch: 'arm64' }));
    expect(error.code).toBe('NATIVE_CODE_MISMATCH');
    expect(error.line).toMatch(/^native code that cannot load on Lambda: fastlib\/_a\.cpython-312-x86_64-linux-gnu\.so \(fastlib 1\.2\.3\) is x86_64 code in an arm64 build\. Install the arm64 build/);
  });

  it('fails on a glibc newer than the runtime OS has, and counts the others', async () => {
    const files = [
      sharedObject('fastlib/_new.so', ELF_MACHINES.x86_64, ['2.28']),
      sharedObject('fastlib/_newer.so', ELF_MACHINES.x86_64, ['2.14', '2.34']),
      sharedObject('fastlib/_ok.so', ELF_MACHINES.x86_64, ['2.14']),
    ];
    const error = await rejection(auditNativeCode({ files, distributions: [dist], runtime: 'python3.11', arch: 'x86_64' }));
    expect(error.line).toMatch(/fastlib\/_new\.so \(fastlib 1\.2\.3\) needs GLIBC_2\.28, but python3\.11 runs on Amazon Linux 2 with glibc 2\.26 \(and 1 more shared objects, in fastlib 1\.2\.3\)/);
    expect(error.details).toContain('fastlib/_newer.so (fastlib 1.2.3) needs GLIBC_2.34');
    // The same code is fine on python3.12 (Amazon Linux 2023, glibc 2.34).
    await expect(auditNativeCode({ files, distributions: [dist], runtime: 'python3.12', arch: 'x86_64' })).resolves.toMatchObject({ maxGlibc: '2.34' });
  });

  it('names the function folder for a vendored shared object', async () => {
    const file = { ...sharedObject('vendored/_x.so', ELF_MACHINES.aarch64, []), origin: 'source' as const, owner: '(source)' };
    const error = await rejection(auditNativeCode({ files: [file], distributions: [], runtime: 'python3.12', arch: 'x86_64' }));
    expect(error.line).toContain('vendored/_x.so (the function folder) is aarch64 code in an x86_64 build');
  });
});
