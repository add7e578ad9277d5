/**
 * Native-code audit, on every build: reads the ELF header of every shared object that ships and
 * fails the build when one was built for another CPU, or needs a newer glibc than the runtime's
 * OS has. This catches wrong-platform wheels from any installer, a vendored package in the
 * function folder, or a container image that is not the real Lambda one.
 */
import { ElfFormatError, compareGlibc, isSharedObjectName, readElf, type ElfInfo } from '../elf.js';
import { PyslimError } from '../errors.js';
import { ARCHITECTURES, RUNTIMES, type ArchName, type RuntimeName } from '../runtimes.js';
import type { Distribution, TreeFile } from '../model/files.js';
import type { NativeSummary } from '../model/report.js';

export interface AuditOptions {
  files: readonly TreeFile[];
  distributions: readonly Distribution[];
  runtime: RuntimeName;
  arch: ArchName;
}

interface Problem {
  file: TreeFile;
  what: string;
}

export async function auditNativeCode(options: AuditOptions): Promise<NativeSummary> {
  const { runtime, arch } = options;
  const wantedMachine = ARCHITECTURES[arch].elfMachine;
  const glibc = RUNTIMES[runtime].glibc;
  const shared = options.files.filter((f) => isSharedObjectName(f.path));
  const problems: Problem[] = [];
  const summary: NativeSummary = { sharedObjects: 0, maxGlibc: null, maxGlibcFile: null };

  for (let i = 0; i < shared.length; i += 16) {
    const batch = shared.slice(i, i + 16);
    const infos = await Promise.all(batch.map((file) => readElf(file.abs).catch((error: unknown) => error)));
    batch.forEach((file, j) => {
      const info = infos[j];
      if (info instanceof ElfFormatError) return void problems.push({ file, what: `is not a valid shared object (${info.reason})` });
      if (info instanceof Error) throw info;
      if (!info) return; // named .so but not ELF: nothing the loader would map
      summary.sharedObjects += 1;
      const elf = info as ElfInfo;
      if (elf.machine !== wantedMachine) {
        problems.push({ file, what: `is ${elf.machineName} code in an ${arch} build` });
        return;
      }
      if (elf.maxGlibc && (!summary.maxGlibc || compareGlibc(elf.maxGlibc, summary.maxGlibc) > 0)) {
        summary.maxGlibc = elf.maxGlibc;
        summary.maxGlibcFile = file.path;
      }
      if (elf.maxGlibc && compareGlibc(elf.maxGlibc, glibc) > 0) {
        problems.push({ file, what: `needs GLIBC_${elf.maxGlibc}, but ${runtime} runs on ${RUNTIMES[runtime].os} with glibc ${glibc}` });
      }
    });
  }
  if (problems.length > 0) throw auditError(problems, options);
  return summary;
}

function auditError(problems: Problem[], options: AuditOptions): PyslimError {
  const versions = new Map(options.distributions.map((d) => [d.key, `${d.name} ${d.version}`]));
  const owner = (file: TreeFile) => (file.origin === 'source' ? 'the function folder' : (versions.get(file.owner) ?? file.owner));
  const [first] = problems;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more shared objects, in ${[...new Set(problems.slice(1).map((p) => owner(p.file)))].join(', ')})` : '';
  const wrongArch = first!.what.includes(' build');
  const hint = wrongArch
    ? `Install the ${options.arch} build of the package (pyslim's installers pick it); a package copied into the function folder must come from an ${options.arch} wheel`
    : `Pin a release with manylinux wheels for glibc ${RUNTIMES[options.runtime].glibc} or older, use a runtime on a newer OS (python3.12+ has glibc 2.34), or build in the real Lambda image (--installer docker)`;
  return new PyslimError('NATIVE_CODE_MISMATCH', `native code that cannot load on Lambda: ${first!.file.path} (${owner(first!.file)}) ${first!.what}${more}`, {
    hint,
    stage: 'audit',
    distribution: first!.file.owner,
    details: problems.map((p) => `${p.file.path} (${owner(p.file)}) ${p.what}`).join('\n'),
  });
}

/** The audit of the cached layer plus that of the function's own files. */
export function mergeNative(layer: NativeSummary, source: NativeSummary): NativeSummary {
  const newer = source.maxGlibc && (!layer.maxGlibc || compareGlibc(source.maxGlibc, layer.maxGlibc) > 0);
  return {
    sharedObjects: layer.sharedObjects + source.sharedObjects,
    maxGlibc: newer ? source.maxGlibc : layer.maxGlibc,
    maxGlibcFile: newer ? source.maxGlibcFile : layer.maxGlibcFile,
  };
}
