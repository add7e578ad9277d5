/**
 * Deeper trimming that must not break anything, on real builds: botocore services, runtime
 * packages, the aggressive profile, strip, the native-code audit and the import check.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { build, type BuildReport } from '../../src/index.js';
import { ROOT } from '../helpers/cli.js';
import { rejection } from '../helpers/fake-exec.js';
import { extractReadOnly, listFiles, runPythonIn, scratchFolders } from '../helpers/lambda.js';

const FUNCTIONS = path.join(ROOT, 'test/fixtures/functions');
const env = { ...process.env, PIP_RETRIES: '0' };
const { scratch, track } = scratchFolders();

async function buildZip(dir: string, options: Parameters<typeof build>[0] = {}): Promise<{ report: BuildReport; tree: string }> {
  const out = path.join(scratch(), 'function.zip');
  const report = await build({ dir, out, installer: 'local', runtime: 'python3.11', env, ...options });
  const tree = extractReadOnly(out);
  track(tree);
  return { report, tree };
}

/** A function folder with a real wheel's files copied in, as people vendor packages by hand. */
function vendoring(wheelSpec: string, platform: string): string {
  const dir = scratch();
  const wheels = scratch();
  execFileSync(
    'python3',
    ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '--platform', platform, '--python-version', '3.11', '--implementation', 'cp', '-d', wheels, wheelSpec],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const [wheel] = listFiles(wheels);
  execFileSync('python3', ['-m', 'zipfile', '-e', path.join(wheels, wheel!), dir]);
  writeFileSync(path.join(dir, 'handler.py'), 'def handler(event, context):\n    return 1\n');
  return dir;
}

