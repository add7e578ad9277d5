/**
 * The remote cache against a real S3-protocol server (s3rver on 127.0.0.1) through the real AWS
 * SDK: two local cache folders and one bucket stand for two CI machines. Machine B's first build
 * is a download, byte-identical to machine A's and to a --no-cache build; altered entries, a
 * wrong signing key, a read-only run, a stopped server and two concurrent uploads each have a test.
 * The function is six + idna (the local cache tests' app): small, but it has a real pip install
 * and compiled bytecode to skip; the bench uses the mixed app.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteCache, type RemoteCacheConfig } from '../../src/cache/remote.js';
import { openS3Store } from '../../src/cache/remote-s3.js';
import { DepsCache } from '../../src/cache/store.js';
import { resolveRemoteCache } from '../../src/config.js';
import { build, type BuildReport } from '../../src/index.js';
import type { ProgressEvent } from '../../src/model/progress.js';
import { runCli } from '../helpers/cli.js';
import { extractReadOnly, importAll, scratchFolders, sha256 } from '../helpers/lambda.js';
import { S3RVER_ENV, startS3Server, type S3Server } from '../helpers/s3-server.js';

const SIGNING_KEY = 'test-signing-key-7f3a9c1e5b';
const env = { ...process.env, PIP_RETRIES: '0', ...S3RVER_ENV, PYSLIM_CACHE_SIGNING_KEY: SIGNING_KEY };
const { scratch, track } = scratchFolders();

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});

function functionFolder(): string {
  const dir = scratch();
  writeFileSync(path.join(dir, 'requirements.txt'), 'six\nidna\n');
  writeFileSync(path.join(dir, 'handler.py'), 'import six, idna\n\ndef handler(event, context):\n    return six.PY3\n');
  return dir;
}

async function buildOn(dir: string, cacheDir: string | null, prefix: string, extra: Parameters<typeof build>[0] = {}, buildEnv = env) {
  const events: ProgressEvent[] = [];
  const report = await build({
    dir,
    out: path.join(scratch(), 'function.zip'),
    runtime: 'python3.11',
    installer: 'local',
    env: buildEnv,
    ...(cacheDir ? { cacheDir } : { cache: false }),
    remoteCache: `s3://${s3.bucket}/${prefix}`,
    remoteCacheEndpoint: s3.endpoint,
    onProgress: (e) => events.push(e),
    ...extra,
  });
  return { report, stages: new Set(events.map((e) => e.stage)) };
}

/** Every file's bytes under a folder, concatenated: to look for a secret in them. */
function allBytes(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(path.join(e.parentPath, e.name), 'latin1'))
    .join('\n');
}

function remoteConfig(prefix: string, overrides: Record<string, string> = {}): RemoteCacheConfig {
  return resolveRemoteCache({ remoteCache: `s3://${s3.bucket}/${prefix}`, remoteCacheEndpoint: s3.endpoint }, { ...env, ...overrides })!;
}

