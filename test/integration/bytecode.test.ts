/**
 * Bytecode that stays valid on Lambda, and the init-time profile, on real builds: unchecked-hash
 * .pyc compiled by the runtime's interpreter, loaded (not recompiled) from a read-only,
 * fixed-date extraction; reproducible; and per-package import times.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { build, type BuildReport } from '../../src/index.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { rejection } from '../helpers/fake-exec.js';
import { HOST_PYTHON, extractReadOnly, listFiles, runPythonIn, scratchFolders } from '../helpers/lambda.js';

const FUNCTIONS = path.join(ROOT, 'test/fixtures/functions');
const env = { ...process.env, PIP_RETRIES: '0' };
const { scratch, track } = scratchFolders();

async function buildZip(dir: string, options: Parameters<typeof build>[0] = {}) {
  const out = path.join(scratch(), 'function.zip');
  const report = await build({ dir, out, installer: 'local', runtime: 'python3.11', env, ...options });
  const tree = extractReadOnly(out);
  track(tree);
  return { out, report, tree };
}

/** Runs python -v on the tree and counts modules loaded from .pyc, and any rejected as stale. */
function bytecodeUse(tree: string, modules: string) {
  const result = runPythonIn([tree], `import ${modules}`, HOST_PYTHON, ['-v']);
  const loaded = [...result.stderr.matchAll(/^# code object from '([^']+)'$/gm)].map((m) => m[1]!).filter((f) => f.startsWith(tree));
  return { status: result.status, fromPyc: loaded.filter((f) => f.endsWith('.pyc')).length, stale: /bytecode is stale|matches .* \(stale\)|bad magic number/.test(result.stderr), stderr: result.stderr };
}

describe('--bytecode compile (the default when the runtime interpreter is here)', () => {
  let built: Awaited<ReturnType<typeof buildZip>>;
  beforeAll(async () => {
    built = await buildZip(path.join(FUNCTIONS, 'web'));
  });

  it('ships unchecked-hash .pyc for every module, compiled by the runtime interpreter', () => {
    expect(built.report.bytecode).toMatchObject({ mode: 'compile', failed: [] });
    expect(built.report.bytecode.interpreter).toMatch(/python3\.11/);
    const files = listFiles(built.tree);
    const sources = files.filter((f) => f.endsWith('.py'));
    const pycs = files.filter((f) => f.endsWith('.pyc'));
    expect(pycs.length).toBe(sources.length);
    expect(pycs.every((f) => /__pycache__\/[^/]+\.cpython-311\.pyc$/.test(f))).toBe(true);
    for (const pyc of pycs.slice(0, 50)) {
      // PEP 552 header: magic, then flags = 0b01 (hash-based, not checked against the source).
      expect(readFileSync(path.join(built.tree, pyc)).readUInt32LE(4)).toBe(1);
    }
  });

  it('loads that bytecode from a read-only, fixed-date extraction instead of recompiling', () => {
    const use = bytecodeUse(built.tree, 'handler, requests, pydantic, fastapi');
    expect(use.status).toBe(0);
    expect(use.stale).toBe(false);
    expect(use.fromPyc).toBeGreaterThan(100);
    // The extraction's mtimes are all 1980: timestamp .pyc would have been rejected.
    expect(listFiles(built.tree).some((f) => f.includes('__pycache__') && !built.report.bytecode.files)).toBe(false);
  });

  it('stays byte-for-byte reproducible with bytecode in it, whatever the source mtimes', async () => {
    const copy = scratch();
    cpSync(path.join(FUNCTIONS, 'web'), copy, { recursive: true });
    for (const [i, f] of listFiles(copy).entries()) utimesSync(path.join(copy, f), 1_500_000_000 + i * 7_777, 1_600_000_000 - i);
    const again = await buildZip(copy);
    expect(again.report.output.sha256).toBe(built.report.output.sha256);
  });
});

describe('--bytecode only', () => {
  it('ships sourceless bytecode, keeps the sources of packages that read them, and still imports', async () => {
    const { report, tree } = await buildZip(path.join(FUNCTIONS, 'web'), { bytecode: 'only', handler: 'handler.handler' });
    const files = listFiles(tree);
    expect(files.filter((f) => f.startsWith('requests/') && f.endsWith('.py'))).toEqual([]);
    expect(files).toContain('requests/__init__.pyc');
    expect(report.bytecode.keptSources).toEqual(['pydantic']);
    expect(files).toContain('pydantic/main.py');
    expect(files).toContain('handler.py'); // the function's own files keep their sources
    expect(report.rules.find((r) => r.name === 'sourceless')!.files).toBeGreaterThan(20);
    expect(report.warnings.map((w) => w.code)).toContain('SOURCES_REMOVED');
    const result = runPythonIn([tree], 'import handler, requests\nprint(requests.__file__.endswith("__init__.pyc"), handler.handler({"name": "a", "price": 1}, None))');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe("True {'name': 'a', 'price': 1.0}\n");
  });
});

describe('without an interpreter for the runtime', () => {
  it('defaults to no bytecode and says what that costs; asking for it is an error (exit 4)', async () => {
    const dir = path.join(FUNCTIONS, 'boto');
    const { report } = await buildZip(dir, { runtime: 'python3.12', verify: false });
    expect(report.bytecode.mode).toBe('none');
    expect(report.warnings.find((w) => w.code === 'BYTECODE_NONE')!.message).toMatch(/every cold start compiles each module it imports.*--installer docker/);
    expect(listFiles((await buildZip(dir, { runtime: 'python3.12', verify: false })).tree).some((f) => f.endsWith('.pyc'))).toBe(false);
    const error = await rejection(build({ dir, out: path.join(scratch(), 'x.zip'), installer: 'local', runtime: 'python3.12', env, bytecode: 'compile' }));
    expect(error.code).toBe('NO_TARGET_PYTHON');
    expect(error.line).toMatch(/^--bytecode compile needs the runtime's interpreter: no Python 3\.12 on this host/);
  });
});

describe('--profile', () => {
  let pandas: BuildReport;
  beforeAll(async () => {
    pandas = (await buildZip(path.join(FUNCTIONS, 'pandas'), { profile: true, profileRuns: 3 })).report;
  });

  it('shows pandas and numpy as the top init costs', () => {
    const init = pandas.init!;
    expect(init.runs).toBe(3);
    const packages = init.packages.filter((p) => !p.name.startsWith('('));
    expect(packages.slice(0, 2).map((p) => p.name).sort()).toEqual(['numpy', 'pandas']);
    expect(init.modules[0]!.package).toMatch(/^(pandas|numpy|\(stdlib\))$/);
  });

  it('attributes per-package milliseconds that sum to within 15% of the measured total', () => {
    const init = pandas.init!;
    const sum = init.packages.reduce((n, p) => n + p.ms, 0);
    expect(Math.abs(sum - init.totalMs) / init.totalMs).toBeLessThanOrEqual(0.15);
  });

  it('flags a module-level import that only one branch uses, with its cost', async () => {
    const { report } = await buildZip(path.join(FUNCTIONS, 'deferred'), { profile: true, profileRuns: 2, handler: 'handler.handler' });
    const flagged = report.init!.deferrable;
    expect(flagged.map((d) => [d.module, d.package, d.usage])).toEqual([['requests', 'requests', 'some-paths']]);
    expect(flagged[0]!.ms).toBeGreaterThan(0);
  });

  it('pyslim profile works on a zip from another tool (pip install --target + zip -r9)', () => {
    const dir = scratch();
    const target = path.join(dir, 'package');
    mkdirSync(target);
    execFileSync('python3', ['-m', 'pip', 'install', '--quiet', '--target', target, 'requests', 'pydantic'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    cpSync(path.join(FUNCTIONS, 'deferred', 'handler.py'), path.join(target, 'handler.py'));
    execFileSync('zip', ['-q', '-r', '-9', path.join(dir, 'hand.zip'), '.'], { cwd: target });
    const result = runCli(['profile', path.join(dir, 'hand.zip'), '--handler', 'handler.handler', '--installer', 'local', '--runs', '2', '--json', path.join(dir, 'p.json')]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const profile = JSON.parse(readFileSync(path.join(dir, 'p.json'), 'utf8'));
    expect(profile.runtime).toBe('python3.11'); // read from the zip's cpython-311 bytecode
    expect(profile.packages.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['requests', 'pydantic', 'pydantic_core', 'urllib3']));
    expect(result.stdout).toMatch(/requests \(requests, \d+ ms\): used only inside conditional branches/);
  });
});
