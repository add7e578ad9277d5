/**
 * Monorepos and real projects: a config with several functions, lockfile and pyproject inputs,
 * local path packages, and layers, on real builds.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../src/index.js';
import { EXAMPLES, ROOT, runCli } from '../helpers/cli.js';
import { rejection } from '../helpers/fake-exec.js';
import { extractReadOnly, listFiles, runPythonIn, scratchFolders } from '../helpers/lambda.js';

const env = { ...process.env, PIP_RETRIES: '0' };
const { scratch, track } = scratchFolders();
const LOCKFILES = path.join(ROOT, 'test/fixtures/lockfiles');

describe('a config with three functions (the npm workspace example)', () => {
  let root: string;
  let run: ReturnType<typeof runCli>;
  let summary: { ok: boolean; functions: { name: string; runtime: string; arch: string; cache: string; sharedWith: string | null; withinBudget: boolean; report: string }[] };
  beforeAll(() => {
    root = path.join(scratch(), 'monorepo');
    cpSync(path.join(EXAMPLES, 'monorepo'), root, { recursive: true });
    run = runCli(['build', '--installer', 'local', '--cache-dir', path.join(root, '.cache'), '--json', 'dist/reports.json'], { cwd: root });
    summary = JSON.parse(readFileSync(path.join(root, 'dist/reports.json'), 'utf8'));
  });

  it('builds all three with one command, each with its runtime, arch and budget', () => {
    expect(run.status).toBe(0);
    expect(summary.ok).toBe(true);
    expect(summary.functions.map((f) => [f.name, f.runtime, f.arch, f.withinBudget])).toEqual([
      ['api', 'python3.11', 'x86_64', true],
      ['worker', 'python3.11', 'x86_64', true],
      ['report', 'python3.12', 'arm64', true],
    ]);
    expect(run.stdout).toMatch(/^worker\s+python3\.11\s+x86_64\s+.*shared with api \(installed once\)$/m);
  });

  it('installs the dependencies api and worker share once, and says so', () => {
    const byName = Object.fromEntries(summary.functions.map((f) => [f.name, f]));
    expect(byName.api).toMatchObject({ cache: 'miss', sharedWith: null });
    expect(byName.worker).toMatchObject({ cache: 'hit', sharedWith: 'api' });
    const worker = JSON.parse(readFileSync(byName.worker!.report, 'utf8'));
    expect(worker.timings.install).toBeUndefined();
    expect(worker.cache.stages.install).toBe('hit');
  });

  it('writes one report per function plus the summary, and each zip imports', () => {
    for (const f of summary.functions) {
      const report = JSON.parse(readFileSync(f.report, 'utf8'));
      expect(report.output.path).toBe(path.join(root, 'dist', `${f.name}.zip`));
      expect(report.budget.limitBytes).toBe({ api: 10e6, worker: 8e6, report: 5e6 }[f.name]);
    }
    for (const name of ['api', 'worker', 'report']) {
      const tree = extractReadOnly(path.join(root, 'dist', `${name}.zip`));
      track(tree);
      const result = runPythonIn([tree], 'import handler; print("ok")');
      expect(result.stderr).toBe('');
    }
    const reportTree = extractReadOnly(path.join(root, 'dist/report.zip'));
    track(reportTree);
    expect(listFiles(reportTree).some((f) => f.startsWith('botocore/data/ec2/'))).toBe(false);
  });

  it('builds only the named functions; flags win over the function entry, which wins over defaults', () => {
    const one = runCli(['build', 'api', '--installer', 'local', '--cache-dir', path.join(root, '.cache'), '--prune', 'aggressive', '--json', 'dist/one.json'], { cwd: root });
    expect(one.status).toBe(0);
    const only = JSON.parse(readFileSync(path.join(root, 'dist/one.json'), 'utf8'));
    expect(only.functions.map((f: { name: string }) => f.name)).toEqual(['api']);
    const api = JSON.parse(readFileSync(only.functions[0].report, 'utf8'));
    // --prune from the command line over defaults.prune; runtime and budget from the function and defaults.
    expect([api.profile, api.runtime, api.budget.limitBytes]).toEqual(['aggressive', 'python3.11', 10e6]);
    const unknown = runCli(['build', 'apii'], { cwd: root });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe('error: unknown function "apii" in pyslim.config.json. Use one of api, worker, report (did you mean "api"?)\n');
  });
});

describe('config errors name the file, the key and the fix (exit 2)', () => {
  it.each([
    [{ functions: { api: { runtim: 'python3.12' } } }, 'error: pyslim.config.json: functions.api.runtim is not a known key. Did you mean "runtime"?'],
    [{ functions: { api: { runtime: 'python3.8' } } }, 'error: pyslim.config.json: functions.api.runtime is "python3.8", which is not allowed. Use one of python3.9, python3.10, python3.11, python3.12, python3.13, python3.14.'],
    [{ functions: { api: { budget: 'ten megs' } } }, 'error: pyslim.config.json: functions.api.budget must be a size, not "ten megs". e.g. "20MB", "50MiB" or 3000000'],
    [{ defaults: { prune: 'max' }, functions: { api: {} } }, 'error: pyslim.config.json: defaults.prune is "max", which is not allowed. Use one of none, safe, aggressive'],
    [{ function: { api: {} } }, 'error: pyslim.config.json: function is not a known key. Did you mean "functions"?'],
    [{ functions: { api: { exclude: 5 } } }, 'error: pyslim.config.json: functions.api.exclude must be a list of strings, not 5. e.g. ["s3", "dynamodb"]'],
  ])('%j', (config, message) => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'pyslim.config.json'), JSON.stringify(config));
    const result = runCli(['build'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`${message}\n`);
  });

  it('reads a "pyslim" key in package.json, and names package.json in errors', () => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'x', pyslim: { functions: { api: { handlr: 'a.b' } } } }));
    const result = runCli(['build'], { cwd: dir });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('error: package.json: pyslim.functions.api.handlr is not a known key. Did you mean "handler"?\n');
  });
});

describe('dependency inputs, read without their tools', () => {
  const buildFixture = async (name: string, options: Parameters<typeof build>[0] = {}) => {
    const dir = path.join(scratch(), name);
    cpSync(path.join(LOCKFILES, name), dir, { recursive: true });
    const report = await build({ dir, out: path.join(scratch(), 'f.zip'), runtime: 'python3.11', installer: 'local', env, cache: false, ...options });
    const tree = extractReadOnly(report.output.path);
    track(tree);
    return { report, tree };
  };

  it.each(['uv-app', 'poetry-app', 'poetry2-app'])('%s: installs the locked versions with their hashes, without the dev group', async (name) => {
    const { report, tree } = await buildFixture(name);
    expect(report.input).toMatchObject({ kind: name.startsWith('uv') ? 'uv.lock' : 'poetry.lock', requireHashes: true });
    const versions = Object.fromEntries(report.packages.map((p) => [p.name.toLowerCase(), p.version]));
    for (const pin of report.input!.resolved) {
      const [pkg, version] = pin.split('==');
      expect(versions[pkg!.replace(/_/g, '-')] ?? versions[pkg!]).toBe(version);
    }
    expect(Object.keys(versions)).toContain('requests');
    expect(Object.keys(versions)).not.toContain('pytest');
    expect(listFiles(tree).some((f) => f.startsWith('pytest') || f.startsWith('_pytest'))).toBe(false);
    expect(runPythonIn([tree], 'import requests; print(requests.__version__)').stderr).toBe('');
  });

  it('pyproject.toml alone: PEP 621 dependencies, optional groups on request', async () => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'pyproject.toml'), '[project]\nname = "app"\nversion = "1"\ndependencies = ["six"]\n\n[project.optional-dependencies]\nnet = ["idna"]\n');
    const plain = await build({ dir, out: path.join(scratch(), 'a.zip'), runtime: 'python3.11', installer: 'local', env, cache: false });
    expect(plain.packages.map((p) => p.name)).toEqual(['six']);
    const withNet = await build({ dir, out: path.join(scratch(), 'b.zip'), runtime: 'python3.11', installer: 'local', env, cache: false, groups: ['net'] });
    expect(withNet.packages.map((p) => p.name).sort()).toEqual(['idna', 'six']);
  });

  it('builds local path packages into the zip instead of dropping them', async () => {
    const dir = scratch();
    mkdirSync(path.join(dir, 'lib/mylib'), { recursive: true });
    writeFileSync(path.join(dir, 'lib/pyproject.toml'), '[build-system]\nrequires = ["flit_core>=3.2"]\nbuild-backend = "flit_core.buildapi"\n\n[project]\nname = "mylib"\nversion = "0.1.0"\ndescription = "x"\n');
    writeFileSync(path.join(dir, 'lib/mylib/__init__.py'), 'VALUE = 42\n');
    writeFileSync(path.join(dir, 'requirements.txt'), 'six\n-e ./lib\n');
    writeFileSync(path.join(dir, 'handler.py'), 'import mylib\n');
    const report = await build({ dir, out: path.join(scratch(), 'l.zip'), runtime: 'python3.11', installer: 'local', env, cache: false, handler: 'handler.handler', verifySkip: [] }).catch((e) => e);
    // The handler has no function: the check fails on that, after mylib imported fine.
    expect(String(report.line ?? '')).toMatch(/handler.*has no function 'handler'/);
    const ok = await build({ dir, out: path.join(scratch(), 'l.zip'), runtime: 'python3.11', installer: 'local', env, cache: false });
    expect(ok.packages.map((p) => p.name).sort()).toEqual(['mylib', 'six']);
    expect(ok.input!.localPaths).toEqual([path.join(dir, 'lib')]);
    const tree = extractReadOnly(ok.output.path);
    track(tree);
    expect(runPythonIn([tree], 'import mylib; print(mylib.VALUE)').stdout).toBe('42\n');
    expect(existsSync(path.join(dir, 'lib/build'))).toBe(false); // the user's folder is untouched
  });

  it('refuses a VCS dependency under the local installer, clearly', async () => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'requirements.txt'), 'six\nmylib @ git+https://example.com/org/mylib.git@v1\n');
    const error = await rejection(build({ dir, out: path.join(scratch(), 'v.zip'), runtime: 'python3.11', installer: 'local', env }));
    expect(error.code).toBe('UNSUPPORTED_INPUT');
    expect(error.line).toMatch(/requirements\.txt:2: mylib comes from version control \(git\+https:\/\/example\.com\/org\/mylib\.git@v1\), which the local installer cannot build\. Use the container installer/);
  });
});

describe('layers', () => {
  it('a pandas layer, and a function built --with-layer it, import together as on Lambda', async () => {
    const layerDir = scratch();
    writeFileSync(path.join(layerDir, 'requirements.txt'), 'pandas\n');
    const layer = await build({ dir: layerDir, out: path.join(scratch(), 'layer.zip'), runtime: 'python3.11', installer: 'local', env, layer: true });
    expect(layer.layer).toBe(true);
    const layerTree = extractReadOnly(layer.output.path);
    track(layerTree);
    const layerFiles = listFiles(layerTree);
    expect(layerFiles.every((f) => f.startsWith('python/'))).toBe(true);
    expect(layerFiles).toContain('python/pandas/__init__.py');

    const fnDir = scratch();
    cpSync(path.join(ROOT, 'test/fixtures/functions/pandas'), fnDir, { recursive: true });
    const fn = await build({ dir: fnDir, out: path.join(scratch(), 'fn.zip'), runtime: 'python3.11', installer: 'local', env, withLayers: [layer.output.path], handler: 'handler.handler' });
    expect(fn.botoServices).toBeNull();
    expect(fn.withLayers[0]!.provides.sort()).toEqual(['numpy', 'pandas', 'python-dateutil', 'six']);
    const fnTree = extractReadOnly(fn.output.path);
    track(fnTree);
    expect(listFiles(fnTree).filter((f) => /^(pandas|numpy)/.test(f))).toEqual([]);
    // Lambda's order: /var/task, then /opt/python.
    const result = runPythonIn([fnTree, path.join(layerTree, 'python')], 'import handler\nprint(handler.handler({}, None))');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe("{'sum': 285, 'mean': 4.5}\n");
    // The 250 MiB check counts the layer too.
    const check = fn.budgets.checks.find((c) => c.kind === 'lambda-unzipped')!;
    expect(check.actualBytes).toBe(fn.output.unzippedBytes + fn.withLayers[0]!.unzippedBytes);
  });

  it('warns when the layer provides another version than the requirements ask for', async () => {
    const layerDir = scratch();
    writeFileSync(path.join(layerDir, 'requirements.txt'), 'pydantic-core==2.46.5\n');
    const layer = await build({ dir: layerDir, out: path.join(scratch(), 'core-layer.zip'), runtime: 'python3.11', installer: 'local', env, layer: true });
    const fnDir = scratch();
    writeFileSync(path.join(fnDir, 'requirements.txt'), 'pydantic-core==2.49.0\n');
    const fn = await build({ dir: fnDir, out: path.join(scratch(), 'fn.zip'), runtime: 'python3.11', installer: 'local', env, withLayers: [layer.output.path] });
    expect(fn.warnings.find((w) => w.code === 'VERSION_MISMATCH')!.message).toBe(
      'pydantic_core 2.49.0 is required, but the layer core-layer.zip provides 2.46.5, which Lambda will load instead',
    );
    expect(fn.packages.map((p) => [p.name, p.filesAfter])).toEqual([
      ['pydantic_core', 0],
      ['typing_extensions', 0],
    ]);
  });
});
