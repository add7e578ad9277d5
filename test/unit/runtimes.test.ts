import { describe, expect, it } from 'vitest';
import { RUNTIMES, lambdaImage, manylinuxTags, samBuildImage } from '../../src/runtimes.js';

describe('manylinuxTags', () => {
  it.each([
    ['python3.9', 'x86_64', 'manylinux_2_26_x86_64', 'manylinux1_x86_64', 22 + 3],
    ['python3.11', 'x86_64', 'manylinux_2_26_x86_64', 'manylinux1_x86_64', 22 + 3],
    ['python3.12', 'x86_64', 'manylinux_2_34_x86_64', 'manylinux1_x86_64', 30 + 3],
    ['python3.11', 'arm64', 'manylinux_2_26_aarch64', 'manylinux2014_aarch64', 10 + 1],
    ['python3.14', 'arm64', 'manylinux_2_34_aarch64', 'manylinux2014_aarch64', 18 + 1],
  ] as const)('%s %s: from %s down to %s (%i tags)', (runtime, arch, first, last, count) => {
    const tags = manylinuxTags(runtime, arch);
    expect(tags[0]).toBe(first);
    expect(tags.at(-1)).toBe(last);
    expect(tags).toHaveLength(count);
    expect(new Set(tags).size).toBe(tags.length);
  });

  it('never offers a tag above the runtime glibc (the python3.11 trap: manylinux_2_28 wheels need glibc 2.28)', () => {
    const tags = manylinuxTags('python3.11', 'x86_64');
    expect(tags).not.toContain('manylinux_2_27_x86_64');
    expect(tags).not.toContain('manylinux_2_28_x86_64');
    expect(tags).toContain('manylinux_2_24_x86_64');
  });

  it('lists the legacy aliases beside their glibc, because pip takes each --platform literally', () => {
    const tags = manylinuxTags('python3.12', 'x86_64');
    expect(tags.indexOf('manylinux2014_x86_64')).toBe(tags.indexOf('manylinux_2_17_x86_64') + 1);
    expect(tags.indexOf('manylinux2010_x86_64')).toBe(tags.indexOf('manylinux_2_12_x86_64') + 1);
    expect(tags.indexOf('manylinux1_x86_64')).toBe(tags.indexOf('manylinux_2_5_x86_64') + 1);
  });

  it('has no pre-2014 tags for arm64, which no older manylinux standard covered', () => {
    const tags = manylinuxTags('python3.12', 'arm64');
    expect(tags.every((t) => t.endsWith('_aarch64'))).toBe(true);
    expect(tags.some((t) => t.startsWith('manylinux1') || t.startsWith('manylinux2010'))).toBe(false);
    expect(tags).not.toContain('manylinux_2_16_aarch64');
  });

  it('can lift the cap for diagnostics', () => {
    expect(manylinuxTags('python3.11', 'x86_64', '2.50')[0]).toBe('manylinux_2_50_x86_64');
  });
});

describe('runtime table', () => {
  it.each(Object.entries(RUNTIMES))('%s maps to its OS glibc', (name, info) => {
    const minor = Number(info.pythonVersion.split('.')[1]);
    expect(info.glibc).toBe(minor <= 11 ? '2.26' : '2.34');
    expect(name).toBe(`python${info.pythonVersion}`);
  });

  it('names the Lambda and SAM images per architecture', () => {
    expect(lambdaImage('python3.12', 'arm64')).toBe('public.ecr.aws/lambda/python:3.12-arm64');
    expect(lambdaImage('python3.9', 'x86_64')).toBe('public.ecr.aws/lambda/python:3.9-x86_64');
    expect(samBuildImage('python3.13', 'arm64')).toBe('public.ecr.aws/sam/build-python3.13:latest-arm64');
  });
});
