/**
 * The container installer end to end, against a real engine (rootful podman and a local stand-in
 * for the Lambda image, set up by docker/test-engine/setup.sh). No mocks.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { build, type BuildReport } from '../../src/index.js';
import { readZipEntries } from '../../src/zip-reader.js';
import { runCli, startCli } from '../helpers/cli.js';
import { ENGINE_ENV, ENGINE_RUNTIME, describeWithEngine, podman, pyslimContainers } from '../helpers/engine.js';
import { extractReadOnly, listFiles, removeTree, runPythonIn, tempDir, treeFingerprint } from '../helpers/lambda.js';
import { recordingExec } from '../helpers/recording-exec.js';
import { makeWheel, writeSimpleIndex } from '../helpers/wheels.js';

const cleanup: string[] = [];
afterAll(() => cleanup.forEach(removeTree));
const env = { ...process.env, ...ENGINE_ENV, PIP_RETRIES: '0' };

/** A function folder with a handler and the given requirements, plus a private TMPDIR and cache. */
function workspace(requirements: string[]) {
  const root = tempDir();
  cleanup.push(root);
  const dir = path.join(root, 'fn');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'handler.py'), 'import requests\n\ndef handler(event, context):\n    return requests.__version__\n');
  writeFileSync(path.join(dir, 'requirements.txt'), `${requirements.join('\n')}\n`);
  const tmp = path.join(root, 'tmp');
  mkdirSync(tmp);
  return { root, dir, tmp, cache: path.join(root, 'cache'), cliEnv: { ...ENGINE_ENV, TMPDIR: tmp, PYSLIM_CACHE_DIR: path.join(root, 'cache') } };
}

const dockerArgs = ['--installer', 'docker', '--container-cli', 'podman', '--runtime', ENGINE_RUNTIME];
const oneLine = (stderr: string) => {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  return lines[0]!;
};