describe('two CI machines sharing one bucket', () => {
  const dir = functionFolder();
  let machineA: BuildReport;
  let machineB: { report: BuildReport; stages: Set<string> };
  let cacheA: string;
  let cacheB: string;
  beforeAll(async () => {
    cacheA = scratch();
    cacheB = scratch();
    machineA = (await buildOn(dir, cacheA, 'ci')).report;
    machineB = await buildOn(dir, cacheB, 'ci');
  });

  it('machine A misses and uploads; machine B downloads, runs no pip install, and writes the same zip as A and as --no-cache', async () => {
    expect(machineA.cache).toMatchObject({ status: 'miss', remote: { lookup: 'miss', upload: 'uploaded' } });
    expect(machineA.cache!.remote!.bytesUploaded).toBeGreaterThan(100_000);
    const { report, stages } = machineB;
    expect(report.cache).toMatchObject({ status: 'hit', reason: 'hit: downloaded from the remote cache', key: machineA.cache!.key, stages: { install: 'hit', compile: 'hit', zip: 'hit' } });
    expect(report.cache!.remote).toMatchObject({ lookup: 'hit', lookupReason: null, upload: 'skipped', bytesDownloaded: machineA.cache!.remote!.bytesUploaded });
    expect(report.timings.install).toBeUndefined();
    expect(stages.has('install')).toBe(false);
    expect(stages.has('remote-cache')).toBe(true);
    expect(report.warnings).toEqual([]);
    const fresh = await build({ dir, out: path.join(scratch(), 'fresh.zip'), runtime: 'python3.11', installer: 'local', env, cache: false });
    expect(sha256(report.output.path)).toBe(sha256(machineA.output.path));
    expect(sha256(report.output.path)).toBe(sha256(fresh.output.path));
    const task = extractReadOnly(report.output.path);
    track(task);
    expect(importAll([task], ['six', 'idna', 'handler'])).toMatchObject({ status: 0 });
  });

  it('keeps the signing key and the credentials out of reports and cache folders', () => {
    for (const text of [JSON.stringify(machineA), JSON.stringify(machineB.report), allBytes(cacheA), allBytes(cacheB)]) {
      expect(text).not.toContain(SIGNING_KEY);
      expect(text).not.toContain('S3RVER');
    }
  });

  it('a tampered payload is rejected with a warning naming the key, and the build goes on as a miss', async () => {
    const key = machineA.cache!.key!;
    const { payload } = JSON.parse((await s3.get(`ci/pyslim-deps/1/${key}/manifest.json`)).toString('utf8'));
    const pack = `ci/pyslim-deps/1/${key}/${payload}`;
    const bytes = await s3.get(pack);
    bytes[bytes.length - 10]! ^= 0xff;
    await s3.put(pack, bytes);
    const { report } = await buildOn(dir, scratch(), 'ci', { remoteCacheReadOnly: true });
    expect(report.cache).toMatchObject({ status: 'miss', remote: { lookup: 'rejected', lookupReason: 'its payload does not match its SHA-256' } });
    expect(report.warnings).toEqual([{ code: 'REMOTE_CACHE', message: `remote cache entry ${key} was not used: its payload does not match its SHA-256; building it instead` }]);
    expect(sha256(report.output.path)).toBe(sha256(machineA.output.path));
  });

  it('two runners uploading the same key both succeed and leave one valid entry', async () => {
    const key = machineA.cache!.key!;
    const runners = [new RemoteCache(remoteConfig('concurrent'), openS3Store), new RemoteCache(remoteConfig('concurrent'), openS3Store)];
    await Promise.all([runners[0]!.upload(key, path.join(cacheA, 'deps', key)), runners[1]!.upload(key, path.join(cacheB, 'deps', key))]);
    expect(runners.map((r) => r.status.upload)).toEqual(['uploaded', 'uploaded']);
    const objects = await s3.list(`concurrent/pyslim-deps/1/${key}/`);
    expect(objects.filter((k) => k.endsWith('manifest.json'))).toHaveLength(1);
    const fresh = new DepsCache(scratch());
    const reader = new RemoteCache(remoteConfig('concurrent'), openS3Store);
    expect(await reader.fetch(key, fresh)).toBe(true);
    expect(await fresh.lookup(key)).toMatchObject({ status: 'hit' });
  });

  describe('entries that do not verify are never used', () => {
    const cases: [string, (key: string) => Promise<Record<string, string>>, string][] = [
      ['another signing key', async () => ({ PYSLIM_CACHE_SIGNING_KEY: 'some-other-key' }), 'its signature does not verify (another signing key, or altered)'],
      [
        'an unsigned manifest',
        async (key) => {
          const name = `ci2/pyslim-deps/1/${key}/manifest.json`;
          const { signature: _, ...unsigned } = JSON.parse((await s3.get(name)).toString('utf8'));
          await s3.put(name, JSON.stringify(unsigned));
          return {};
        },
        'it is not signed',
      ],
      [
        'a manifest whose size was altered',
        async (key) => {
          const name = `ci2/pyslim-deps/1/${key}/manifest.json`;
          const manifest = JSON.parse((await s3.get(name)).toString('utf8'));
          await s3.put(name, JSON.stringify({ ...manifest, bytes: manifest.bytes - 1 }));
          return {};
        },
        'its signature does not verify (another signing key, or altered)',
      ],
      [
        'a truncated payload',
        async (key) => {
          // The payload the current manifest names (earlier cases left others beside it).
          const { payload } = JSON.parse((await s3.get(`ci2/pyslim-deps/1/${key}/manifest.json`)).toString('utf8'));
          const pack = `ci2/pyslim-deps/1/${key}/${payload}`;
          const bytes = await s3.get(pack);
          await s3.put(pack, bytes.subarray(0, bytes.length - 1000));
          return {};
        },
        'its payload is truncated',
      ],
    ];
    it.each(cases)('%s', async (_, tamper, reason) => {
      const key = machineA.cache!.key!;
      await new RemoteCache(remoteConfig('ci2'), openS3Store).upload(key, path.join(cacheA, 'deps', key));
      const overrides = await tamper(key);
      const fresh = new DepsCache(scratch());
      const reader = new RemoteCache(remoteConfig('ci2', overrides), openS3Store);
      expect(await reader.fetch(key, fresh)).toBe(false);
      expect(reader.status).toMatchObject({ lookup: 'rejected', lookupReason: expect.stringContaining(reason) });
      expect(reader.warnings.map((w) => w.message)).toEqual([expect.stringContaining(`remote cache entry ${key} was not used`)]);
      // Nothing was published, and no staging folder is left behind.
      expect(existsSync(fresh.root) ? readdirSync(fresh.root) : []).toEqual([]);
    });
  });
});

