/**
 * `inspect` and `diff` on zips pyslim did not make: the hand-rolled recipe (`pip install --target`
 * then `zip -r9`), the same without RECORD files (as pyslim ships them), and two builds that
 * differ by a package. The oracles are independent of pyslim: importlib.metadata for versions and
 * RECORD contents, the installed files' sizes on disk, and Python's zipfile for the zip's totals.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../src/index.js';
import { renderDiffTable, renderInspectTable } from '../../src/cli/render-inspect.js';
import { diffReports, diffZips } from '../../src/inspect/diff.js';
import { inspectZip, type InspectReport } from '../../src/inspect/inspect.js';
import { normalizeDistName } from '../../src/python-names.js';
import { extractZipToTemp, removeExtractedTree } from '../../src/zip/extract.js';
import { ROOT } from '../helpers/cli.js';
import { HOST_PYTHON, listFiles, removeTree, runPythonIn, tempDir } from '../helpers/lambda.js';

const env = { ...process.env, PIP_RETRIES: '0' };
const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeTree));

function pipInstall(target: string, requirements: readonly string[]): void {
  execFileSync(HOST_PYTHON, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', target, ...requirements], { env, stdio: 'pipe' });
}

/** The hand-rolled recipe's second step. */
function zipTree(tree: string, out: string): string {
  execFileSync('zip', ['-r9', '-q', out, '.'], { cwd: tree });
  return out;
}

interface OracleDist {
  version: string;
  /** Files RECORD lists, and their sizes on disk. */
  files: number;
  bytes: number;
  recordBytes: number;
  /** Console scripts, which pip --target records as ../../bin/x and puts in <target>/bin. */
  scriptFiles: number;
  scriptBytes: number;
}

const ORACLE = `
import json, os, sys
from importlib.metadata import distributions
target = sys.argv[1]
out = {}
for dist in distributions(path=[target]):
    info = {"version": dist.version, "files": 0, "bytes": 0, "recordBytes": 0, "scriptFiles": 0, "scriptBytes": 0}
    for f in dist.files or []:
        rel = str(f)
        script = rel.startswith("../../")
        size = os.path.getsize(os.path.join(target, rel[6:] if script else rel))
        info["files"] += 1
        info["bytes"] += size
        if rel.endswith(".dist-info/RECORD"):
            info["recordBytes"] += size
        if script:
            info["scriptFiles"] += 1
            info["scriptBytes"] += size
    out[dist.metadata["Name"]] = info
print(json.dumps({"dists": out, "cacheTag": sys.implementation.cache_tag}))
`;

/** What importlib.metadata says was installed, keyed by normalized name. */
function oracleFor(target: string): { dists: Map<string, OracleDist>; cacheTag: string } {
  const raw = JSON.parse(execFileSync(HOST_PYTHON, ['-c', ORACLE, target], { encoding: 'utf8' })) as { dists: Record<string, OracleDist>; cacheTag: string };
  return { dists: new Map(Object.entries(raw.dists).map(([name, d]) => [normalizeDistName(name), d])), cacheTag: raw.cacheTag };
}

/** The zip's totals as Python's zipfile reads them. */
function zipTotals(zip: string): { entries: number; files: number; bytes: number; zipBytes: number } {
  const code = `import json, sys, zipfile
infos = zipfile.ZipFile(sys.argv[1]).infolist()
print(json.dumps({"entries": len(infos), "files": sum(not i.is_dir() for i in infos), "bytes": sum(i.file_size for i in infos), "zipBytes": sum(i.compress_size for i in infos)}))`;
  return JSON.parse(execFileSync(HOST_PYTHON, ['-c', code, zip], { encoding: 'utf8' }));
}

function expectExactSums(report: InspectReport): void {
  for (const field of ['files', 'bytes', 'zipBytes'] as const) {
    const sum = report.packages.reduce((n, p) => n + p[field], report.unattributed[field]);
    expect(sum, field).toBe(report.totals[field]);
    expect(report.unattributed.paths.reduce((n, p) => n + p[field], 0), `unattributed ${field}`).toBe(report.unattributed[field]);
  }
}

const HANDLER = 'import requests, pydantic\n\ndef handler(event, context):\n    return {"ok": True}\n';

