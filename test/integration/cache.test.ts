/**
 * The dependency cache on real builds: warm rebuilds byte-identical to cold ones, a miss (named)
 * for every key input that changes, corrupt and partial entries rebuilt, concurrent builds on one
 * cache, eviction, and `pyslim cache clean`.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { build, type BuildReport } from '../../src/index.js';
import { runCli, startCli } from '../helpers/cli.js';
import { removeTree, sha256, tempDir, scratchFolders } from '../helpers/lambda.js';
import { recordingExec } from '../helpers/recording-exec.js';
import { makeWheel, writeSimpleIndex } from '../helpers/wheels.js';

const env = { ...process.env, PIP_RETRIES: '0' };
const { scratch } = scratchFolders();

function functionFolder(requirements = 'six\nidna\n'): string {
  const dir = scratch();
  writeFileSync(path.join(dir, 'requirements.txt'), requirements);
  writeFileSync(path.join(dir, 'handler.py'), 'import six, idna\n\ndef handler(event, context):\n    return six.PY3\n');
  return dir;
}

const entriesIn = (cacheDir: string) => readdirSync(path.join(cacheDir, 'deps')).filter((n) => !n.startsWith('.'));

async function buildWith(dir: string, cacheDir: string, options: Parameters<typeof build>[0] = {}): Promise<BuildReport> {
  return build({ dir, out: path.join(scratch(), 'function.zip'), runtime: 'python3.11', installer: 'local', env, cacheDir, ...options });
}

describe('warm rebuilds', () => {
  it('reuse the cached layer after a source-only change, byte-identical to a cold build', async () => {
    const cacheDir = scratch();
    const dir = functionFolder();
    const first = await buildWith(dir, cacheDir);
    expect(first.cache).toMatchObject({ status: 'miss', reason: 'first build of this function with this cache', reusedEntries: 0 });
    appendFileSync(path.join(dir, 'handler.py'), '# a one-line change\n');
    const warm = await buildWith(dir, cacheDir);
    expect(warm.cache).toMatchObject({ status: 'hit', reason: 'hit', stages: { install: 'hit', prune: 'hit', compile: 'hit', zip: 'hit' } });
    expect(warm.cache!.reusedEntries).toBeGreaterThan(20);
    expect(warm.cache!.compressedEntries).toBe(3); // handler.py, its bytecode, requirements.txt
    expect(warm.timings.install).toBeUndefined();
    const cold = await buildWith(dir, cacheDir, { cache: false });
    expect(cold.cache!.status).toBe('disabled');
    expect(warm.output.sha256).toBe(cold.output.sha256);
    expect(sha256(warm.output.path)).toBe(sha256(cold.output.path));
    // The report of a warm build counts the same packages as the cold one.
    expect(warm.packages).toEqual(cold.packages);
  });
});

/** A find-links folder holding pyslim_top 1.0, which depends on pyslim_dep, and pyslim_dep 1.0. */
function topWithDependency(): string {
  const links = scratch();
  makeWheel(links, 'pyslim_top', '1.0', ['pyslim_dep']);
  makeWheel(links, 'pyslim_dep', '1.0');
  return links;
}

