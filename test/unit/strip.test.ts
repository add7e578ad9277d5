import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ELF_MACHINES } from '../../src/elf.js';
import { execSubprocess } from '../../src/exec.js';
import { stripSharedObjects } from '../../src/pipeline/strip.js';
import { craftElf } from '../helpers/elf-builder.js';
import { rejection } from '../helpers/fake-exec.js';
import { scratchFolders } from '../helpers/lambda.js';

const { scratch } = scratchFolders();

describe('--strip needs a strip for the target architecture', () => {
  it('says so clearly when neither the image nor the host has one', async () => {
    const deps = scratch();
    const abs = path.join(deps, '_ext.so');
    writeFileSync(abs, craftElf({ class: 64, endian: 'little', machine: ELF_MACHINES.aarch64 }).bytes);
    // A real subprocess call, with a PATH that holds no binutils, on an x86_64 host.
    const error = await rejection(
      stripSharedObjects({
        files: [{ path: '_ext.so', abs, size: 100, executable: true, owner: 'x', origin: 'deps' }],
        depsDir: deps,
        mode: 'debug',
        arch: 'arm64',
        exec: execSubprocess,
        env: { PATH: deps },
        container: null,
        hostArch: 'x64',
      }),
    );
    expect(error.code).toBe('STRIP_MISSING');
    expect(error.line).toBe(
      'no strip for arm64 code here (the image has no binutils, and the host is x64). Install binutils for aarch64 (Debian: binutils-aarch64-linux-gnu), build with an image that has binutils (the SAM build images do), or drop --strip',
    );
  });
});