let work: string;
let tree: string;
let oracle: ReturnType<typeof oracleFor>;

beforeAll(() => {
  work = tempDir('pyslim-inspect-');
  cleanup.push(work);
  tree = path.join(work, 'T');
  pipInstall(tree, ['requests', 'pydantic']);
  writeFileSync(path.join(tree, 'handler.py'), HANDLER);
  oracle = oracleFor(tree);
});

describe('a pip install --target + zip -r9 zip (RECORD and __pycache__ present)', () => {
  let zip: string;
  let report: InspectReport;
  beforeAll(async () => {
    zip = zipTree(tree, path.join(work, 'hand-rolled.zip'));
    report = await inspectZip(zip);
  });

  it('finds every installed distribution with its version', () => {
    expect(new Map(report.packages.map((p) => [p.key, p.version]))).toEqual(new Map([...oracle.dists].map(([key, d]) => [key, d.version])));
    expect(report.packages.every((p) => p.attributedBy === 'record' && p.root === '')).toBe(true);
  });

  it('gives each package exactly the files its RECORD lists', () => {
    for (const p of report.packages) {
      const expected = oracle.dists.get(p.key)!;
      expect({ name: p.name, files: p.files, bytes: p.bytes }).toEqual({ name: p.name, files: expected.files, bytes: expected.bytes });
    }
  });

  it('adds up to the zip totals exactly, with the handler unattributed', () => {
    expectExactSums(report);
    const totals = zipTotals(zip);
    expect(report.totals).toMatchObject(totals);
    expect(report.zip.entries).toBe(totals.entries);
    expect(report.unattributed.paths).toEqual([{ path: 'handler.py', files: 1, bytes: HANDLER.length, zipBytes: expect.any(Number) }]);
    expect(report.zip.overheadBytes).toBe(report.zip.bytes - totals.zipBytes);
  });

  it('counts the __pycache__ bytecode inside its packages', () => {
    expect(report.bytecode.tags).toEqual([oracle.cacheTag]);
    expect(report.bytecode.files).toBeGreaterThan(50);
    expect(report.packages.reduce((n, p) => n + p.bytecode.bytes, 0)).toBe(report.bytecode.bytes);
    expect(report.packages.find((p) => p.key === 'requests')!.bytecode.files).toBeGreaterThan(0);
  });

  it('renders a table with the unattributed row and the zip facts', () => {
    const table = renderInspectTable(report);
    expect(table).toMatch(/^pydantic-core\s|^pydantic_core\s/m);
    expect(table).toMatch(/^\(unattributed\)\s+1\s+\d+ B/m);
    expect(table).toContain('unattributed  handler.py');
    expect(table).toContain(`sha256        ${report.zip.sha256}`);
  });

  it('extracts safely for profile: a read-only tree Python imports from, then removed', async () => {
    const extracted = await extractZipToTemp(zip);
    try {
      expect(listFiles(extracted.dir).length).toBe(report.totals.files);
      const result = runPythonIn([extracted.dir], 'import handler, requests, pydantic\nprint(requests.__version__, pydantic.VERSION)');
      expect(result.stderr).toBe('');
      expect(result.stdout.trim()).toBe(`${oracle.dists.get('requests')!.version} ${oracle.dists.get('pydantic')!.version}`);
    } finally {
      await removeExtractedTree(extracted.dir);
    }
  });
});

describe('the same zip without RECORD files, as pyslim ships them', () => {
  let report: InspectReport;
  beforeAll(async () => {
    const copy = path.join(work, 'no-record');
    cpSync(tree, copy, { recursive: true });
    for (const file of listFiles(copy).filter((f) => /\.dist-info\/RECORD$/.test(f))) rmSync(path.join(copy, file));
    report = await inspectZip(zipTree(copy, path.join(work, 'no-record.zip')));
  });

  it('still attributes every package, by top_level.txt or by name', () => {
    expect(new Map(report.packages.map((p) => [p.key, p.version]))).toEqual(new Map([...oracle.dists].map(([key, d]) => [key, d.version])));
    expect(report.packages.every((p) => p.attributedBy === 'top-level' || p.attributedBy === 'name')).toBe(true);
    expect(report.notes.map((n) => n.code)).toContain('NO_RECORD');
  });

  it('loses only the RECORD itself and the console scripts, which become unattributed', () => {
    for (const p of report.packages) {
      const d = oracle.dists.get(p.key)!;
      expect({ name: p.name, bytes: p.bytes, files: p.files }).toEqual({ name: p.name, bytes: d.bytes - d.recordBytes - d.scriptBytes, files: d.files - 1 - d.scriptFiles });
    }
    const scripts = [...oracle.dists.values()].reduce((n, d) => n + d.scriptBytes, 0);
    expect(scripts).toBeGreaterThan(0);
    expect(report.unattributed.paths.find((p) => p.path === 'bin/')?.bytes).toBe(scripts);
    expectExactSums(report);
  });
});