describe('how a warm rebuild finds the resolved versions', () => {
  it('unpinned requirements: when nothing pip read has changed, the last resolution is reused without running pip', async () => {
    const cacheDir = scratch();
    const dir = functionFolder();
    const first = await buildWith(dir, cacheDir);
    expect(first.cache).toMatchObject({ status: 'miss', resolution: 'pip', resolutionReason: 'no cached build of this function with the same inputs' });
    appendFileSync(path.join(dir, 'handler.py'), '# edit\n');
    const seam = recordingExec();
    const warm = await buildWith(dir, cacheDir, { exec: seam.exec });
    expect(warm.cache).toMatchObject({ status: 'hit', resolution: 'revalidated', resolutionReason: null, key: first.cache!.key });
    expect(seam.dryRuns()).toBe(0);
    expect(warm.timings.resolve).toBeUndefined();
    expect(warm.timings.revalidate).toBeGreaterThanOrEqual(0);
    expect(warm.input!.resolved).toEqual(first.input!.resolved);
    const cold = await buildWith(dir, cacheDir, { cache: false });
    expect(warm.output.sha256).toBe(cold.output.sha256);
    // The note of what pip read names page URLs, which may carry a token: only the user reads it.
    const notes = readdirSync(path.join(cacheDir, 'deps', '.last'));
    expect(notes).toHaveLength(1);
    expect(readFileSync(path.join(cacheDir, 'deps', '.last', notes[0]!), 'utf8')).toContain('"pipSources"');
    expect(statSync(path.join(cacheDir, 'deps', '.last', notes[0]!)).mode & 0o777).toBe(0o600);
  });

  it('when a page pip read changed, pip resolves again while the build goes on with the last resolution, and what it read is noted for next time', async () => {
    const cacheDir = scratch();
    const links = topWithDependency();
    const dir = functionFolder('pyslim_top\n');
    const options = { findLinks: [links], verify: false };
    await buildWith(dir, cacheDir, options);
    // A wheel of another project: the find-links folder changed, the resolution does not.
    makeWheel(links, 'pyslim_unrelated', '1.0');
    appendFileSync(path.join(dir, 'handler.py'), '# edit\n');
    const seam = recordingExec();
    const events: string[] = [];
    const warm = await buildWith(dir, cacheDir, { ...options, exec: seam.exec, onProgress: (e) => e.status !== 'progress' && events.push(`${e.stage} ${e.status}`) });
    expect(warm.cache).toMatchObject({ status: 'hit', resolution: 'pip' });
    expect(warm.cache!.resolutionReason).toBe(`changed since the last build: find-links folder ${links}`);
    expect(seam.dryRuns()).toBe(1);
    // The cached layer was looked up before pip finished, and the zip published after.
    expect(events.indexOf('cache start')).toBeLessThan(events.indexOf('resolve done'));
    const cold = await buildWith(dir, cacheDir, { ...options, cache: false });
    expect(warm.output.sha256).toBe(cold.output.sha256);
    // The folder as pip read it this time is what the next build checks.
    const next = await buildWith(dir, cacheDir, { ...options, exec: seam.exec });
    expect(next.cache).toMatchObject({ status: 'hit', resolution: 'revalidated' });
    expect(seam.dryRuns()).toBe(1);
  });

  it('a new release on a file:// simple index page is seen: the page changed, so pip resolves again', async () => {
    const cacheDir = scratch();
    const root = scratch();
    mkdirSync(path.join(root, 'files'));
    makeWheel(path.join(root, 'files'), 'pyslim_top', '1.0', ['pyslim_dep']);
    makeWheel(path.join(root, 'files'), 'pyslim_dep', '1.0');
    const options = { indexUrl: pathToFileURL(writeSimpleIndex(root)).href, verify: false };
    const dir = functionFolder('pyslim_top\n');
    const first = await buildWith(dir, cacheDir, options);
    expect(first.packages.find((p) => p.name === 'pyslim_dep')!.version).toBe('1.0');
    appendFileSync(path.join(dir, 'handler.py'), '# edit\n');
    expect((await buildWith(dir, cacheDir, options)).cache).toMatchObject({ status: 'hit', resolution: 'revalidated' });
    makeWheel(path.join(root, 'files'), 'pyslim_dep', '2.0');
    writeSimpleIndex(root);
    const seam = recordingExec();
    const after = await buildWith(dir, cacheDir, { ...options, exec: seam.exec });
    expect(seam.dryRuns()).toBeGreaterThan(0);
    expect(after.cache).toMatchObject({ status: 'miss', resolution: 'pip' });
    expect(after.cache!.resolutionReason).toMatch(/^changed since the last build: index page file:.*\/pyslim-dep\/$/);
    expect(after.cache!.reason).toMatch(/resolved versions/);
    expect(after.packages.find((p) => p.name === 'pyslim_dep')!.version).toBe('2.0');
  });

  it('when pip resolves differently from the last build, a warm build starts over and serves the new release', async () => {
    const cacheDir = scratch();
    const links = topWithDependency();
    const dir = functionFolder('pyslim_top\n');
    const options = { findLinks: [links], verify: false };
    const first = await buildWith(dir, cacheDir, options);
    makeWheel(links, 'pyslim_dep', '2.0');
    appendFileSync(path.join(dir, 'handler.py'), '# edit\n');
    const seam = recordingExec();
    const after = await buildWith(dir, cacheDir, { ...options, exec: seam.exec });
    // The first attempt assumed the old resolution and hit; pip disagreed; the second asked pip first.
    expect(seam.dryRuns()).toBe(2);
    expect(after.cache).toMatchObject({ status: 'miss', resolution: 'pip' });
    expect(after.cache!.key).not.toBe(first.cache!.key);
    expect(after.packages.find((p) => p.name === 'pyslim_dep')!.version).toBe('2.0');
    const cold = await buildWith(dir, cacheDir, { ...options, cache: false });
    expect(after.output.sha256).toBe(cold.output.sha256);
  });

  it('requirements that pin every distribution reuse the last resolution: no pip run, and the same bytes as a cold build', async () => {
    const cacheDir = scratch();
    const probe = await buildWith(functionFolder(), scratch(), { cache: false });
    const pins = probe.packages.map((p) => `${p.name}==${p.version}`);
    expect(pins).toHaveLength(2);
    const dir = functionFolder(`${pins.join('\n')}\n`);
    const first = await buildWith(dir, cacheDir);
    expect(first.cache).toMatchObject({ status: 'miss', resolution: 'pip' });
    appendFileSync(path.join(dir, 'handler.py'), '# edit\n');
    const seam = recordingExec();
    const warm = await buildWith(dir, cacheDir, { exec: seam.exec });
    expect(warm.cache).toMatchObject({ status: 'hit', resolution: 'pinned', key: first.cache!.key });
    expect(seam.dryRuns()).toBe(0);
    expect(warm.timings.resolve).toBeUndefined();
    expect(warm.input!.resolved).toEqual(first.input!.resolved);
    const cold = await buildWith(dir, cacheDir, { cache: false });
    expect(warm.output.sha256).toBe(cold.output.sha256);
    // Any other input changed goes back to pip.
    const otherPrune = await buildWith(dir, cacheDir, { exec: seam.exec, prune: 'aggressive' });
    expect(otherPrune.cache).toMatchObject({ status: 'miss', resolution: 'pip' });
    expect(seam.dryRuns()).toBe(1);
  });

  it("a pinned requirement whose dependency is not pinned is resolved again, and sees the dependency's new release", async () => {
    const cacheDir = scratch();
    const links = topWithDependency();
    const dir = functionFolder('pyslim_top==1.0\n');
    const first = await buildWith(dir, cacheDir, { findLinks: [links], verify: false });
    expect(first.input!.resolved.map((r) => r.split(' ')[0]).sort()).toEqual(['pyslim_dep==1.0', 'pyslim_top==1.0']);
    makeWheel(links, 'pyslim_dep', '2.0');
    const after = await buildWith(dir, cacheDir, { findLinks: [links], verify: false });
    expect(after.cache).toMatchObject({ status: 'miss', resolution: 'pip' });
    expect(after.cache!.reason).toMatch(/resolved versions/);
    expect(after.packages.find((p) => p.name === 'pyslim_dep')!.version).toBe('2.0');
  });
});

