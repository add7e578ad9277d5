import { describe, expect, it } from 'vitest';
import type { ExecResult } from '../../src/exec.js';
import { diagnosePipFailure, unsatisfiedRequirement, wheelGlibc } from '../../src/installers/pip-diagnose.js';

const failed = (stderr: string, exitCode = 1): ExecResult => ({
  command: 'python3',
  args: [],
  exitCode,
  signal: undefined,
  stdout: '',
  stderr,
  timedOut: false,
  cancelled: false,
  spawnError: undefined,
});

// Real pip 23.2 output for `numpy==2.4.6` under --python-version 3.11 and glibc ≤ 2.26 tags.
const NO_WHEEL = `Looking in indexes: https://user:hunter2@pypi.corp/simple, file:///opt/pypi/simple
ERROR: Could not find a version that satisfies the requirement numpy==2.4.6 (from versions: none)
ERROR: No matching distribution found for numpy==2.4.6`;

describe('pip failure diagnosis', () => {
  it('reads the requirement pip could not satisfy', () => {
    expect(unsatisfiedRequirement(NO_WHEEL)).toEqual({ requirement: 'numpy==2.4.6', versions: 'none' });
    expect(unsatisfiedRequirement('ERROR: Could not find a version that satisfies the requirement numpy>=2 (from pandas) (from versions: 1.26.4)')).toEqual({
      requirement: 'numpy>=2 (from pandas)',
      versions: '1.26.4',
    });
  });

  it.each([
    ['numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl', '2.27'],
    ['pydantic_core-2.46.5-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl', '2.17'],
    ['x-1.0-cp39-cp39-manylinux2010_x86_64.whl', '2.12'],
    ['x-1.0-py3-none-any.whl', undefined],
  ])('wheelGlibc(%s) = %s', (name, glibc) => {
    expect(wheelGlibc(name)).toBe(glibc);
  });

  it('names the package, runtime, glibc, arch and what to do when only a newer-glibc wheel exists', async () => {
    const error = await diagnosePipFailure(failed(NO_WHEEL), {
      runtime: 'python3.11',
      arch: 'x86_64',
      installer: 'local',
      probeNewerGlibc: async () => 'numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl',
    });
    expect(error.code).toBe('NO_COMPATIBLE_WHEEL');
    expect(error.line).toMatch(/numpy==2\.4\.6 has no wheel for python3\.11 on x86_64 \(glibc 2\.26\).*needs glibc 2\.27/);
    expect(error.line).toMatch(/--installer docker/);
    expect(error.line).not.toContain('\n');
    expect(error.details).toContain('No matching distribution');
    expect(error.details).not.toContain('hunter2');
  });

  it('says when no wheel fits at all', async () => {
    const error = await diagnosePipFailure(failed(NO_WHEEL.replace(/numpy==2\.4\.6/g, 'nosuchpkg')), {
      runtime: 'python3.12',
      arch: 'arm64',
      installer: 'local',
      probeNewerGlibc: async () => undefined,
    });
    expect(error.code).toBe('NO_COMPATIBLE_WHEEL');
    expect(error.line).toMatch(/no wheel of nosuchpkg fits python3\.12 on arm64 \(glibc 2\.34\)/);
    expect(error.distribution).toBe('nosuchpkg');
  });

  it('explains dependency conflicts', async () => {
    const stderr = `ERROR: Cannot install a==1 and b==2 because these package versions have conflicting dependencies.

The conflict is caused by:
    a 1 depends on c<2
    b 2 depends on c>=2

To fix this you could try to:`;
    const error = await diagnosePipFailure(failed(stderr), { runtime: 'python3.12', arch: 'x86_64', installer: 'local' });
    expect(error.code).toBe('UNRESOLVABLE');
    expect(error.line).toContain('a 1 depends on c<2 b 2 depends on c>=2');
  });

  it('falls back to pip\'s last error line, masked', async () => {
    const error = await diagnosePipFailure(failed('ERROR: Could not install packages due to an OSError: https://u:p@h/x'), {
      runtime: 'python3.12',
      arch: 'x86_64',
      installer: 'local',
    });
    expect(error.code).toBe('PIP_FAILED');
    expect(error.line).toContain('https://****@h/x');
    expect(error.line).not.toContain('u:p@');
  });
});
