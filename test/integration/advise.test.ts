/**
 * The cold-start advisor on real builds and real zips: init per memory setting under a real
 * cgroup CPU quota (ordering only, no thresholds), the estimate path when no quota applies, the
 * function's own statements by file:line, the checks on fixtures written for them
 * (test/fixtures/functions/advise), and bad input: a missing handler, a raise and a hang at import.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { doctorZip } from '../../src/advisor/advise-zip.js';
import { CGROUP_ROOTS } from '../../src/advisor/quota.js';
import { build, type BuildReport } from '../../src/index.js';
import type { Advice } from '../../src/model/report.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { scratchFolders } from '../helpers/lambda.js';
import { makeTaggedWheel, makeWheel } from '../helpers/wheels.js';

const FUNCTIONS = path.join(ROOT, 'test/fixtures/functions');
const env = { ...process.env, PIP_RETRIES: '0' };
const { scratch } = scratchFolders();

/** A zip of these top-level files, written by Info-ZIP (not pyslim). */
function zipOf(files: Record<string, string>): string {
  const dir = scratch();
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  execFileSync('zip', ['-q', 'function.zip', ...Object.keys(files)], { cwd: dir });
  return path.join(dir, 'function.zip');
}

/** This process's cgroups still in the hierarchy (the advisor names them pyslim-<pid>-<n>). */
function leftoverCgroups(): string[] {
  return Object.values(CGROUP_ROOTS).flatMap((root) => {
    try {
      return readdirSync(root).filter((name) => name.startsWith('pyslim-'));
    } catch {
      return []; // this hierarchy is not mounted here
    }
  });
}

describe('build --advise on a function with every hazard the checks look for', () => {
  let report: BuildReport;
  let advice: Advice;
  beforeAll(async () => {
    const out = path.join(scratch(), 'function.zip');
    report = await build({ dir: path.join(FUNCTIONS, 'advise'), out, installer: 'local', runtime: 'python3.11', env, advise: true, adviseMemory: [1769], adviseRuns: 1 });
    advice = report.advice!;
  });

  const finding = (code: string) => advice.findings.filter((f) => f.code === code);

  it('reports a boto3 client built in the handler body, with file:line and the fix', () => {
    expect(finding('SDK_CLIENT_IN_HANDLER')).toEqual([expect.objectContaining({ file: 'handler.py', line: 15, subject: 'boto3.client', statement: 's3 = boto3.client("s3")  # built on every invocation' })]);
    expect(finding('SDK_CLIENT_IN_HANDLER')[0]!.fix).toMatch(/module level/);
  });

  it('reports the module-level requests.get outside try/except in the helper that makes it', () => {
    expect(finding('NETWORK_AT_INIT')).toEqual([expect.objectContaining({ file: 'settings.py', line: 8, subject: 'requests.get' })]);
  });

  it('reports random seeded at import as a SnapStart hazard with the after-restore hook, and that python3.11 has no SnapStart', () => {
    expect(finding('SNAPSTART_RANDOM')).toEqual([expect.objectContaining({ file: 'handler.py', line: 11, subject: 'random.seed' })]);
    expect(finding('SNAPSTART_RANDOM')[0]!.fix).toMatch(/register_after_restore/);
    expect(advice.snapStart).toEqual({ supported: false, blockers: [expect.stringMatching(/python3\.11 is older than python3\.12/)] });
  });

  it('reports pandas, measured as heavy, imported at init for one branch only', () => {
    const [pandas] = finding('IMPORT_ON_ONE_BRANCH');
    expect(pandas).toMatchObject({ file: 'handler.py', line: 6, subject: 'pandas' });
    expect(pandas!.ms).toBeGreaterThan(0);
    // json is used on every call; boto3 on every call: neither is reported.
    expect(finding('IMPORT_ON_ONE_BRANCH').map((f) => f.subject)).toEqual(['pandas']);
  });

  it("reports the helper's pydantic import that only an uncalled function uses", () => {
    expect(finding('HELPER_IMPORT_UNUSED')).toEqual([expect.objectContaining({ file: 'textutil.py', line: 2, subject: 'pydantic' })]);
  });

  it("times the function's own top-level statements, with file:line and text, the helpers' lines included", () => {
    const pandas = advice.statements.find((s) => s.file === 'handler.py' && s.line === 6);
    expect(pandas).toMatchObject({ statement: 'import pandas as pd' });
    expect(advice.statements.some((s) => s.file === 'textutil.py' && s.statement === 'from pydantic import BaseModel')).toBe(true);
    // import settings runs settings.py's own timed lines: its self time leaves them out.
    const importSettings = advice.statements.find((s) => s.statement === 'import settings');
    if (importSettings) expect(importSettings.selfMs).toBeLessThanOrEqual(importSettings.ms);
    expect(advice.statements[0]!.selfMs).toBeGreaterThanOrEqual(advice.statements.at(-1)!.selfMs);
  });

  it('prices the measured init at 1,769 MB and recommends it', () => {
    const [m] = advice.memory;
    expect(m).toMatchObject({ memoryMb: 1769, vcpu: 1, estimated: false });
    expect(m!.usdPerMillion).toBeCloseTo((1769 / 1024) * (Math.ceil(m!.initMs!) / 1000) * 0.0000166667 * 1e6, 1);
    expect(advice.recommendation?.memoryMb).toBe(1769);
    expect(report.warnings.map((w) => w.code)).not.toContain('SNAPSTART_RANDOM'); // findings are advice, not warnings
  });
});