describe('diff of two builds', () => {
  let a: string;
  let b: string;
  beforeAll(() => {
    // Two builds sharing the base install: one adds tabulate 0.8.10 and zipp, the other
    // tabulate 0.10.0 and six.
    const variant = (name: string, extras: string[]) => {
      const extra = path.join(work, `${name}-extra`);
      pipInstall(extra, extras);
      const combined = path.join(work, name);
      cpSync(tree, combined, { recursive: true });
      cpSync(extra, combined, { recursive: true });
      return zipTree(combined, path.join(work, `${name}.zip`));
    };
    a = variant('a', ['tabulate==0.8.10', 'zipp==3.23.0']);
    b = variant('b', ['tabulate==0.10.0', 'six']);
  });

  it('shows new, removed and changed packages, and nothing for the rest', async () => {
    const [reportA, reportB, diff] = await Promise.all([inspectZip(a), inspectZip(b), diffZips(a, b)]);
    const size = (r: InspectReport, key: string) => r.packages.find((p) => p.key === key)?.bytes ?? 0;

    expect(diff.counts).toEqual({ added: 1, removed: 1, changed: 1, unchanged: oracle.dists.size });
    const byKey = new Map(diff.packages.map((p) => [p.key, p]));
    expect(byKey.get('six')).toMatchObject({ status: 'added', versionBefore: null, bytes: { before: 0, delta: size(reportB, 'six') } });
    expect(byKey.get('zipp')).toMatchObject({ status: 'removed', versionBefore: '3.23.0', versionAfter: null, bytes: { after: 0, delta: -size(reportA, 'zipp') } });
    expect(byKey.get('tabulate')).toMatchObject({
      status: 'changed',
      versionBefore: '0.8.10',
      versionAfter: '0.10.0',
      bytes: { delta: size(reportB, 'tabulate') - size(reportA, 'tabulate') },
    });
    for (const key of oracle.dists.keys()) expect(byKey.get(key)).toMatchObject({ status: 'unchanged', bytes: { delta: 0 }, zipBytes: { delta: 0 } });

    // Sorted by the size of the change, unchanged last.
    const moved = diff.packages.slice(0, 3).map((p) => Math.abs(p.bytes.delta));
    expect(moved).toEqual([...moved].sort((x, y) => y - x));
    expect(diff.totals.bytes.delta).toBe(reportB.totals.bytes - reportA.totals.bytes);

    const table = renderDiffTable(diff);
    expect(table).toMatch(/^six\s+new 1\.\d+\.\d+/m);
    expect(table).toMatch(/^zipp\s+removed 3\.23\.0/m);
    expect(table).toMatch(/^tabulate\s+0\.8\.10 → 0\.10\.0/m);
    expect(table).not.toMatch(/^requests\s/m);
  });
});

describe("pyslim's own zip", () => {
  it('is attributed by inspect exactly as the build report attributed it', async () => {
    const out = path.join(work, 'web.zip');
    const built = await build({ dir: path.join(ROOT, 'test/fixtures/functions/web'), out, installer: 'local', runtime: 'python3.11', env });
    const report = await inspectZip(out);
    expect(report.notes.map((n) => n.code)).toContain('NO_RECORD');
    expectExactSums(report);
    // Same packages, versions and sizes; the source files are "other" on both sides.
    const diff = diffReports(built, report);
    expect(diff.counts).toEqual({ added: 0, removed: 0, changed: 0, unchanged: built.packages.length });
    expect(diff.other.bytes.delta).toBe(0);
    expect(diff.zipFileBytes?.delta).toBe(0);
  });
});
