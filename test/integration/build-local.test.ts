/**
 * Real builds with the local installer: real pip, real wheels from the configured index, real
 * zips extracted read-only and imported as on Lambda.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, type BuildReport } from '../../src/index.js';
import { readZipEntries } from '../../src/zip-reader.js';
import { ROOT } from '../helpers/cli.js';
import { isSharedObject, readNativeFacts } from '../helpers/elf.js';
import { extractReadOnly, listFiles, removeTree, runPythonIn, sha256, tempDir } from '../helpers/lambda.js';

const FUNCTIONS = path.join(ROOT, 'test/fixtures/functions');
const env = { ...process.env, PIP_RETRIES: '0' };
const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeTree));

async function buildFunction(name: string, options: Parameters<typeof build>[0] = {}) {
  const out = path.join(tempDir(), `${name}.zip`);
  cleanup.push(path.dirname(out));
  const report = await build({ dir: path.join(FUNCTIONS, name), out, installer: 'local', env, ...options });
  const tree = extractReadOnly(out);
  cleanup.push(tree);
  return { out, report, tree };
}

const names = (report: BuildReport) => report.packages.map((p) => p.name.toLowerCase().replace(/_/g, '-')).sort();

describe('boto3 for python3.12 on arm64', () => {
  let built: Awaited<ReturnType<typeof buildFunction>>;
  beforeAll(async () => {
    built = await buildFunction('boto', { runtime: 'python3.12', arch: 'arm64' });
  });

  it('installs the boto3 set and reports each package', () => {
    expect(built.report).toMatchObject({ runtime: 'python3.12', arch: 'arm64', installer: 'local' });
    expect(names(built.report)).toEqual(['boto3', 'botocore', 'jmespath', 'python-dateutil', 's3transfer', 'six', 'urllib3']);
    for (const p of built.report.packages) {
      expect(p.version).toMatch(/^\d/);
      expect(p.bytesAfter).toBeLessThanOrEqual(p.bytesBefore);
    }
  });

  it('imports and creates a client from a read-only extraction', () => {
    const result = runPythonIn(
      [built.tree],
      'import handler, boto3\nprint(boto3.__version__, type(handler._s3).__name__)',
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+ S3\n$/);
    expect(listFiles(built.tree).some((f) => f.includes('__pycache__'))).toBe(false);
  });

  it('ships no native code for the wrong architecture (boto3 is pure Python)', () => {
    expect(listFiles(built.tree).filter(isSharedObject)).toEqual([]);
  });
});

describe('requests + pydantic + fastapi for python3.11 on x86_64', () => {
  let built: Awaited<ReturnType<typeof buildFunction>>;
  beforeAll(async () => {
    built = await buildFunction('web', { runtime: 'python3.11' });
  });

  it('imports the app and keeps importlib.metadata working', () => {
    const result = runPythonIn(
      [built.tree],
      [
        'import handler',
        'print(handler.handler({"name": "a", "price": 2}, None))',
        'print(handler.health()["pydantic"] == __import__("pydantic").VERSION)',
        'from importlib.metadata import packages_distributions, entry_points',
        'print(sorted(packages_distributions()["pydantic_core"]))',
      ].join('\n'),
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe("{'name': 'a', 'price': 2.0}\nTrue\n['pydantic_core']\n");
  });

  it('keeps METADATA and entry points, drops pip leftovers and host bytecode', () => {
    const files = listFiles(built.tree);
    expect(files.filter((f) => f.endsWith('.dist-info/METADATA')).length).toBe(built.report.packages.length);
    expect(files.some((f) => /\.dist-info\/(RECORD|INSTALLER|REQUESTED|direct_url\.json)$/.test(f))).toBe(false);
    expect(files.some((f) => f.startsWith('bin/') || f.endsWith('.pyi'))).toBe(false);
    // Only pyslim's own bytecode, for the runtime's interpreter.
    expect(files.filter((f) => f.endsWith('.pyc')).every((f) => /__pycache__\/[^/]+\.cpython-311\.pyc$/.test(f))).toBe(true);
    expect(files).toContain('fastapi-' + built.report.packages.find((p) => p.name === 'fastapi')!.version + '.dist-info/entry_points.txt');
  });
});

describe('pandas for python3.11 on x86_64', () => {
  let built: Awaited<ReturnType<typeof buildFunction>>;
  beforeAll(async () => {
    built = await buildFunction('pandas', { runtime: 'python3.11' });
  });

  it('imports and computes from a read-only extraction', () => {
    const result = runPythonIn([built.tree], 'import handler\nprint(handler.handler({}, None))');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe("{'sum': 285, 'mean': 4.5}\n");
  });

  it('contains no native code that needs a glibc newer than 2.26 (Amazon Linux 2)', () => {
    const shared = listFiles(built.tree).filter(isSharedObject);
    expect(shared.length).toBeGreaterThan(10);
    const tooNew = shared
      .map((f) => ({ f, facts: readNativeFacts(path.join(built.tree, f)) }))
      .filter(({ facts }) => facts.glibcMinor > 26 || !facts.machine.includes('X86-64'));
    expect(tooNew).toEqual([]);
  });

  it('prunes the test suites and attributes every removed byte to a package and a rule', () => {
    const { report } = built;
    const pandas = report.packages.find((p) => p.name === 'pandas')!;
    const tests = pandas.removed.find((r) => r.name === 'tests')!;
    expect(tests.bytes).toBeGreaterThan(10_000_000);
    const removedByRules = report.rules.reduce((n, r) => n + r.bytes, 0);
    const removedByPackages = report.packages.reduce((n, p) => n + p.removed.reduce((m, r) => m + r.bytes, 0), 0);
    expect(removedByPackages).toBe(removedByRules);
    expect(report.totals.bytesAfter).toBe(report.output.unzippedBytes);
    expect(report.unattributed.filesBefore).toBe(0);
  });
});

describe('reproducibility', () => {
  it('gives the same sha256 for two builds of the same input', async () => {
    const a = await buildFunction('web', { runtime: 'python3.11' });
    const b = await buildFunction('web', { runtime: 'python3.11' });
    expect(sha256(b.out)).toBe(sha256(a.out));
    expect(b.report.output.sha256).toBe(a.report.output.sha256);
    const entries = await readZipEntries(a.out);
    expect(entries.map((e) => e.name)).toEqual([...entries.map((e) => e.name)].sort());
  });
});

describe('the local installer builds what Lambda can load, not what the host can', () => {
  it('fails clearly when the only wheel needs a newer glibc than the runtime has', async () => {
    const dir = tempDir();
    cleanup.push(dir);
    const { writeFileSync, existsSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'requirements.txt'), 'numpy==2.4.6\n');
    const out = path.join(dir, 'dist/function.zip');
    const failure = build({ dir, out, runtime: 'python3.11', installer: 'local', env }).catch((e: unknown) => e);
    const error = (await failure) as { code: string; line: string; distribution: string };
    expect(error.code).toBe('NO_COMPATIBLE_WHEEL');
    expect(error.line).toMatch(/numpy==2\.4\.6 has no wheel for python3\.11 on x86_64 \(glibc 2\.26\).*needs glibc 2\.27/);
    expect(error.line).toMatch(/--installer docker/);
    expect(error.distribution).toBe('numpy');
    expect(existsSync(out)).toBe(false);
  });

  it('evaluates environment markers for the target runtime and arch, not the host', async () => {
    const dir = tempDir();
    cleanup.push(dir);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      path.join(dir, 'requirements.txt'),
      ['six; python_version >= "3.12"', 'idna; platform_machine == "aarch64"', 'certifi; python_version < "3.12"', 'jmespath; sys_platform == "darwin"'].join('\n'),
    );
    const report = await build({ dir, out: path.join(dir, 'out.zip'), runtime: 'python3.12', arch: 'arm64', installer: 'local', env });
    expect(names(report)).toEqual(['idna', 'six']);
  });

});