describe('--boto-services', () => {
  let full: Awaited<ReturnType<typeof buildZip>>;
  let trimmed: Awaited<ReturnType<typeof buildZip>>;
  beforeAll(async () => {
    const dir = path.join(FUNCTIONS, 'boto');
    [full, trimmed] = await Promise.all([buildZip(dir), buildZip(dir, { botoServices: ['s3,dynamodb'], handler: 'handler.handler' })]);
  });

  it('makes a boto3 function at least 60% smaller unzipped', () => {
    expect(trimmed.report.output.unzippedBytes / full.report.output.unzippedBytes).toBeLessThanOrEqual(0.4);
    expect(trimmed.report.rules.find((r) => r.name === 'boto-services')!.bytes).toBeGreaterThan(10_000_000);
    expect(trimmed.report.botoServices!.kept).toEqual(['dynamodb', 's3', 'signin', 'sso', 'sso-oidc', 'sts']);
    expect(full.report.warnings.map((w) => w.code)).toContain('BOTO_SERVICES_HINT');
  });

  it('still creates s3 and dynamodb clients from a read-only extraction', () => {
    const result = runPythonIn(
      [trimmed.tree],
      [
        'import boto3',
        's3 = boto3.client("s3", region_name="us-east-1")',
        'ddb = boto3.client("dynamodb", region_name="us-east-1")',
        'print(type(s3).__name__, type(ddb).__name__, "GetObject" in s3.meta.service_model.operation_names, "PutItem" in ddb.meta.service_model.operation_names)',
        'try:\n    boto3.client("ec2", region_name="us-east-1")\nexcept Exception as e:\n    print(type(e).__name__)',
      ].join('\n'),
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('S3 DynamoDB True True\nUnknownServiceError\n');
  });

  it('rejects an unknown service with near matches (exit 2)', async () => {
    const error = await rejection(build({ dir: path.join(FUNCTIONS, 'boto'), out: path.join(scratch(), 'x.zip'), installer: 'local', runtime: 'python3.11', env, botoServices: ['dynamo'] }));
    expect(error.code).toBe('UNKNOWN_SERVICE');
    expect(error.line).toMatch(/dynamo.*did you mean dynamodb/);
  });
});

describe('--exclude-runtime-packages', () => {
  it('leaves no boto3 or botocore files in the zip, and the handler still imports on the runtime', async () => {
    const { report, tree } = await buildZip(path.join(FUNCTIONS, 'boto'), { excludeRuntimePackages: true, handler: 'handler.handler' });
    const files = listFiles(tree);
    expect(files.filter((f) => /^(boto3|botocore|s3transfer|jmespath)/.test(f))).toEqual([]);
    expect(files).toEqual(['__pycache__/handler.cpython-311.pyc', 'handler.py', 'requirements.txt']);
    expect(report.runtimePackages!.excluded).toEqual(['boto3', 'botocore', 'jmespath', 'python-dateutil', 's3transfer', 'six', 'urllib3']);
    expect(report.warnings.find((w) => w.code === 'RUNTIME_PACKAGES_EXCLUDED')!.message).toMatch(/the Lambda runtime's versions will be used/);
    expect(report.verify!.handler).toBe('handler.handler');
  });
});

describe('the native-code audit, on real wheels', () => {
  it('fails an arm64 build that contains x86_64 code, naming the file', async () => {
    const dir = vendoring('pydantic-core==2.46.5', 'manylinux_2_17_x86_64');
    const error = await rejection(build({ dir, out: path.join(dir, 'out.zip'), installer: 'local', runtime: 'python3.11', arch: 'arm64', env }));
    expect(error.code).toBe('NATIVE_CODE_MISMATCH');
    expect(error.line).toMatch(/^native code that cannot load on Lambda: pydantic_core\/_pydantic_core\.cpython-311-x86_64-linux-gnu\.so \(the function folder\) is x86_64 code in an arm64 build/);
    expect(existsSync(path.join(dir, 'out.zip'))).toBe(false);
  });

  it('fails a python3.11 build whose code needs a newer glibc than Amazon Linux 2 has', async () => {
    const dir = vendoring('numpy==2.4.6', 'manylinux_2_28_x86_64');
    const error = await rejection(build({ dir, out: path.join(dir, 'out.zip'), installer: 'local', runtime: 'python3.11', env }));
    expect(error.code).toBe('NATIVE_CODE_MISMATCH');
    expect(error.line).toMatch(/^native code that cannot load on Lambda: numpy\/.*\.so \(the function folder\) needs GLIBC_2\.27, but python3\.11 runs on Amazon Linux 2 with glibc 2\.26 \(and \d+ more/);
    // The same files load on python3.12 (Amazon Linux 2023, glibc 2.34).
    await expect(build({ dir, out: path.join(dir, 'out.zip'), installer: 'local', runtime: 'python3.12', env, verify: false })).resolves.toMatchObject({
      native: { maxGlibc: '2.27' },
    });
  });
});

describe('the import check', () => {
  it('fails a build whose prune removed a module a package needs, naming the rule and the --keep', async () => {
    const error = await rejection(build({ dir: path.join(FUNCTIONS, 'web'), out: path.join(scratch(), 'x.zip'), installer: 'local', runtime: 'python3.11', env, exclude: ['requests/adapters.py'] }));
    expect(error.code).toBe('IMPORT_FAILED');
    expect(error.line).toBe(
      "import check failed: requests (requests) raised ModuleNotFoundError: No module named 'requests.adapters'; requests/adapters.py was removed by rule user-exclude (--exclude requests/adapters.py). Keep it with --keep 'requests/adapters.py'",
    );
  });

  it('checks the handler when given, and fails on a missing function', async () => {
    const dir = scratch();
    cpSync(path.join(FUNCTIONS, 'web'), dir, { recursive: true });
    const error = await rejection(build({ dir, out: path.join(scratch(), 'x.zip'), installer: 'local', runtime: 'python3.11', env, handler: 'handler.missing' }));
    expect(error.line).toMatch(/^import check failed: handler \(the handler\) raised AttributeError: module 'handler' has no function 'missing'\. Check --handler/);
  });

  it('says when no interpreter matches the runtime, instead of pretending', async () => {
    const { report } = await buildZip(path.join(FUNCTIONS, 'boto'), { runtime: 'python3.12' });
    expect(report.verify).toMatchObject({ interpreter: null, limited: expect.stringMatching(/^no Python 3\.12 on this host to import with .*--installer docker/) });
    expect(report.warnings.map((w) => w.code)).toContain('NO_TARGET_INTERPRETER');
  });

  it('--verify-skip and --no-verify', async () => {
    const skipped = await buildZip(path.join(FUNCTIONS, 'web'), { verifySkip: ['fastapi'] });
    expect(skipped.report.verify!.modules).not.toContain('fastapi');
    expect(skipped.report.verify!.skipped).toContainEqual({ module: 'fastapi', reason: '--verify-skip' });
    const none = await buildZip(path.join(FUNCTIONS, 'web'), { verify: false });
    expect(none.report.verify).toBeNull();
  });
});

describe('the aggressive profile and --strip on pandas', () => {
  it('builds, imports from a read-only extraction, and leaves the libraries strip would break as they were', async () => {
    const { report, tree } = await buildZip(path.join(FUNCTIONS, 'pandas'), { prune: 'aggressive', strip: 'unneeded' });
    expect(report.profile).toBe('aggressive');
    expect(report.rules.map((r) => r.name)).toEqual(expect.arrayContaining(['tests', 'licenses', 'strip-unneeded']));
    expect(report.strip!.files).toBeGreaterThan(10);
    expect(report.strip!.savedBytes).toBeGreaterThan(100_000);
    // auditwheel-patched libraries come out of strip with misaligned load segments (SPR #318).
    expect(report.strip!.refused.map((r) => r.path)).toContain(report.strip!.refused.find((r) => r.path.includes('openblas'))?.path);
    expect(report.strip!.refused.every((r) => /not page-aligned|not aligned/.test(r.reason))).toBe(true);
    expect(report.verify!.modules).toEqual(expect.arrayContaining(['numpy', 'pandas']));
    const result = runPythonIn([tree], 'import handler\nprint(handler.handler({}, None))');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe("{'sum': 285, 'mean': 4.5}\n");
    expect(listFiles(tree).filter((f) => /(^|\/)LICEN[CS]E/.test(f))).toEqual([]);
  });
});

