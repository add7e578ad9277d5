/**
 * The CLI as users and CI scripts see it: exact flags, one-line errors, documented exit codes, and
 * nothing left behind or touched on failure.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { BIN, EXAMPLES, runCli, startCli } from '../helpers/cli.js';
import { extractReadOnly, listFiles, removeTree, runPythonIn, treeFingerprint, scratchFolders } from '../helpers/lambda.js';

const { scratch, track } = scratchFolders();

/** A copy of the example function, plus a private TMPDIR to prove temp files are cleaned. */
function workspace() {
  const root = scratch();
  const dir = path.join(root, 'fn');
  cpSync(path.join(EXAMPLES, 'hello'), dir, { recursive: true });
  const tmp = path.join(root, 'tmp');
  mkdirSync(tmp);
  return { root, dir, tmp, env: { TMPDIR: tmp } };
}

const oneLine = (stderr: string) => {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  return lines[0]!;
};

describe('pyslim --help', () => {
  it('lists the build command and its contract flags', () => {
    const top = runCli(['--help']);
    expect(top.status).toBe(0);
    expect(top.stdout).toContain('build [options] [dir...]');
    const help = runCli(['build', '--help']);
    expect(help.status).toBe(0);
    for (const flag of ['-r, --requirements <file>', '--runtime <name>', '--arch <arch>', '--installer <kind>', '-o, --out <file>', '--json <file>', '--budget <size>', '--exclude <glob...>', '--keep <glob...>', '-q, --quiet']) {
      expect(help.stdout).toContain(flag);
    }
  });
});

describe('pyslim rules', () => {
  it('lists every rule with its profile, reason and exceptions', () => {
    const result = runCli(['rules']);
    expect(result.status).toBe(0);
    for (const line of ['tests  [safe]', 'licenses  [aggressive]', 'boto-services  [--boto-services]', 'runtime-provided  [--exclude-runtime-packages]', 'source-dotenv', '  except django: django.test is public API that applications import at runtime']) {
      expect(result.stdout).toContain(line);
    }
  });
});

describe('bad input: one line, a documented exit code, nothing touched', () => {
  it.each([
    ['a missing folder', ['build', 'does-not-exist'], 2, /function folder not found: .*does-not-exist\. Pass the folder/],
    ['a missing requirements file', ['build', 'fn', '-r', 'nope.txt'], 2, /requirements file not found: .*nope\.txt\. Check the -r/],
    ['an unknown runtime', ['build', 'fn', '--runtime', 'python3.8'], 2, /unknown runtime "python3\.8"\. Use one of python3\.9, .*python3\.14/],
    ['a runtime without its prefix', ['build', 'fn', '--runtime', '3.12'], 2, /Did you mean python3\.12\?/],
    ['an unknown arch', ['build', 'fn', '--arch', 'aarch64'], 2, /unknown architecture "aarch64"\. Use x86_64 or arm64 \(Lambda calls aarch64 "arm64"\)/],
    ['an unparsable budget', ['build', 'fn', '--budget', 'ten megs'], 2, /invalid budget "ten megs"\. Use a number of bytes or a unit, e\.g\. 3000000, 10MB, 50MiB/],
    ['an unknown installer', ['build', 'fn', '--installer', 'conda'], 2, /invalid --installer "conda"\. Use one of auto, local, docker/],
    ['an unknown prune profile', ['build', 'fn', '--prune', 'max'], 2, /invalid --prune "max"\. Use one of none, safe, aggressive/],
    ['a bad handler', ['build', 'fn', '--handler', 'handler'], 2, /invalid --handler "handler"\. Use module\.function/],
    ['an unknown flag', ['build', 'fn', '--frobnicate'], 2, /unknown option '--frobnicate'/],
    ['python missing', ['build', 'fn', '--installer', 'local', '--python', '/nonexistent/python3'], 4, /cannot run Python "\/nonexistent\/python3"\. Install Python 3 with pip/],
  ])('%s', (_, args, status, message) => {
    const ws = workspace();
    const before = treeFingerprint(ws.dir);
    const result = runCli(args, { cwd: ws.root, env: ws.env });
    expect(result.status).toBe(status);
    expect(oneLine(result.stderr)).toMatch(message);
    expect(treeFingerprint(ws.dir)).toBe(before);
    expect(existsSync(path.join(ws.root, 'dist'))).toBe(false);
    expect(listFiles(ws.tmp)).toEqual([]);
  });

  it('a Python without pip (exit 4)', () => {
    const ws = workspace();
    const venv = path.join(ws.root, 'nopip');
    const made = runPythonIn([], `import venv; venv.create(${JSON.stringify(venv)}, with_pip=False)`);
    expect(made.status).toBe(0);
    const result = runCli(['build', 'fn', '--installer', 'local', '--python', path.join(venv, 'bin/python')], { cwd: ws.root, env: ws.env });
    expect(result.status).toBe(4);
    expect(oneLine(result.stderr)).toMatch(/pip is not available for .*nopip\/bin\/python.*ensurepip/);
  });

  it('a requirement that cannot be resolved (exit 1), with pip\'s words only under --debug', () => {
    const ws = workspace();
    writeFileSync(path.join(ws.dir, 'requirements.txt'), 'no-such-package-pyslim-test==1.0\n');
    const before = treeFingerprint(ws.dir);
    const result = runCli(['build', 'fn', '--installer', 'local', '--runtime', 'python3.11'], { cwd: ws.root, env: ws.env });
    expect(result.status).toBe(1);
    expect(oneLine(result.stderr)).toMatch(/no wheel of no-such-package-pyslim-test==1\.0 fits python3\.11 on x86_64 \(glibc 2\.26\)/);
    expect(treeFingerprint(ws.dir)).toBe(before);
    expect(existsSync(path.join(ws.root, 'dist'))).toBe(false);
    expect(listFiles(ws.tmp)).toEqual([]);
    const debug = runCli(['build', 'fn', '--installer', 'local', '--runtime', 'python3.11', '--debug'], { cwd: ws.root, env: ws.env });
    expect(debug.status).toBe(1);
    expect(debug.stderr).toContain('No matching distribution found for no-such-package-pyslim-test==1.0');
  });
});