describe('pyslim doctor <zip> under a real CPU quota', () => {
  const stdlibZip = () => zipOf({ 'handler.py': execFileSync('cat', [path.join(FUNCTIONS, 'stdlib-init', 'handler.py')], { encoding: 'utf8' }) });

  it("is slower at the 128 MB share than at 1,769 MB, and leaves no cgroup behind", async () => {
    const advice = await doctorZip({ zip: stdlibZip(), installer: 'local', runtime: 'python3.11', memory: [128, 1769], runs: 1, env });
    expect(advice.quota).toEqual({ method: expect.stringMatching(/^cgroup-v[12]$/), note: null });
    const [small, full] = advice.memory;
    expect(small!.estimated).toBe(false);
    expect(small!.initMs!).toBeGreaterThan(full!.initMs!);
    expect(advice.statements.map((s) => `${s.file}:${s.line}`)).toContain('handler.py:9');
    expect(leftoverCgroups().filter((name) => name.startsWith(`pyslim-${process.pid}-`))).toEqual([]);
  });

  it('says in one line when no quota can be applied, and labels every figure an estimate', async () => {
    const nowhere = path.join(scratch(), 'no-cgroups');
    const advice = await doctorZip({ zip: stdlibZip(), installer: 'local', runtime: 'python3.11', memory: [128, 1769], runs: 1, env, cgroupRoots: { v2: nowhere, v1: nowhere } });
    expect(advice.quota.method).toBeNull();
    expect(advice.quota.note).toMatch(/no CPU quota could be applied.*estimates/);
    expect(advice.memory.every((m) => m.estimated && m.samplesMs.length === 0)).toBe(true);
    expect(advice.memory[0]!.initMs).toBeCloseTo((advice.hostInitMs * 1769) / 128, 0);
  });
});

