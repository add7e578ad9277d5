/**
 * What pip read for a resolution (recorded by docker/pip_for_target.py) and pyslim's later check
 * that pip would read the same (src/installers/pip-sources.ts), with real pip through the local
 * installer against real indexes: a find-links folder, a file:// simple index, and a simple index
 * this test serves over HTTP. Unchanged, the check passes; each thing pip reads, changed, fails it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scriptPath } from '../../src/assets.js';
import { execSubprocess } from '../../src/exec.js';
import { findHostPython, type HostPython } from '../../src/installers/host-python.js';
import { createLocalInstaller } from '../../src/installers/local.js';
import { pathState, readPipSources, type PipSources } from '../../src/installers/pip-sources.js';
import type { Installer } from '../../src/installers/types.js';
import { HOST_PYTHON, scratchFolders } from '../helpers/lambda.js';
import { makeWheel, writeSimpleIndex } from '../helpers/wheels.js';

const { scratch } = scratchFolders();

/** Serves folders as simple indexes over HTTP (text/html pages, 404 for anything missing). */
let server: http.Server;
let port = 0;
const served = new Map<string, string>();
beforeAll(async () => {
  server = http.createServer((request, response) => {
    const [, name, ...rest] = (request.url ?? '/').split('/');
    const root = served.get(name ?? '');
    let file = root ? path.join(root, ...rest.map(decodeURIComponent)) : '';
    if (file.endsWith(path.sep) || rest.at(-1) === '') file = path.join(file, 'index.html');
    try {
      const body = readFileSync(file);
      response.writeHead(200, { 'content-type': file.endsWith('.html') ? 'text/html' : 'application/octet-stream' }).end(body);
    } catch {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let python: HostPython;
beforeAll(async () => {
  python = await findHostPython(execSubprocess, process.env, '3.11', HOST_PYTHON);
});

interface Fixture {
  /** A simple index served over HTTP: pyslim_top (which needs pyslim_dep). */
  httpRoot: string;
  /** A find-links folder: pyslim_dep. */
  links: string;
  /** A simple index on disk: pyslim_extra. */
  fileRoot: string;
  /** A pip configuration file (PIP_CONFIG_FILE) naming a constraints file. */
  configFile: string;
  constraints: string;
  env: Record<string, string | undefined>;
  indexUrl: string;
}

function fixture(): Fixture {
  const httpRoot = scratch();
  mkdirSync(path.join(httpRoot, 'files'));
  makeWheel(path.join(httpRoot, 'files'), 'pyslim_top', '1.0', ['pyslim_dep', 'pyslim_extra']);
  writeSimpleIndex(httpRoot);
  const name = `index${served.size}`;
  served.set(name, httpRoot);
  const links = scratch();
  makeWheel(links, 'pyslim_dep', '1.0');
  const fileRoot = scratch();
  mkdirSync(path.join(fileRoot, 'files'));
  makeWheel(path.join(fileRoot, 'files'), 'pyslim_extra', '1.0');
  writeSimpleIndex(fileRoot);
  const settings = scratch();
  const constraints = path.join(settings, 'constraints.txt');
  writeFileSync(constraints, 'pyslim_dep<3\n');
  const configFile = path.join(settings, 'pip.conf');
  writeFileSync(configFile, `[global]\nconstraint = ${constraints}\n`);
  return {
    httpRoot,
    links,
    fileRoot,
    configFile,
    constraints,
    env: { ...process.env, PIP_RETRIES: '0', PIP_CONFIG_FILE: configFile },
    indexUrl: `http://127.0.0.1:${port}/${name}/simple/`,
  };
}

function installer(f: Fixture, env = f.env, extra: string[] = []): Installer {
  const pipOptions = ['--index-url', f.indexUrl, '--extra-index-url', pathToFileURL(path.join(f.fileRoot, 'simple')).href, '--find-links', f.links, ...extra];
  return createLocalInstaller({ exec: execSubprocess, env, python, runtime: 'python3.11', reason: 'test', pipOptions });
}

/** Resolves pyslim_top with real pip; returns what pip installed and what it read. */
async function resolve(f: Fixture, chosen = installer(f)) {
  const work = scratch();
  const requirementsFile = path.join(work, 'requirements.txt');
  writeFileSync(requirementsFile, 'pyslim_top\n');
  mkdirSync(path.join(work, 'target'));
  mkdirSync(path.join(work, 'tmp'));
  return chosen.resolve({ requirementsFile, requireHashes: false, localPaths: [], targetDir: path.join(work, 'target'), scratchDir: path.join(work, 'tmp'), runtime: 'python3.11', arch: 'x86_64' });
}

async function recorded(f: Fixture): Promise<PipSources> {
  const { distributions, sources } = await resolve(f);
  expect(distributions.map((d) => `${d.name}==${d.version}`)).toEqual(['pyslim_dep==1.0', 'pyslim_extra==1.0', 'pyslim_top==1.0']);
  expect(sources).toBeDefined();
  expect(await installer(f).sourcesChange!(sources!)).toBeUndefined();
  return sources!;
}

describe('the record of what pip read', () => {
  it('holds the pages, folders, files and configuration pip read, and nothing of pyslim\'s own temp folder', async () => {
    const f = fixture();
    const sources = await recorded(f);
    expect(sources.pages[`${f.indexUrl}pyslim-top/`]).toMatch(/^sha256:/);
    // pyslim_dep is not on the HTTP index: pip got nothing there, and the record says so.
    expect(sources.pages[`${f.indexUrl}pyslim-dep/`]).toBeNull();
    expect(sources.pages[`${pathToFileURL(path.join(f.fileRoot, 'simple')).href}/pyslim-extra/`]).toMatch(/^sha256:/);
    expect(sources.paths[f.links]).toMatch(/^listing:/);
    expect(sources.config[f.configFile]).toMatch(/^sha256:/);
    expect(Object.keys(sources.files)).toContain(f.constraints);
    expect(Object.keys(sources.files).every((file) => !file.endsWith(`${path.sep}requirements.txt`))).toBe(true);
  });

  it('is not kept when an index URL carries credentials', async () => {
    const f = fixture();
    const withCredentials = { ...f, indexUrl: f.indexUrl.replace('http://', 'http://user:secret@') };
    const { distributions, sources } = await resolve(withCredentials, installer(withCredentials));
    expect(distributions).toHaveLength(3);
    expect(sources).toBeUndefined();
  });

  it('is not kept when it does not account for a distribution pip chose (a pip whose internals moved)', async () => {
    const f = fixture();
    const { distributions } = await resolve(f);
    const record = path.join(scratch(), 'record.json');
    const complete = { format: 1, complete: true, uname: ['', ''], config: {}, paths: {}, files: {} };
    const pages = { [`${f.indexUrl}pyslim-top/`]: 'sha256:00', [`${f.indexUrl}pyslim-extra/`]: null };
    const read = (raw: object) => (writeFileSync(record, JSON.stringify(raw)), readPipSources(record, { env: f.env, pipVersion: python.pipVersion, ownFolders: [scratch()], distributions }));
    // pyslim_dep came from the find-links folder, which this record never saw.
    expect(await read({ ...complete, pages })).toBeUndefined();
    expect(await read({ ...complete, pages, paths: { [f.links]: 'listing:00' } })).toBeDefined();
    expect(await read({ ...complete, complete: false, pages, paths: { [f.links]: 'listing:00' } })).toBeUndefined();
  });

  it('describes a folder the way pyslim does (names, sizes, modification times)', () => {
    const folder = scratch();
    writeFileSync(path.join(folder, 'ünïcödé-1.0-py3-none-any.whl'), 'x');
    writeFileSync(path.join(folder, 'B.whl'), 'yy');
    mkdirSync(path.join(folder, 'sub'));
    symlinkSync(path.join(folder, 'missing'), path.join(folder, 'dangling'));
    const script = `import sys; sys.path.insert(0, sys.argv[1]); import pip_for_target as p; print(p.path_state(sys.argv[2], True)); print(p.path_state(sys.argv[3], False)); print(p.path_state(sys.argv[4], False))`;
    const wheel = path.join(folder, 'B.whl');
    const fromPython = execFileSync(HOST_PYTHON, ['-c', script, path.dirname(scriptPath('pip_for_target.py')), folder, wheel, path.join(folder, 'none')], { encoding: 'utf8' }).trim().split('\n');
    return Promise.all([pathState(folder, true), pathState(wheel, false), pathState(path.join(folder, 'none'), false)]).then((fromNode) => expect(fromNode).toEqual(fromPython));
  });
});

describe('the check names what pip would read differently', () => {
  it.each<[string, (f: Fixture) => void, RegExp]>([
    ['a new release on an HTTP index page', (f) => (makeWheel(path.join(f.httpRoot, 'files'), 'pyslim_top', '2.0', ['pyslim_dep']), writeSimpleIndex(f.httpRoot)), /^index page http:\/\/127\.0\.0\.1:\d+\/index\d+\/simple\/pyslim-top\/$/],
    ['an HTTP page that was there is gone', (f) => rmSync(path.join(f.httpRoot, 'simple', 'pyslim-top'), { recursive: true }), /^index page http:.*\/pyslim-top\/$/],
    ['a page that was not found now is', (f) => (makeWheel(path.join(f.httpRoot, 'files'), 'pyslim_dep', '2.0'), writeSimpleIndex(f.httpRoot)), /^index page http:.*\/pyslim-dep\/$/],
    ['a file:// index page changed', (f) => (makeWheel(path.join(f.fileRoot, 'files'), 'pyslim_extra', '1.1'), writeSimpleIndex(f.fileRoot)), /^index page file:.*\/pyslim-extra\/$/],
    ['a wheel added to a find-links folder', (f) => makeWheel(f.links, 'pyslim_dep', '1.5'), /^find-links folder \//],
    ['a find-links wheel rewritten under the same name', (f) => makeWheel(f.links, 'pyslim_dep', '1.0', ['six']), /^(find-links folder|local path) \//],
    ["a constraints file from pip's configuration", (f) => writeFileSync(f.constraints, 'pyslim_dep<2\npyslim_top<2\n'), /^file \/.*constraints\.txt$/],
    ["pip's configuration file", (f) => writeFileSync(f.configFile, `[global]\nconstraint = ${f.constraints}\npre = true\n`), /^pip configuration file \/.*pip\.conf$/],
  ])('%s', async (_, change, named) => {
    const f = fixture();
    const sources = await recorded(f);
    change(f);
    expect(await installer(f).sourcesChange!(sources)).toMatch(named);
  });

  it("pip's environment variables, or another pip version", async () => {
    const f = fixture();
    const sources = await recorded(f);
    expect(await installer(f, { ...f.env, PIP_PRE: '1' }).sourcesChange!(sources)).toBe("pip's environment variables");
    const otherPip = createLocalInstaller({ exec: execSubprocess, env: f.env, python: { ...python, pipVersion: '0.1' }, runtime: 'python3.11', reason: 'test' });
    expect(await otherPip.sourcesChange!(sources)).toBe(`pip's version (${python.pipVersion}, now 0.1)`);
  });
});

describe('a host that does not resolve', () => {
  const nowhere = 'https://pyslim-nowhere.invalid/simple/';

  it('gave pip no pages, and gives none now: unchanged', async () => {
    const f = fixture();
    const chosen = installer(f, f.env, ['--extra-index-url', nowhere]);
    const { sources } = await resolve(f, chosen);
    expect(sources!.pages[`${nowhere}pyslim-top/`]).toBeNull();
    expect(await chosen.sourcesChange!(sources!)).toBeUndefined();
  });

  it('behind a proxy is not taken as unchanged: pip would ask the proxy', async () => {
    const f = fixture();
    const env = { ...f.env, https_proxy: 'http://127.0.0.1:9', no_proxy: '127.0.0.1' };
    const chosen = installer(f, env, ['--extra-index-url', nowhere]);
    const { sources } = await resolve(f, chosen);
    expect(sources!.pages[`${nowhere}pyslim-top/`]).toBeNull();
    expect(await chosen.sourcesChange!(sources!)).toMatch(/^index page https:\/\/pyslim-nowhere\.invalid\/simple\//);
  });
});