describe('a read-only run (pull requests)', () => {
  it('downloads nothing it does not find, and uploads nothing', async () => {
    const { report } = await buildOn(functionFolder(), scratch(), 'pr-only', { remoteCacheReadOnly: true });
    expect(report.cache).toMatchObject({ status: 'miss', remote: { readOnly: true, lookup: 'miss', upload: 'skipped', uploadReason: 'read-only (--remote-cache-read-only)', bytesUploaded: 0 } });
    expect(report.warnings).toEqual([]);
    expect(await s3.list('pr-only/')).toEqual([]);
  });
});

describe('a store that cannot be used', () => {
  it('a stopped server: one warning line, a normal local build, exit code 0', async () => {
    const stopped = await startS3Server('stopped');
    await stopped.stop();
    const out = path.join(scratch(), 'function.zip');
    const json = path.join(scratch(), 'report.json');
    const result = runCli(
      ['build', functionFolder(), '--runtime', 'python3.11', '--installer', 'local', '-o', out, '--json', json, '-q', '--cache-dir', scratch(), '--remote-cache', 's3://stopped/x', '--remote-cache-endpoint', stopped.endpoint],
      { env: { ...S3RVER_ENV, PYSLIM_CACHE_SIGNING_KEY: SIGNING_KEY } },
    );
    expect(result.status).toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^warning: remote cache s3:\/\/stopped\/x not used: the store failed \(cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\); building as without it$/)]);
    const report = JSON.parse(readFileSync(json, 'utf8')) as BuildReport;
    expect(report.cache).toMatchObject({ status: 'miss', remote: { lookup: 'skipped', upload: 'skipped' } });
    expect(statSync(out).size).toBeGreaterThan(0);
  });

  it('a store that never answers: given up after the timeout, with one warning', { timeout: 30_000 }, async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const config = resolveRemoteCache({ remoteCache: 's3://silent/x', remoteCacheEndpoint: `http://127.0.0.1:${port}`, remoteCacheTimeout: 0.5 }, env)!;
      const remote = new RemoteCache(config, openS3Store);
      expect(await remote.fetch('0123456789abcdef0123456789abcdef', new DepsCache(scratch()))).toBe(false);
      await remote.upload('0123456789abcdef0123456789abcdef', scratch());
      expect(remote.status).toMatchObject({ lookup: 'skipped', upload: 'skipped', lookupReason: expect.stringContaining('did not answer within 0.5 s') });
      expect(remote.warnings).toHaveLength(1);
    } finally {
      silent.close();
    }
  });

  it('without a signing key: skipped with one warning, never used unverified', async () => {
    const config = resolveRemoteCache({ remoteCache: `s3://${s3.bucket}/ci`, remoteCacheEndpoint: s3.endpoint }, { ...env, PYSLIM_CACHE_SIGNING_KEY: '' })!;
    const remote = new RemoteCache(config, openS3Store);
    expect(await remote.fetch('0123456789abcdef0123456789abcdef', new DepsCache(scratch()))).toBe(false);
    expect(remote.status).toMatchObject({ lookup: 'skipped', lookupReason: 'PYSLIM_CACHE_SIGNING_KEY is not set, so entries can be neither verified nor signed' });
    expect(remote.warnings).toHaveLength(1);
    expect(JSON.stringify(config)).not.toContain('S3RVER');
  });
});
