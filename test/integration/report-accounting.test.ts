/**
 * The report's accounting on real builds: for every package, (source), (unattributed) and the
 * totals, installed − removed + added = shipped, in bytes and in files, and shipped is what the
 * zip holds. Also output.codeSha256 against Python's hashlib and base64 on the same file.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { build, type BuildReport } from '../../src/index.js';
import { readZipEntries } from '../../src/zip-reader.js';
import { HOST_PYTHON, scratchFolders } from '../helpers/lambda.js';

const env = { ...process.env, PIP_RETRIES: '0' };
const { scratch } = scratchFolders();

/** requests (with a native charset_normalizer for --strip), and what else the variant needs. */
function functionDir(extra: readonly string[] = []): string {
  const dir = scratch();
  writeFileSync(path.join(dir, 'requirements.txt'), ['requests', ...extra, ''].join('\n'));
  writeFileSync(path.join(dir, 'handler.py'), 'import requests\n\ndef handler(event, context):\n    return requests.__version__\n');
  return dir;
}

type Options = NonNullable<Parameters<typeof build>[0]>;

async function buildVariant(options: Options, extra: readonly string[] = []): Promise<BuildReport> {
  return build({ dir: functionDir(extra), out: path.join(scratch(), 'function.zip'), installer: 'local', runtime: 'python3.11', env, ...options });
}

const sum = (rules: readonly { files: number; bytes: number }[], pick: 'files' | 'bytes') => rules.reduce((n, r) => n + r[pick], 0);

async function expectBalanced(report: BuildReport): Promise<void> {
  const rows = [...report.packages.map((p) => [p.name, p] as const), ['(source)', report.source] as const, ['(unattributed)', report.unattributed] as const, ['totals', report.totals] as const];
  for (const [name, a] of rows) {
    expect({ name, bytes: a.installedBytes - sum(a.removed, 'bytes') + sum(a.added, 'bytes') }).toEqual({ name, bytes: a.shippedBytes });
    expect({ name, files: a.installedFiles - sum(a.removed, 'files') + sum(a.added, 'files') }).toEqual({ name, files: a.shippedFiles });
  }
  // Shipped is what the zip holds.
  const entries = (await readZipEntries(report.output.path)).filter((e) => !e.name.endsWith('/'));
  expect(report.totals.shippedFiles).toBe(entries.length);
  expect(report.totals.shippedBytes).toBe(report.output.unzippedBytes);
  expect(report.totals.shippedBytes).toBe(entries.reduce((n, e) => n + e.uncompressedSize, 0));
  const pyc = entries.filter((e) => e.name.endsWith('.pyc'));
  const bytecode = report.totals.added.find((r) => r.name === 'bytecode');
  expect(bytecode?.files ?? 0).toBe(pyc.length);
  expect(bytecode?.bytes ?? 0).toBe(pyc.reduce((n, e) => n + e.uncompressedSize, 0));
  expect({ files: bytecode?.files ?? 0, bytes: bytecode?.bytes ?? 0 }).toEqual({ files: report.bytecode.files, bytes: report.bytecode.bytes });
  expect(report.totals.removed).toEqual(report.rules);
  expect(report.schemaVersion).toBe(2);
}

describe('default build (bytecode compile)', () => {
  let report: BuildReport;
  beforeAll(async () => {
    report = await buildVariant({});
  });

  it('balances every row, and labels the growth as bytecode', async () => {
    await expectBalanced(report);
    expect(report.bytecode.mode).toBe('compile');
    for (const p of report.packages) {
      const grew = p.shippedBytes > p.installedBytes;
      const addedNames = p.added.map((a) => a.name);
      if (grew) expect(addedNames).toContain('bytecode');
    }
    expect(report.source.added.map((a) => a.name)).toEqual(['bytecode']);
  });

  it("gives output.codeSha256 as Python's base64 of the zip's SHA-256", () => {
    const python = execFileSync(HOST_PYTHON, ['-c', 'import base64, hashlib, sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1], "rb").read()).digest()).decode())', report.output.path], { encoding: 'utf8' });
    expect(report.output.codeSha256).toBe(python.trim());
    expect(Buffer.from(report.output.codeSha256, 'base64').toString('hex')).toBe(report.output.sha256);
  });
});

describe.each<[string, Options, string[]]>([
  ['--bytecode none', { bytecode: 'none' }, []],
  ['--bytecode only', { bytecode: 'only' }, []],
  ['--strip', { strip: 'debug' }, []],
  // Only a build with botocore leaves the runtime's packages out.
  ['--exclude-runtime-packages', { excludeRuntimePackages: true }, ['boto3']],
  ['--layer', { layer: true }, []],
])('%s', (_label, options, extra) => {
  let report: BuildReport;
  beforeAll(async () => {
    report = await buildVariant(options, extra);
  });

  it('balances every row in bytes and files', async () => {
    await expectBalanced(report);
    if (options.bytecode === 'none') expect(report.totals.added.map((a) => a.name)).not.toContain('bytecode');
    if (options.bytecode === 'only') expect(report.totals.removed.find((r) => r.name === 'sourceless')!.files).toBeGreaterThan(0);
    if (options.strip) {
      const strip = report.totals.removed.find((r) => r.name === 'strip-debug')!;
      expect(strip.files).toBe(0);
      expect(strip.shrunkFiles).toBe(report.strip!.files);
      expect(strip.bytes).toBe(report.strip!.savedBytes);
    }
    if (options.excludeRuntimePackages) {
      expect(report.runtimePackages!.excluded).toContain('botocore');
      for (const p of report.packages.filter((p) => report.runtimePackages!.excluded.includes(p.name))) {
        expect(p.shippedFiles).toBe(0);
        expect(p.removed.find((r) => r.name === 'runtime-provided')!.files).toBe(p.installedFiles);
      }
    }
  });
});

describe('--with-layer', () => {
  let report: BuildReport;
  beforeAll(async () => {
    const layerDir = scratch();
    writeFileSync(path.join(layerDir, 'requirements.txt'), 'idna\n');
    const layer = await build({ dir: layerDir, out: path.join(scratch(), 'layer.zip'), installer: 'local', runtime: 'python3.11', env, layer: true });
    report = await buildVariant({ withLayers: [layer.output.path] });
  });

  it('balances every row, the packages the layer provides counted as removed', async () => {
    await expectBalanced(report);
    const idna = report.packages.find((p) => p.name === 'idna')!;
    expect(idna.shippedFiles).toBe(0);
    expect(idna.removed.map((r) => r.name)).toEqual(['provided-by-layer']);
    expect(idna.removed[0]!.files).toBe(idna.installedFiles);
  });
});