describe('pyslim build on the example', () => {
  it('writes the zip, the JSON report and the table; the zip imports read-only', () => {
    const ws = workspace();
    const before = treeFingerprint(ws.dir);
    const result = runCli(['build', 'fn', '--installer', 'local', '--runtime', 'python3.11', '--json', 'report.json'], { cwd: ws.root, env: ws.env });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^pydantic-core|pydantic_core/m);
    expect(result.stdout).toMatch(/^total\s/m);
    expect(result.stdout).toMatch(/^sha256\s+[0-9a-f]{64}$/m);
    expect(result.stdout).toMatch(/^base64\s+[A-Za-z0-9+/]{43}= \(Lambda's CodeSha256, Terraform's source_code_hash\)$/m);
    expect(result.stdout).toMatch(/^trimmed −[\d.]+ [kM]B \(−\d+%\) · bytecode \+[\d.]+ [kM]B \(cold imports skip compiling\)(?: · [\w-]+(?:, [\w-]+)* \+[\d.]+ k?B)? · zip [\d.]+ [kM]B$/m);

    const report = JSON.parse(readFileSync(path.join(ws.root, 'report.json'), 'utf8'));
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['runtime', 'arch', 'installer', 'output', 'packages', 'source', 'totals', 'budget', 'timings']));
    expect(report.output.path).toBe(path.join(ws.root, 'dist/function.zip'));
    expect(report.source).toMatchObject({ files: 3 }); // handler.py, requirements.txt and the handler's bytecode
    expect(report.bytecode).toMatchObject({ mode: 'compile' });
    expect(report.schemaVersion).toBe(2);
    expect(result.stdout).toContain(`base64   ${report.output.codeSha256} `);
    expect(Buffer.from(report.output.codeSha256, 'base64').toString('hex')).toBe(report.output.sha256);
    expect(report.budget).toBeNull();
    for (const p of report.packages) {
      expect(Object.keys(p)).toEqual(expect.arrayContaining(['name', 'version', 'filesBefore', 'filesAfter', 'bytesBefore', 'bytesAfter']));
    }
    expect(Object.keys(report.timings)).toEqual(expect.arrayContaining(['inventory', 'compile', 'audit', 'verify', 'zip']));
    // The trace lists each stage run that timings sums; pip and python ran as subprocesses, so their CPU shows.
    const traced: { stage: string; wallMs: number; childCpuMs: number }[] = report.trace.stages;
    expect([...new Set(traced.map((s) => s.stage))].sort()).toEqual(Object.keys(report.timings).sort());
    expect(traced.find((s) => s.stage === 'install')!.childCpuMs).toBeGreaterThan(0);
    expect(report.trace.childCpuMs).toBeGreaterThan(0);
    expect(report.trace.wallMs).toBeGreaterThanOrEqual(Math.max(...traced.map((s) => s.wallMs)));

    const tree = extractReadOnly(path.join(ws.root, 'dist/function.zip'));
    track(tree);
    const imported = runPythonIn([tree], 'import handler, requests, pydantic\nprint(handler.Event().url)');
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toBe('https://example.com\n');
    expect(treeFingerprint(ws.dir)).toBe(before);
    expect(listFiles(ws.tmp)).toEqual([]);
  });

  it('leaves the function folder\'s own clutter, secrets and output out of the zip', () => {
    const ws = workspace();
    mkdirSync(path.join(ws.dir, '.git/objects'), { recursive: true });
    writeFileSync(path.join(ws.dir, '.git/HEAD'), 'ref: refs/heads/main\n');
    mkdirSync(path.join(ws.dir, 'venv-local/lib'), { recursive: true });
    writeFileSync(path.join(ws.dir, 'venv-local/pyvenv.cfg'), 'home = /usr/bin\n');
    writeFileSync(path.join(ws.dir, 'venv-local/lib/x.py'), 'x = 1\n');
    mkdirSync(path.join(ws.dir, 'node_modules/left-pad'), { recursive: true });
    writeFileSync(path.join(ws.dir, 'node_modules/left-pad/index.js'), '');
    mkdirSync(path.join(ws.dir, '__pycache__'));
    writeFileSync(path.join(ws.dir, '__pycache__/handler.cpython-311.pyc'), 'junk');
    writeFileSync(path.join(ws.dir, '.env'), 'SECRET=1\n');
    writeFileSync(path.join(ws.dir, '.env.local'), 'SECRET=2\n');
    mkdirSync(path.join(ws.dir, 'lib'));
    writeFileSync(path.join(ws.dir, 'lib/util.py'), 'def f():\n    return 2\n');
    const before = treeFingerprint(ws.dir);
    // Output and report inside the function folder, as `pyslim build` run from it does.
    const result = runCli(['build', '.', '--installer', 'local', '--runtime', 'python3.11', '-o', 'dist/function.zip', '--json', 'dist/report.json', '-q'], {
      cwd: ws.dir,
      env: ws.env,
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    const first = readFileSync(path.join(ws.dir, 'dist/function.zip'));
    // A second build must not package the first one's zip or report.
    const again = runCli(['build', '.', '--installer', 'local', '--runtime', 'python3.11', '-o', 'dist/function.zip', '--json', 'dist/report.json', '-q'], {
      cwd: ws.dir,
      env: ws.env,
    });
    expect(again.status).toBe(0);
    expect(readFileSync(path.join(ws.dir, 'dist/function.zip')).equals(first)).toBe(true);
    const tree = extractReadOnly(path.join(ws.dir, 'dist/function.zip'));
    track(tree);
    // The function's files as they ship: the sources that exist in its folder, and their bytecode.
    const fromSource = listFiles(tree).filter((f) => existsSync(path.join(ws.dir, f.replace(/__pycache__\/([^.]+)\.cpython-311\.pyc$/, '$1.py'))));
    expect(fromSource).toEqual(['__pycache__/handler.cpython-311.pyc', 'handler.py', 'lib/__pycache__/util.cpython-311.pyc', 'lib/util.py', 'requirements.txt']);
    // The bytecode is pyslim's, compiled for the runtime, not the folder's stale __pycache__.
    expect(readFileSync(path.join(tree, '__pycache__/handler.cpython-311.pyc')).toString()).not.toBe('junk');
    const report = JSON.parse(readFileSync(path.join(ws.dir, 'dist/report.json'), 'utf8'));
    expect(report.source.excluded).toEqual(
      expect.arrayContaining([
        { path: '.git', rule: 'source-vcs' },
        { path: 'venv-local', rule: 'source-virtualenv' },
        { path: 'node_modules', rule: 'source-node-modules' },
        { path: '__pycache__', rule: 'source-caches' },
        { path: '.env', rule: 'source-dotenv' },
        { path: '.env.local', rule: 'source-dotenv' },
        { path: 'dist/function.zip', rule: 'source-own-output' },
        { path: 'dist/report.json', rule: 'source-own-output' },
      ]),
    );
    rmOutputs(ws.dir);
    expect(treeFingerprint(ws.dir)).toBe(before);
  });

  it('exits 3 when the zip is over --budget, names the biggest packages and what would cut them, and still writes the zip', () => {
    const ws = workspace();
    const result = runCli(['build', 'fn', '--installer', 'local', '--runtime', 'python3.11', '--budget', '1MB', '--json', 'r.json', '-q', '--annotations'], { cwd: ws.root, env: ws.env });
    expect(result.status).toBe(3);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^error: the zip is [\d.]+ MB, over the budget of 1 MB by [\d.]+ MB$/);
    expect(lines[1]).toMatch(/^biggest: pydantic_core [\d.]+ MB, pydantic [\d.]+ MB, .*\. Would cut: --prune aggressive \(licences, docs, translations\) −[\d.]+ kB$/);
    expect(lines).toHaveLength(2);
    expect(result.stdout).toMatch(/^::error title=pyslim budget::the zip: [\d.]+ MB of 1 MB, over by [\d.]+ MB$/m);
    expect(existsSync(path.join(ws.root, 'dist/function.zip'))).toBe(true);
    const report = JSON.parse(readFileSync(path.join(ws.root, 'r.json'), 'utf8'));
    expect(report.budget).toEqual({ limitBytes: 1_000_000, ok: false });
    expect(report.budgets.ok).toBe(false);
    const within = runCli(['build', 'fn', '--installer', 'local', '--runtime', 'python3.11', '--budget', '50MiB', '-q'], { cwd: ws.root, env: ws.env });
    expect(within.status).toBe(0);
  });

  it("exits 3 over Lambda's 250 MiB unzipped limit, counting --layers-size", () => {
    const ws = workspace();
    const result = runCli(['build', 'fn', '--installer', 'local', '--runtime', 'python3.11', '--layers-size', '255MB', '-q', '--no-verify', '--bytecode', 'none'], { cwd: ws.root, env: ws.env });
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(/^error: function and layers unzip to 26\d(\.\d+)? MB, over 262 MB by [\d.]+ MB, Lambda's limit \(250 MiB\): Lambda will refuse to create it$/m);
    const fits = runCli(['build', 'fn', '--installer', 'local', '--runtime', 'python3.11', '--layers-size', '200MB', '-q', '--no-verify', '--bytecode', 'none'], { cwd: ws.root, env: ws.env });
    expect(fits.status).toBe(0);
  });

  it('exits 3 over a per-package budget', () => {
    const ws = workspace();
    const result = runCli(['build', 'fn', '--installer', 'local', '--runtime', 'python3.11', '--budget-package', 'pydantic-core=1MB', '--budget-package', 'requests=1MB', '-q', '--no-verify'], { cwd: ws.root, env: ws.env });
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(/^error: pydantic_core is [\d.]+ MB, over 1 MB by [\d.]+ MB unzipped \(--budget-package\)$/m);
    expect(result.stderr).not.toMatch(/requests is/);
  });

  it('--format json and markdown on stdout, and a GitHub job summary', () => {
    const ws = workspace();
    const summary = path.join(ws.root, 'summary.md');
    writeFileSync(summary, '# earlier step\n');
    const json = runCli(['build', 'fn', '--installer', 'local', '--runtime', 'python3.11', '--format', 'json'], { cwd: ws.root, env: { ...ws.env, GITHUB_STEP_SUMMARY: summary } });
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).output.sha256).toMatch(/^[0-9a-f]{64}$/);
    const written = readFileSync(summary, 'utf8');
    expect(written.startsWith('# earlier step\n### pyslim: `function.zip`')).toBe(true);
    expect(written).toContain('| pydantic_core |');
    const markdown = runCli(['build', 'fn', '--installer', 'local', '--runtime', 'python3.11', '--format', 'markdown'], { cwd: ws.root, env: ws.env });
    expect(markdown.stdout).toMatch(/^### pyslim: `function\.zip` [\d.]+ MB ✅ within budget$/m);
    const bad = runCli(['build', 'fn', '--format', 'yaml'], { cwd: ws.root, env: ws.env });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('error: invalid --format "yaml". Use one of table, json, markdown\n');
  });

  it('--compare shows per-package deltas against a previous report', () => {
    const ws = workspace();
    const first = runCli(['build', 'fn', '--installer', 'local', '--runtime', 'python3.11', '--json', 'before.json', '-q', '--no-verify'], { cwd: ws.root, env: ws.env });
    expect(first.status).toBe(0);
    writeFileSync(path.join(ws.dir, 'requirements.txt'), 'requests\npydantic\nsix\n');
    const second = runCli(['build', 'fn', '--installer', 'local', '--runtime', 'python3.11', '--compare', 'before.json', '--format', 'markdown', '--no-verify'], { cwd: ws.root, env: ws.env });
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/^\*\*Compared with `before\.json`\*\*: unzipped \+[\d.]+ kB, zip \+[\d.]+ kB$/m);
    expect(second.stdout).toMatch(/^\| six \| new \| \+[\d.]+ kB \| \+[\d.]+ kB \|$/m);
  });

  it('shows progress on a terminal only, never under CI, --quiet or --format json', () => {
    const ws = workspace();
    // util-linux `script` gives the CLI a pseudo-terminal, as an interactive shell would.
    const onTty = (args: string, extraEnv: Record<string, string> = {}) =>
      spawnSync('script', ['-qec', `${process.execPath} ${BIN} build fn --installer local --runtime python3.11 --no-cache ${args}`, '/dev/null'], {
        cwd: ws.root,
        encoding: 'utf8',
        env: { ...process.env, CI: '', PIP_RETRIES: '0', TMPDIR: ws.tmp, ...extraEnv },
      }).stdout;
    expect(onTty('-o a.zip')).toMatch(/✓ install [\d.]+s[\s\S]*✓ compile [\d.]+s[\s\S]*✓ zip [\d.]+s/);
    expect(onTty('-o b.zip -q')).not.toContain('✓');
    expect(onTty('-o c.zip --format json')).not.toContain('✓');
    expect(onTty('-o d.zip', { CI: 'true' })).not.toContain('✓');
  });

  it('stops on Ctrl-C: exit 130, no zip, no temp files, the folder untouched', async () => {
    const ws = workspace();
    writeFileSync(path.join(ws.dir, 'requirements.txt'), 'pandas\n');
    const before = treeFingerprint(ws.dir);
    const child = startCli(['build', 'fn', '--installer', 'local', '--runtime', 'python3.11'], { cwd: ws.root, env: ws.env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Interrupt once pip is running: its own temp folders appear under our TMPDIR.
    await waitFor(() => readdirSync(ws.tmp, { recursive: true }).some((name) => /(^|\/)pip-/.test(String(name))));
    child.kill('SIGINT');
    const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    expect(status).toBe(130);
    expect(stderr.trim()).toBe('error: build interrupted');
    expect(existsSync(path.join(ws.root, 'dist/function.zip'))).toBe(false);
    expect(listFiles(path.join(ws.root)).filter((f) => f.includes('.pyslim-'))).toEqual([]);
    // pip was killed, not orphaned: nothing appears in TMPDIR after pyslim exits.
    await new Promise((r) => setTimeout(r, 1000));
    expect(readdirCount(ws.tmp)).toBe(0);
    expect(treeFingerprint(ws.dir)).toBe(before);
  });
});

function rmOutputs(dir: string) {
  removeTree(path.join(dir, 'dist'));
}

function readdirCount(dir: string): number {
  return readdirSync(dir).length;
}

async function waitFor(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