describe('arm64 readiness of an x86_64 zip, against wheels in a local find-links folder', () => {
  it('lists the distributions with no arm64 wheel of the same version within the runtime glibc', async () => {
    const links = scratch();
    makeWheel(links, 'purelib', '1.0');
    makeTaggedWheel(links, 'fastlib', '1.0', 'cp311-cp311-manylinux_2_17_aarch64'); // ready
    makeTaggedWheel(links, 'slowlib', '2.0', 'cp311-cp311-manylinux_2_17_x86_64'); // x86_64 only
    makeTaggedWheel(links, 'newlib', '3.0', 'cp311-cp311-manylinux_2_35_aarch64'); // needs glibc 2.35; python3.11 has 2.26
    const wheelFiles = (name: string, version: string, tag: string) => ({
      [`${name}-${version}.dist-info/METADATA`]: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n\n`,
      [`${name}-${version}.dist-info/WHEEL`]: `Wheel-Version: 1.0\nRoot-Is-Purelib: ${tag.endsWith('none-any')}\nTag: ${tag}\n`,
    });
    const dir = scratch();
    const files: Record<string, string> = {
      'handler.py': 'def handler(event, context):\n    return {}\n',
      ...wheelFiles('purelib', '1.0', 'py3-none-any'),
      ...wheelFiles('fastlib', '1.0', 'cp311-cp311-manylinux_2_17_x86_64'),
      ...wheelFiles('slowlib', '2.0', 'cp311-cp311-manylinux_2_17_x86_64'),
      ...wheelFiles('newlib', '3.0', 'cp311-cp311-manylinux_2_17_x86_64'),
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), text);
    }
    execFileSync('zip', ['-q', '-r', 'function.zip', '.'], { cwd: dir });
    const advice = await doctorZip({ zip: path.join(dir, 'function.zip'), installer: 'local', runtime: 'python3.11', memory: [1769], runs: 1, env, findLinks: [links] });
    expect(advice.arm64).toMatchObject({ ready: false, distributions: 4, pure: 1, note: null });
    expect(advice.arm64!.missing.map((m) => `${m.name}==${m.version}`).sort()).toEqual(['newlib==3.0', 'slowlib==2.0']);
  });
});

describe('pyslim doctor on bad input', () => {
  const doctor = (zip: string, ...args: string[]) => runCli(['doctor', zip, '--installer', 'local', '--runtime', 'python3.11', '--memory', '1769', '--runs', '1', ...args]);

  it('findings never change the exit code, unless --strict', () => {
    const zip = zipOf({ 'handler.py': 'import random\nrandom.seed(7)\n\ndef handler(e, c):\n    return random.random()\n' });
    const plain = doctor(zip, '--format', 'json');
    expect(plain.status).toBe(0);
    expect(JSON.parse(plain.stdout).findings).toEqual([expect.objectContaining({ code: 'SNAPSTART_RANDOM', file: 'handler.py', line: 2 })]);
    expect(doctor(zip, '--strict', '-q').status).toBe(5);
  });

  it('a zip without the handler: one line, exit 2', () => {
    const result = doctor(zipOf({ 'other.py': 'x = 1\n' }), '--handler', 'handler.handler');
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe("error: the handler module handler is not in the zip. Check --handler (module.function, the module at the zip's top level)");
  });

  it('a handler that raises at import: one line naming the error and where, exit 1', () => {
    const result = doctor(zipOf({ 'handler.py': 'import os\nraise RuntimeError("no TABLE_NAME")\n\ndef handler(e, c):\n    pass\n' }));
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: importing handler raised RuntimeError: no TABLE_NAME \(handler\.py:2\)\. Fix the error at import/)]);
  });

  it('a handler that hangs at import: stopped at --timeout, one line, exit 1, no process left', () => {
    const marker = `hang${process.pid}`;
    const result = doctor(zipOf({ 'handler.py': `import time\n${marker} = 1\ntime.sleep(600)\n\ndef handler(e, c):\n    pass\n` }), '--timeout', '1');
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toMatch(/^error: importing handler did not finish within 1 s \(it was stopped\)\. Look for a loop/);
    // The interpreter ran from an extraction of this zip; none of its processes is still there.
    expect(spawnSync('pgrep', ['-f', 'advise.py measure']).stdout.toString().trim()).toBe('');
  });
});