describe('every cache-key input that changes is a miss, and the report names it', () => {
  const cacheDir = tempDir();
  afterAll(() => removeTree(cacheDir));

  it.each<[string, string, (dir: string, links: string) => Parameters<typeof build>[0]]>([
    ['requirements', 'requirements', (dir) => (appendFileSync(path.join(dir, 'requirements.txt'), 'idna\n'), {})],
    ['runtime', 'runtime', () => ({ runtime: 'python3.12', verify: false })],
    ['arch', 'architecture', () => ({ arch: 'arm64' })],
    ['prune profile', 'prune options', () => ({ prune: 'aggressive' })],
    ['--exclude', 'prune options', () => ({ exclude: ['*.txt'] })],
    ['--strip', 'prune options', () => ({ strip: 'debug' })],
    ['bytecode mode', 'bytecode mode', () => ({ bytecode: 'none' })],
    ['index configuration (--find-links)', 'index configuration', () => ({ findLinks: [scratch()] })],
    ['resolved versions (a new release appears on the index)', 'resolved versions', (_, links) => (makeWheel(links, 'six', '99.0.0'), {})],
  ])('%s', async (_, named, change) => {
    const dir = functionFolder('six\n');
    const links = scratch();
    await buildWith(dir, cacheDir, { findLinks: [links] });
    const options = change(dir, links);
    const changed = await buildWith(dir, cacheDir, { findLinks: [links], ...options });
    expect(changed.cache!.status).toBe('miss');
    expect(changed.cache!.reason).toMatch(new RegExp(`^changed since the last cached build: .*\\b${named}\\b`));
    // And the same inputs again are a hit.
    const again = await buildWith(dir, cacheDir, { findLinks: [links], ...options });
    expect(again.cache!.status).toBe('hit');
  });

  it('a new release on the index is installed, not served stale', async () => {
    const dir = functionFolder('six\n');
    const links = scratch();
    const before = await buildWith(dir, cacheDir, { findLinks: [links] });
    makeWheel(links, 'six', '99.0.0');
    const after = await buildWith(dir, cacheDir, { findLinks: [links] });
    expect(before.packages.find((p) => p.name === 'six')!.version).not.toBe('99.0.0');
    expect(after.packages.find((p) => p.name === 'six')!.version).toBe('99.0.0');
  });
});

