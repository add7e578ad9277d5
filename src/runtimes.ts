/**
 * The Lambda Python runtimes and architectures pyslim can build for.
 *
 * Facts come from ../shared/docs/lambda-runtimes.md: python3.9–3.11 run on Amazon Linux 2
 * (glibc 2.26), python3.12+ on Amazon Linux 2023 (glibc 2.34).
 */

export const RUNTIMES = {
  'python3.9': { pythonVersion: '3.9', os: 'Amazon Linux 2', glibc: '2.26' },
  'python3.10': { pythonVersion: '3.10', os: 'Amazon Linux 2', glibc: '2.26' },
  'python3.11': { pythonVersion: '3.11', os: 'Amazon Linux 2', glibc: '2.26' },
  'python3.12': { pythonVersion: '3.12', os: 'Amazon Linux 2023', glibc: '2.34' },
  'python3.13': { pythonVersion: '3.13', os: 'Amazon Linux 2023', glibc: '2.34' },
  'python3.14': { pythonVersion: '3.14', os: 'Amazon Linux 2023', glibc: '2.34' },
} as const;

export type RuntimeName = keyof typeof RUNTIMES;

export const ARCHITECTURES = {
  x86_64: {
    wheelArch: 'x86_64',
    /** ELF e_machine value of native code built for this architecture (EM_X86_64). */
    elfMachine: 62,
    containerPlatform: 'linux/amd64',
    imageSuffix: 'x86_64',
    /** Legacy manylinux aliases that exist for this architecture, by the glibc minor they equal. */
    legacyTags: { 17: 'manylinux2014', 12: 'manylinux2010', 5: 'manylinux1' },
    oldestGlibcMinor: 5,
  },
  arm64: {
    wheelArch: 'aarch64',
    /** EM_AARCH64. */
    elfMachine: 183,
    containerPlatform: 'linux/arm64',
    imageSuffix: 'arm64',
    legacyTags: { 17: 'manylinux2014' },
    // No manylinux standard covered aarch64 before manylinux2014 (glibc 2.17).
    oldestGlibcMinor: 17,
  },
} as const;

export type ArchName = keyof typeof ARCHITECTURES;

export const DEFAULT_RUNTIME: RuntimeName = 'python3.12';
/** Lambda's own default architecture. */
export const DEFAULT_ARCH: ArchName = 'x86_64';

export function isRuntimeName(value: string): value is RuntimeName {
  return Object.hasOwn(RUNTIMES, value);
}

export function isArchName(value: string): value is ArchName {
  return Object.hasOwn(ARCHITECTURES, value);
}

/** Parses a glibc version such as "2.26" into its minor number; pyslim only deals with glibc 2.x. */
export function glibcMinor(glibc: string): number {
  const match = /^2\.(\d+)$/.exec(glibc);
  if (!match) throw new Error(`not a glibc 2.x version: ${glibc}`);
  return Number(match[1]);
}

/**
 * Every manylinux platform tag a wheel may carry to load on this runtime and architecture,
 * newest first. pip takes each `--platform` literally (manylinux_2_34 does not imply
 * manylinux_2_28), so the whole list must be passed.
 */
export function manylinuxTags(runtime: RuntimeName, arch: ArchName, glibcOverride?: string): string[] {
  const a = ARCHITECTURES[arch];
  const legacy: Record<number, string> = a.legacyTags;
  const tags: string[] = [];
  for (let minor = glibcMinor(glibcOverride ?? RUNTIMES[runtime].glibc); minor >= a.oldestGlibcMinor; minor--) {
    tags.push(`manylinux_2_${minor}_${a.wheelArch}`);
    const alias = legacy[minor];
    if (alias) tags.push(`${alias}_${a.wheelArch}`);
  }
  return tags;
}

/** The AWS base image for a runtime and architecture, e.g. public.ecr.aws/lambda/python:3.12-arm64. */
export function lambdaImage(runtime: RuntimeName, arch: ArchName): string {
  return `public.ecr.aws/lambda/python:${RUNTIMES[runtime].pythonVersion}-${ARCHITECTURES[arch].imageSuffix}`;
}

/** The SAM build image, which adds compilers: the documented alternative for sdists. */
export function samBuildImage(runtime: RuntimeName, arch: ArchName): string {
  return `public.ecr.aws/sam/build-${runtime}:latest-${ARCHITECTURES[arch].imageSuffix}`;
}