async function waitFor(condition: () => boolean, timeoutMs = 120_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeWithEngine('container installer (podman, real engine)', () => {
  let local: BuildReport;
  let container: BuildReport;
  let ws: ReturnType<typeof workspace>;

  beforeAll(async () => {
    ws = workspace(['requests']);
    const common = { dir: ws.dir, runtime: ENGINE_RUNTIME, env: { ...env, TMPDIR: ws.tmp }, cacheDir: ws.cache };
    container = await build({ ...common, out: path.join(ws.root, 'container.zip'), installer: 'docker', containerCli: 'podman' });
    local = await build({ ...common, out: path.join(ws.root, 'local.zip'), installer: 'local' });
  });

  it('installs inside the Lambda image, and the report says which engine and image ran', () => {
    expect(container.installer).toBe('docker');
    expect(container.installerReason).toMatch(/^requested with --installer docker \(podman 4\.\d/);
    expect(container.container).toMatchObject({
      engine: 'podman',
      image: 'public.ecr.aws/lambda/python:3.11-x86_64',
      platform: 'linux/amd64',
      user: `${process.getuid!()}:${process.getgid!()}`,
    });
    expect(container.container!.imageId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives a zip equal in content to the local installer for pure-Python requirements', async () => {
    const entries = async (zip: string) => (await readZipEntries(zip)).map((e) => `${e.name} ${e.crc32} ${e.uncompressedSize} ${e.mode.toString(8)}`);
    const fromContainer = await entries(path.join(ws.root, 'container.zip'));
    expect(fromContainer.length).toBeGreaterThan(50);
    expect(fromContainer).toEqual(await entries(path.join(ws.root, 'local.zip')));
    expect(container.packages.map((p) => `${p.name}==${p.version}`)).toEqual(local.packages.map((p) => `${p.name}==${p.version}`));
  });

  it('imports from a read-only extraction', () => {
    const tree = extractReadOnly(path.join(ws.root, 'container.zip'));
    cleanup.push(tree);
    const result = runPythonIn([tree], 'import handler, requests\nprint(handler.handler({}, None) == requests.__version__)');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('True\n');
  });

  it('runs as the caller (or --container-user), so files it writes on the host belong to them', async () => {
    // Without the cache the installed tree stays in the build's own temp folder (layer/tree).
    const kept = await build({ dir: ws.dir, runtime: ENGINE_RUNTIME, env, cache: false, out: path.join(ws.root, 'kept.zip'), installer: 'docker', containerCli: 'podman', keepTemp: true });
    cleanup.push(kept.workDir!);
    // Every file pip wrote; pyslim's own top_level.txt files are written by pyslim, not the container.
    const owners = (dir: string) =>
      new Set(
        listFiles(dir)
          .filter((f) => !f.endsWith('.dist-info/top_level.txt'))
          .map((f) => `${statSync(path.join(dir, f)).uid}:${statSync(path.join(dir, f)).gid}`),
      );
    expect(owners(path.join(kept.workDir!, 'layer', 'tree'))).toEqual(new Set([`${process.getuid!()}:${process.getgid!()}`]));

    const other = await build({ dir: ws.dir, runtime: ENGINE_RUNTIME, env, cache: false, out: path.join(ws.root, 'other.zip'), installer: 'docker', containerCli: 'podman', keepTemp: true, containerUser: '4242:4243' });
    cleanup.push(other.workDir!);
    expect(owners(path.join(other.workDir!, 'layer', 'tree'))).toEqual(new Set(['4242:4243']));
    expect(other.container!.user).toBe('4242:4243');
  });

  it('fails the build when pip fails inside, naming the requirement (exit 1)', () => {
    const bad = workspace(['requests', 'no-such-package-pyslim-test==1.0']);
    const before = treeFingerprint(bad.dir);
    const result = runCli(['build', 'fn', ...dockerArgs], { cwd: bad.root, env: bad.cliEnv });
    expect(result.status).toBe(1);
    expect(oneLine(result.stderr)).toMatch(/^error: pip found no version of no-such-package-pyslim-test==1\.0 for python3\.11 on x86_64/);
    expect(existsSync(path.join(bad.root, 'dist'))).toBe(false);
    expect(treeFingerprint(bad.dir)).toBe(before);
    expect(readdirSync(bad.tmp)).toEqual([]);
    const debug = runCli(['build', 'fn', ...dockerArgs, '--debug'], { cwd: bad.root, env: bad.cliEnv });
    expect(debug.stderr).toContain('ERROR: No matching distribution found for no-such-package-pyslim-test==1.0');
  });

  it('catches a wheel the image accepted but Lambda cannot load (the stand-in has glibc 2.36; python3.11 Lambda has 2.26)', () => {
    const w = workspace(['numpy==2.4.6']);
    const result = runCli(['build', 'fn', ...dockerArgs], { cwd: w.root, env: w.cliEnv });
    expect(result.status).toBe(1);
    expect(oneLine(result.stderr)).toMatch(/^error: native code that cannot load on Lambda: numpy\/.*\.so \(numpy 2\.4\.6\) needs GLIBC_2\.27, but python3\.11 runs on Amazon Linux 2 with glibc 2\.26/);
    expect(existsSync(path.join(w.root, 'dist'))).toBe(false);
  });

  it('checks imports with the image\'s own Python', () => {
    expect(container.verify).toMatchObject({ interpreter: 'public.ecr.aws/lambda/python:3.11-x86_64 (podman)', limited: null });
    expect(container.verify!.modules).toEqual(expect.arrayContaining(['requests', 'urllib3', 'idna', 'certifi']));
  });

  it('says when the image is missing (exit 4)', () => {
    const w = workspace(['requests']);
    const result = runCli(['build', 'fn', ...dockerArgs, '--image', 'localhost/no-such-image:1'], { cwd: w.root, env: w.cliEnv });
    expect(result.status).toBe(4);
    expect(oneLine(result.stderr)).toBe(
      'error: image localhost/no-such-image:1 is not available locally and could not be pulled. Pull it (podman pull --platform linux/amd64 localhost/no-such-image:1), pass --image <ref>, or build with --installer local',
    );
  });

  it('says when the engine is not installed (exit 4)', () => {
    const w = workspace(['requests']);
    const result = runCli(['build', 'fn', '--installer', 'docker', '--container-cli', '/nonexistent/podman', '--runtime', ENGINE_RUNTIME], { cwd: w.root, env: w.cliEnv });
    expect(result.status).toBe(4);
    expect(oneLine(result.stderr)).toBe(
      'error: container engine "/nonexistent/podman" is not installed (not found on PATH). Install Docker or Podman, pick another with --container-cli, or build with --installer local',
    );
  });

  it('says when the Docker daemon is not running (exit 4), with the real docker client', () => {
    // The unit tests cover this message with the seam fake where no docker client is installed.
    if (spawnSync('docker', ['--version']).error) return;
    const w = workspace(['requests']);
    const result = runCli(['build', 'fn', '--installer', 'docker', '--container-cli', 'docker', '--runtime', ENGINE_RUNTIME], {
      cwd: w.root,
      env: { ...w.cliEnv, DOCKER_HOST: `unix://${path.join(w.root, 'no-daemon.sock')}` },
    });
    expect(result.status).toBe(4);
    expect(oneLine(result.stderr)).toMatch(/^error: the docker daemon is not running \(Cannot connect to the Docker daemon at unix:\/\/.*no-daemon\.sock\. Is the docker daemon running\?\)\. Start it/);
  });

  it('explains an arm64 build on an amd64-only engine (exit 4)', () => {
    const w = workspace(['requests']);
    const result = runCli(['build', 'fn', ...dockerArgs, '--arch', 'arm64', '--image', 'public.ecr.aws/lambda/python:3.11-x86_64'], { cwd: w.root, env: w.cliEnv });
    expect(result.status).toBe(4);
    expect(oneLine(result.stderr)).toMatch(/image public\.ecr\.aws\/lambda\/python:3\.11-x86_64 is only available for amd64 here, and this build needs linux\/arm64\. Pull the arm64 image .*QEMU binfmt emulation/);
  });

  it('reports a killed container (exit 1) and leaves no container behind', async () => {
    const w = workspace(['pandas']);
    const child = startCli(['build', 'fn', ...dockerArgs], { cwd: w.root, env: w.cliEnv });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => pyslimContainers().length > 0);
    for (const name of pyslimContainers()) podman(['kill', name]);
    const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(status).toBe(1);
    expect(oneLine(stderr)).toMatch(/^error: the build container was killed \(exit 137/);
    await waitFor(() => pyslimContainers().length === 0, 10_000);
    expect(existsSync(path.join(w.root, 'dist'))).toBe(false);
  });

  it('stops a container that runs past --container-timeout (exit 1)', () => {
    const w = workspace(['pandas']);
    const result = runCli(['build', 'fn', ...dockerArgs, '--container-timeout', '1'], { cwd: w.root, env: w.cliEnv });
    expect(result.status).toBe(1);
    expect(oneLine(result.stderr)).toBe('error: the build container timed out after 1 s and was removed. Raise --container-timeout, or check that pip can reach its index from inside the container');
    expect(pyslimContainers()).toEqual([]);
    expect(readdirSync(w.tmp)).toEqual([]);
  });

  it('on Ctrl-C stops the container, removes temp files and writes nothing (exit 130)', async () => {
    const w = workspace(['pandas']);
    const before = treeFingerprint(w.dir);
    const child = startCli(['build', 'fn', ...dockerArgs], { cwd: w.root, env: w.cliEnv });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => pyslimContainers().length > 0);
    child.kill('SIGINT');
    const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(status).toBe(130);
    expect(stderr.trim()).toBe('error: build interrupted');
    expect(pyslimContainers()).toEqual([]);
    expect(readdirSync(w.tmp)).toEqual([]);
    expect(existsSync(path.join(w.root, 'dist'))).toBe(false);
    expect(treeFingerprint(w.dir)).toBe(before);
  });

  it('auto uses the container when the engine answers, and falls back to local when none does', () => {
    const w = workspace(['requests']);
    const auto = runCli(['build', 'fn', '--container-cli', 'podman', '--runtime', ENGINE_RUNTIME, '--json', 'auto.json', '-q'], { cwd: w.root, env: w.cliEnv });
    expect(auto.status).toBe(0);
    const report = JSON.parse(readFileSync(path.join(w.root, 'auto.json'), 'utf8'));
    expect(report.installer).toBe('docker');
    expect(report.installerReason).toMatch(/^auto: a container engine answered \(podman /);

    const fallback = runCli(['build', 'fn', '--container-cli', '/nonexistent/docker', '--runtime', ENGINE_RUNTIME, '--json', 'fallback.json'], { cwd: w.root, env: w.cliEnv });
    expect(fallback.status).toBe(0);
    const fellBack = JSON.parse(readFileSync(path.join(w.root, 'fallback.json'), 'utf8'));
    expect(fellBack.installer).toBe('local');
    expect(fellBack.installerReason).toBe('auto: no container engine answered (/nonexistent/docker: container engine "/nonexistent/docker" is not installed (not found on PATH))');
    expect(fallback.stdout).toContain('installer local (auto: no container engine answered');
  });
});

describeWithEngine('what the pip inside the container read (podman, real engine)', () => {
  it('is noted in host terms: a warm rebuild with nothing changed runs no container for pip, and a new release is seen', async () => {
    const ws = workspace(['pyslim_top']);
    const files = path.join(ws.root, 'index', 'files');
    mkdirSync(files, { recursive: true });
    makeWheel(files, 'pyslim_top', '1.0', ['pyslim_dep']);
    makeWheel(files, 'pyslim_dep', '1.0');
    // The index replaces PyPI, which this machine cannot reach (and a container's network may reach what the host cannot).
    const indexUrl = pathToFileURL(writeSimpleIndex(path.join(ws.root, 'index'))).href;
    const options = { dir: ws.dir, out: path.join(ws.root, 'fn.zip'), runtime: ENGINE_RUNTIME, env: { ...env, TMPDIR: ws.tmp }, cacheDir: ws.cache, installer: 'docker' as const, containerCli: 'podman', indexUrl, verify: false };
    const first = await build(options);
    expect(first.cache).toMatchObject({ status: 'miss', resolution: 'pip' });
    writeFileSync(path.join(ws.dir, 'handler.py'), `${readFileSync(path.join(ws.dir, 'handler.py'), 'utf8')}# edit\n`);
    const seam = recordingExec();
    const warm = await build({ ...options, exec: seam.exec });
    expect(warm.cache).toMatchObject({ status: 'hit', resolution: 'revalidated', key: first.cache!.key });
    expect(seam.dryRuns()).toBe(0);
    makeWheel(files, 'pyslim_dep', '2.0');
    writeSimpleIndex(path.join(ws.root, 'index'));
    const after = await build({ ...options, exec: seam.exec });
    expect(seam.dryRuns()).toBeGreaterThan(0);
    // Named by its host path, not the container's mount.
    expect(after.cache!.resolutionReason).toBe(`changed since the last build: index page ${indexUrl}/pyslim-dep/`);
    expect(after.packages.find((p) => p.name === 'pyslim_dep')!.version).toBe('2.0');
  });

  it('a page the host cannot fetch is never taken as unchanged: the container may reach it', async () => {
    const ws = workspace(['requests']);
    // An index no one can reach, in place of PyPI; requests comes from the host's configured indexes.
    const indexUrl = 'https://pyslim-nowhere.invalid/simple/';
    const options = { dir: ws.dir, out: path.join(ws.root, 'fn.zip'), runtime: ENGINE_RUNTIME, env: { ...env, TMPDIR: ws.tmp }, cacheDir: ws.cache, installer: 'docker' as const, containerCli: 'podman', indexUrl };
    await build(options);
    const warm = await build(options);
    expect(warm.cache).toMatchObject({ status: 'hit', resolution: 'pip' });
    expect(warm.cache!.resolutionReason).toMatch(/^changed since the last build: index page https:\/\/pyslim-nowhere\.invalid\/simple\//);
  });
});