describe('a damaged cache is never served', () => {
  it.each([
    ['a flipped byte in the compressed entries', (entry: string) => {
      const file = path.join(entry, 'entries.bin');
      const bytes = readFileSync(file);
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      writeFileSync(file, bytes);
    }, /^a corrupt entry \(compressed entries do not match their checksum\) was found and removed$/],
    ['a truncated entries file', (entry: string) => {
      const file = path.join(entry, 'entries.bin');
      writeFileSync(file, readFileSync(file).subarray(0, 1000));
    }, /^a corrupt entry/],
    ['an entry without its manifest (a writer that died)', (entry: string) => rmSync(path.join(entry, 'manifest.json')), /^an incomplete entry was found and removed$/],
  ])('%s: detected, rebuilt, and the zip is right', async (_, damage, reason) => {
    const cacheDir = scratch();
    const dir = functionFolder();
    const cold = await buildWith(dir, cacheDir);
    damage(path.join(cacheDir, 'deps', entriesIn(cacheDir)[0]!));
    const rebuilt = await buildWith(dir, cacheDir);
    expect(rebuilt.cache!.status).toBe('miss');
    expect(rebuilt.cache!.reason).toMatch(reason);
    expect(rebuilt.output.sha256).toBe(cold.output.sha256);
    expect((await buildWith(dir, cacheDir)).cache!.status).toBe('hit');
  });
});

describe('sharing and size', () => {
  it('two builds at once on one cache both succeed with the same bytes, and leave one entry', async () => {
    const cacheDir = scratch();
    const dir = functionFolder('six\nidna\ncertifi\n');
    const run = (out: string) =>
      new Promise<number | null>((resolve) => {
        const child = startCli(['build', dir, '--installer', 'local', '--runtime', 'python3.11', '-o', out, '--cache-dir', cacheDir, '-q']);
        child.on('exit', resolve);
      });
    const outs = [path.join(scratch(), 'a.zip'), path.join(scratch(), 'b.zip')];
    expect(await Promise.all(outs.map(run))).toEqual([0, 0]);
    expect(sha256(outs[0]!)).toBe(sha256(outs[1]!));
    expect(entriesIn(cacheDir)).toHaveLength(1);
    expect(readdirSync(path.join(cacheDir, 'deps')).filter((n) => n.startsWith('.building') || n.startsWith('.trash'))).toEqual([]);
  });

  it('evicts the least-recently used entries beyond --cache-max-size', async () => {
    const cacheDir = scratch();
    const first = await buildWith(functionFolder('six\n'), cacheDir, { cacheMaxSize: '1B' });
    expect(entriesIn(cacheDir)).toEqual([first.cache!.key]);
    const second = await buildWith(functionFolder('idna\n'), cacheDir, { cacheMaxSize: '1B' });
    // The entry just written stays (a build never evicts its own); the older one goes.
    expect(entriesIn(cacheDir)).toEqual([second.cache!.key]);
  });

  it('pyslim cache clean empties the cache', async () => {
    const cacheDir = scratch();
    await buildWith(functionFolder(), cacheDir);
    const result = runCli(['cache', 'clean', '--cache-dir', cacheDir]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^removed 1 cached layer \([\d.]+ [kM]B\) from /);
    expect(existsSync(path.join(cacheDir, 'deps'))).toBe(false);
  });
});


