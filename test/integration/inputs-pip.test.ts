/**
 * The resolved text of the lockfile fixtures, handed to the real pip with --require-hashes: the
 * locked versions install from the configured index, and nothing from the dev group does.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execSubprocess } from '../../src/exec.js';
import { localPipArgs, targetMarkers } from '../../src/installers/local.js';
import { resolveDependencyInput } from '../../src/inputs/resolve.js';
import type { ResolvedInput } from '../../src/inputs/types.js';
import { ROOT } from '../helpers/cli.js';
import { HOST_PYTHON, tempDir } from '../helpers/lambda.js';

const LOCKS = path.join(ROOT, 'test/fixtures/lockfiles');
// The index on this machine carries charset-normalizer for CPython 3.11 only.
const RUNTIME = 'python3.11';
const ARCH = 'x86_64';
const env = { ...process.env, PIP_RETRIES: '0', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' };
const scratch: string[] = [];
afterAll(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Installs requirementsText the way the local installer will: for the target, hashes required, no resolution. */
async function pipInstall(text: string) {
  const dir = tempDir('pyslim-inputs-pip-');
  scratch.push(dir);
  const file = path.join(dir, 'requirements.txt');
  writeFileSync(file, text);
  const target = path.join(dir, 'target');
  const result = await execSubprocess(HOST_PYTHON, ['-m', 'pip', ...localPipArgs(RUNTIME, ARCH, target), '--no-deps', '--require-hashes', '-r', file], { env });
  const installed =
    result.exitCode === 0
      ? readdirSync(target)
          .map((entry) => /^(.+)-([^-]+)\.dist-info$/.exec(entry))
          .filter((m): m is RegExpExecArray => m !== null)
          .map((m) => `${m[1]!.toLowerCase().replace(/[-_.]+/g, '-')}==${m[2]}`)
          .sort()
      : [];
  return { result, installed, target };
}

async function resolveFixture(fixture: string): Promise<ResolvedInput> {
  const input = await resolveDependencyInput({ dir: path.join(LOCKS, fixture), markerEnv: targetMarkers(RUNTIME, ARCH) });
  if (!input) throw new Error(`nothing to resolve in ${fixture}`);
  return input;
}

describe.each(['uv-app', 'poetry-app', 'poetry2-app'])('%s installs with pip --require-hashes', (fixture) => {
  it('installs exactly the locked runtime set', async () => {
    const input = await resolveFixture(fixture);
    expect(input.requireHashes).toBe(true);
    const { result, installed, target } = await pipInstall(input.requirementsText);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(installed).toEqual(input.pins.map((p) => `${p.name}==${p.version}`).sort());
    expect(installed).toContain('requests==2.34.2');
    const entries = readdirSync(target);
    for (const dev of ['pytest', '_pytest', 'pluggy', 'iniconfig', 'pygments']) expect(entries).not.toContain(dev);
  });
});

describe('hash checking', () => {
  it('makes pip refuse a file whose hash the lock does not list', async () => {
    const input = await resolveFixture('uv-app');
    const tampered = input.requirementsText.replace(/(idna==3\.20 --hash=sha256:)[0-9a-f]{64}/, `$1${'0'.repeat(64)}`);
    const { result } = await pipInstall(tampered);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/DO NOT MATCH THE HASHES/);
  });
});