describe('the host Python remembered from the last build', () => {
  const lastFile = (cacheDir: string) => {
    const dir = path.join(cacheDir, 'deps', '.last');
    return path.join(dir, readdirSync(dir)[0]!);
  };
  const remember = (cacheDir: string, hostPython: unknown) => {
    const file = lastFile(cacheDir);
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), hostPython }));
  };

  it('is used at once on the next build, and checked against the probe', async () => {
    const cacheDir = scratch();
    const dir = functionFolder();
    const first = await buildWith(dir, cacheDir);
    const remembered = JSON.parse(readFileSync(lastFile(cacheDir), 'utf8')).hostPython;
    expect(remembered).toMatchObject({ command: 'python3.11', version: '3.11' });
    expect(first.bytecode.interpreter).toContain(remembered.executable);
    appendFileSync(path.join(dir, 'handler.py'), '# edit\n');
    const seam = recordingExec();
    const warm = await buildWith(dir, cacheDir, { exec: seam.exec });
    expect(warm.cache!.status).toBe('hit');
    // The probe still ran (through the command), and everything else through the remembered executable.
    expect(seam.programs().filter((p) => p === 'python3.11')).toHaveLength(1);
    expect(seam.programs().filter((p) => p === remembered.executable).length).toBeGreaterThan(0);
  });

  it('when the host Python changed, the build starts over with the one the probe found', async () => {
    const cacheDir = scratch();
    const dir = functionFolder();
    await buildWith(dir, cacheDir);
    const real = JSON.parse(readFileSync(lastFile(cacheDir), 'utf8')).hostPython;
    // Another path to a working interpreter: the speculative build succeeds with it, then the probe disagrees.
    const other = path.join(scratch(), 'python3.11');
    symlinkSync(real.executable, other);
    remember(cacheDir, { ...real, executable: other });
    appendFileSync(path.join(dir, 'handler.py'), '# edit\n');
    const seam = recordingExec();
    const rebuilt = await buildWith(dir, cacheDir, { exec: seam.exec });
    expect(seam.programs()).toContain(other);
    expect(rebuilt.bytecode.interpreter).toContain(real.executable);
    expect(rebuilt.bytecode.interpreter).not.toContain(other);
    expect(JSON.parse(readFileSync(lastFile(cacheDir), 'utf8')).hostPython.executable).toBe(real.executable);
    const cold = await buildWith(dir, cacheDir, { cache: false });
    expect(rebuilt.output.sha256).toBe(cold.output.sha256);
  });

  it('a remembered Python that no longer exists, or a damaged hint, costs nothing but time', async () => {
    const cacheDir = scratch();
    const dir = functionFolder();
    const first = await buildWith(dir, cacheDir);
    const real = JSON.parse(readFileSync(lastFile(cacheDir), 'utf8')).hostPython;
    for (const hint of [{ ...real, executable: path.join(scratch(), 'gone', 'python3.11') }, 'not a python', { command: 3 }]) {
      remember(cacheDir, hint);
      const again = await buildWith(dir, cacheDir);
      expect(again.cache!.status).toBe('hit');
      expect(again.bytecode.interpreter).toContain(real.executable);
      expect(again.output.sha256).toBe(first.output.sha256);
    }
  });
});
