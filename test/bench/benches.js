// The benchmarks, by name. Each builds with the real pyslim library and compares with a baseline
// measured in the same run.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { benchZipWriter } from './zip-writer.js';
import { build, manylinuxTags } from '../../dist/index.js';
import { BIN, ENV, functionDir, handRolled, mb, ratio, scratch, table } from './support.js';

function platformArgs(runtime, arch) {
  const version = runtime.replace('python', '');
  return [
    '--only-binary=:all:',
    '--implementation',
    'cp',
    '--python-version',
    version,
    ...manylinuxTags(runtime, arch).flatMap((tag) => ['--platform', tag]),
  ];
}

/** Issue 2, done-when 5: the pandas zip against the hand-rolled recipe for the same platform. */
async function sizeVsHandRolled() {
  const dir = functionDir(['pandas']);
  const runtime = 'python3.11';
  const hand = handRolled(path.join(dir, 'requirements.txt'), platformArgs(runtime, 'x86_64'));
  const report = await build({ dir, out: path.join(scratch(), 'function.zip'), runtime, installer: 'local', env: ENV });
  console.log(
    table([
      ['build', 'zip', 'unzipped'],
      ['pip install --target + zip -r9', mb(hand.bytes), ''],
      ['pyslim (safe prune)', mb(report.output.bytes), mb(report.output.unzippedBytes)],
    ]),
  );
  console.log(`pandas zip size ratio pyslim / hand-rolled: ${ratio(report.output.bytes, hand.bytes)} (goal ≤ 0.70)`);
}

/** Issue 4, done-when 5: the aggressive profile's pandas zip against the safe profile's. */
async function aggressiveVsSafe() {
  const dir = functionDir(['pandas']);
  const common = { dir, runtime: 'python3.11', installer: 'local', env: ENV };
  const safe = await build({ ...common, out: path.join(scratch(), 'safe.zip') });
  const aggressive = await build({ ...common, out: path.join(scratch(), 'aggressive.zip'), prune: 'aggressive' });
  const stripped = await build({ ...common, out: path.join(scratch(), 'stripped.zip'), prune: 'aggressive', strip: 'unneeded' });
  console.log(
    table([
      ['profile', 'zip', 'unzipped', 'imports checked'],
      ['safe', mb(safe.output.bytes), mb(safe.output.unzippedBytes), String(safe.verify?.modules.length ?? 0)],
      ['aggressive', mb(aggressive.output.bytes), mb(aggressive.output.unzippedBytes), String(aggressive.verify?.modules.length ?? 0)],
      ['aggressive + strip unneeded', mb(stripped.output.bytes), mb(stripped.output.unzippedBytes), String(stripped.verify?.modules.length ?? 0)],
    ]),
  );
  console.log(`pandas zip size ratio aggressive / safe: ${ratio(aggressive.output.bytes, safe.output.bytes)}`);
  console.log(`pandas zip size ratio aggressive + strip unneeded / safe: ${ratio(stripped.output.bytes, safe.output.bytes)}`);
}

const COLD_START_HANDLER = `import boto3
import pandas
import pydantic
import requests


def handler(event, context):
    return {"rows": len(pandas.DataFrame({"a": [1, 2]}))}
`;

/** Median wall time of importing the handler module in fresh interpreters, from a read-only tree. */
function coldImportMs(tree, runs) {
  const code = 'import sys, time; sys.path.insert(0, sys.argv[1]); t = time.perf_counter(); import handler; print((time.perf_counter() - t) * 1000)';
  const times = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync('python3', ['-B', '-I', '-S', '-c', code, tree], { env: { ...ENV, PYTHONDONTWRITEBYTECODE: '1' }, encoding: 'utf8' });
    times.push(Number(out.trim()));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function extractReadOnly(zip) {
  const dir = scratch('pyslim-bench-task-');
  execFileSync('unzip', ['-q', zip, '-d', dir]);
  execFileSync('chmod', ['-R', 'a-w', dir]);
  return dir;
}

/** Issue 5: cold import time with unchecked-hash bytecode, without bytecode, and the hand-rolled fixed-date zip. */
async function coldStart() {
  const requirements = ['pandas', 'boto3', 'pydantic', 'requests'];
  const dir = functionDir(requirements, COLD_START_HANDLER);
  const runtime = 'python3.11';
  const common = { dir, runtime, installer: 'local', env: ENV };
  const compiled = await build({ ...common, out: path.join(scratch(), 'compile.zip'), bytecode: 'compile' });
  const none = await build({ ...common, out: path.join(scratch(), 'none.zip'), bytecode: 'none' });
  const hand = handRolled(path.join(dir, 'requirements.txt'), platformArgs(runtime, 'x86_64'), { fixedMtime: true, extra: [path.join(dir, 'handler.py')] });
  const trees = { compile: extractReadOnly(compiled.output.path), none: extractReadOnly(none.output.path), hand: extractReadOnly(hand.zip) };
  const runs = 7;
  // Interleave the three so machine noise hits them alike; one warm-up import each first.
  for (const tree of Object.values(trees)) coldImportMs(tree, 1);
  const samples = { compile: [], none: [], hand: [] };
  for (let i = 0; i < runs; i++) for (const [name, tree] of Object.entries(trees)) samples[name].push(coldImportMs(tree, 1));
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ms = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, med(v)]));
  console.log(
    table([
      ['build', 'zip', 'cold import (median of 7)', 'ratio to compile'],
      ['pyslim --bytecode compile', mb(compiled.output.bytes), `${ms.compile.toFixed(0)} ms`, '1.00'],
      ['pyslim --bytecode none', mb(none.output.bytes), `${ms.none.toFixed(0)} ms`, ratio(ms.none, ms.compile)],
      ['pip --target + zip -r9, fixed mtimes', mb(hand.bytes), `${ms.hand.toFixed(0)} ms`, ratio(ms.hand, ms.compile)],
    ]),
  );
  console.log(`cold import ratio compile / none: ${ratio(ms.compile, ms.none)} (goal ≤ 0.60)`);
  console.log(`cold import ratio compile / hand-rolled fixed-mtime zip: ${ratio(ms.compile, ms.hand)} (goal ≤ 0.50)`);
}

const COLD_WARM_REQUIREMENTS = ['pandas', 'boto3', 'pydantic', 'requests'];

/** Runs one CLI build in a child process; returns its wall time, peak RSS and report. */
function cliBuild(dir, out, extra = []) {
  const json = path.join(scratch(), 'report.json');
  const started = performance.now();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, 'build', dir, '--runtime', 'python3.11', '--installer', 'local', '-o', out, '--json', json, '-q', ...extra], {
    env: ENV,
    encoding: 'utf8',
  });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`build failed: ${result.stderr}`);
  const rssKb = Number(result.stderr.trim().split('\n').pop());
  return { ms, rssMb: rssKb / 1024, report: JSON.parse(readFileSync(json, 'utf8')) };
}

/** Issue 6: a cold build, then a warm rebuild after touching only the handler, and a cold build of that. */
async function coldWarm() {
  const cases = [
    ['unpinned requirements (pip runs only if a page or file it read has changed)', 'unpinned'],
    ['pinned requirements, as pip freeze writes them', 'pinned'],
    ['hash-locked requirements', 'locked'],
  ];
  for (const [label, kind] of cases) {
    const dir = functionDir(COLD_WARM_REQUIREMENTS, COLD_START_HANDLER);
    const requirements = path.join(dir, 'requirements.txt');
    if (kind !== 'unpinned') {
      const locked = lockRequirements(requirements);
      writeFileSync(requirements, kind === 'locked' ? locked : locked.replace(/ --hash=\S+/g, ''));
    }
    const cache = scratch('pyslim-bench-cache-');
    const cold = cliBuild(dir, path.join(scratch(), 'cold.zip'), ['--cache-dir', cache]);
    appendFileSync(path.join(dir, 'handler.py'), '\n# a one-line change\n');
    const warm = cliBuild(dir, path.join(scratch(), 'warm.zip'), ['--cache-dir', cache]);
    const fresh = cliBuild(dir, path.join(scratch(), 'fresh.zip'), ['--no-cache']);
    console.log(`\n${label}`);
    console.log(
      table([
        ['build', 'wall', 'cache', 'zip entries reused', 'peak RSS', 'sha256'],
        ['cold (empty cache)', `${(cold.ms / 1000).toFixed(1)} s`, cold.report.cache.status, String(cold.report.cache.reusedEntries), `${cold.rssMb.toFixed(0)} MB`, cold.report.output.sha256.slice(0, 12)],
        ['warm (handler changed)', `${(warm.ms / 1000).toFixed(1)} s`, warm.report.cache.status, String(warm.report.cache.reusedEntries), `${warm.rssMb.toFixed(0)} MB`, warm.report.output.sha256.slice(0, 12)],
        ['cold, same inputs (--no-cache)', `${(fresh.ms / 1000).toFixed(1)} s`, fresh.report.cache.status, '0', `${fresh.rssMb.toFixed(0)} MB`, fresh.report.output.sha256.slice(0, 12)],
      ]),
    );
    console.log(`versions found by: ${warm.report.cache.resolution}`);
    console.log(`warm / cold wall-time ratio: ${ratio(warm.ms, cold.ms)} (goal ≤ 0.10); warm sha256 equals a cold build of the same inputs: ${warm.report.output.sha256 === fresh.report.output.sha256 ? 'yes' : 'NO'}`);
    console.log(`peak RSS of the cold build: ${cold.rssMb.toFixed(0)} MB for ${mb(cold.report.totals.bytesBefore)} installed (goal < 400 MB)`);
  }
}

/** A hash-locked requirements file, as pip-compile --generate-hashes writes (pip's --dry-run report). */
function lockRequirements(file) {
  const report = path.join(scratch(), 'lock.json');
  execFileSync('python3', ['-m', 'pip', 'install', '--quiet', '--dry-run', '--ignore-installed', '--report', report, '--target', scratch(), ...platformArgs('python3.11', 'x86_64'), '-r', file], { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  const { install } = JSON.parse(readFileSync(report, 'utf8'));
  return install.map((i) => `${i.metadata.name}==${i.metadata.version} --hash=sha256:${i.download_info.archive_info.hashes.sha256}`).join('\n') + '\n';
}

/** Issue 6: the zip stage against zip -r9 -X on the same pruned tree. */
async function zipStage() {
  const dir = functionDir(COLD_WARM_REQUIREMENTS, COLD_START_HANDLER);
  const kept = await build({ dir, out: path.join(scratch(), 'k.zip'), runtime: 'python3.11', installer: 'local', env: ENV, keepTemp: true, cache: false });
  const tree = path.join(kept.workDir, 'layer', 'tree');
  await benchZipWriter({ rounds: 1, tree });
}

const COLD_BUILD_APPS = [
  ['aws (boto3)', ['boto3']],
  ['api (requests, pydantic, fastapi)', ['requests', 'pydantic', 'fastapi']],
  ['data (pandas)', ['pandas']],
];

/** Runs a command under /usr/bin/time; returns its wall time and the peak RSS of the largest process in its tree. */
function timed(command, args, options = {}) {
  const started = performance.now();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', command, ...args], { env: ENV, encoding: 'utf8', ...options });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  return { ms, rssMb: Number(result.stderr.trim().split('\n').pop()) / 1024 };
}

/** The hand-rolled recipe as teams write it, timed whole: pip install -r requirements.txt --target pkg, then zip -r9. */
function handRolledCold(dir) {
  const work = scratch('pyslim-bench-hand-');
  const script = `python3 -m pip install --quiet -r "$1" --target "$2/pkg" && cp "$3" "$2/pkg/" && cd "$2/pkg" && zip -q -r9 ../function.zip .`;
  return timed('sh', ['-c', script, 'sh', path.join(dir, 'requirements.txt'), work, path.join(dir, 'handler.py')]);
}

function pyslimCold(dir) {
  const json = path.join(scratch(), 'report.json');
  const args = [BIN, 'build', dir, '--runtime', 'python3.11', '--installer', 'local', '-o', path.join(scratch(), 'function.zip'), '--json', json, '-q', '--cache-dir', scratch('pyslim-bench-cache-')];
  return { ...timed(process.execPath, args), report: JSON.parse(readFileSync(json, 'utf8')) };
}

/** Issue 19: cold builds (empty cache) against the hand-rolled recipe, interleaved, median of 3; peak RSS beside; pyslim's trace. */
async function coldBuild() {
  const runs = 3;
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = [['app', 'hand-rolled', 'pyslim', 'pyslim / hand-rolled', 'peak RSS hand-rolled', 'peak RSS pyslim']];
  const traces = [];
  for (const [label, requirements] of COLD_BUILD_APPS) {
    const dir = functionDir(requirements);
    const hand = [];
    const slim = [];
    // Interleaved, so the machine's noise hits both alike.
    for (let i = 0; i < runs; i++) {
      hand.push(handRolledCold(dir));
      slim.push(pyslimCold(dir));
    }
    const handMs = med(hand.map((r) => r.ms));
    const slimMs = med(slim.map((r) => r.ms));
    const median = slim.find((r) => r.ms === slimMs);
    rows.push([label, `${(handMs / 1000).toFixed(2)} s`, `${(slimMs / 1000).toFixed(2)} s`, `${ratio(slimMs, handMs)}×`, `${med(hand.map((r) => r.rssMb)).toFixed(0)} MB`, `${med(slim.map((r) => r.rssMb)).toFixed(0)} MB`]);
    traces.push([label, median.report.trace]);
  }
  console.log(table(rows));
  console.log('(median of 3 cold builds each, empty pyslim cache; peak RSS is the largest single process of the build, /usr/bin/time %M)');
  for (const [label, trace] of traces) {
    const cpu = (ms) => (ms === null ? '?' : `${(ms / 1000).toFixed(2)} s`);
    console.log(`\npyslim trace, ${label}: wall ${cpu(trace.wallMs)}, cpu ${cpu(trace.cpuMs)} + subprocesses ${cpu(trace.childCpuMs)}`);
    console.log(table([['stage', 'start', 'wall', 'cpu', 'subprocess cpu'], ...trace.stages.map((s) => [s.stage, cpu(s.startMs), cpu(s.wallMs), cpu(s.cpuMs), cpu(s.childCpuMs)])]));
  }
}

/** One CLI build in a child process, without blocking this process (the S3 server runs here). */
function cliBuildAsync(dir, out, extra, env) {
  const json = `${out}.json`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'build', dir, '--runtime', 'python3.11', '--installer', 'local', '-o', out, '--json', json, '-q', ...extra], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`build failed: ${stderr}`));
      else resolve({ ms: performance.now() - started, stderr, report: JSON.parse(readFileSync(json, 'utf8')) });
    });
  });
}

/** Issue 17: machine B's first build from a remote cache machine A filled, against a cold build. */
async function remoteCache() {
  const { startS3Server, S3RVER_ENV } = await import('./s3-server.js');
  const s3 = await startS3Server();
  try {
    const env = { ...ENV, ...S3RVER_ENV, PYSLIM_CACHE_SIGNING_KEY: 'bench-signing-key' };
    const remote = ['--remote-cache', `s3://${s3.bucket}/bench`, '--remote-cache-endpoint', s3.endpoint];
    const dir = functionDir(COLD_WARM_REQUIREMENTS, COLD_START_HANDLER);
    const cold = await cliBuildAsync(dir, path.join(scratch(), 'cold.zip'), ['--cache-dir', scratch('pyslim-bench-cache-')], env);
    const machineA = await cliBuildAsync(dir, path.join(scratch(), 'a.zip'), ['--cache-dir', scratch('pyslim-bench-cache-'), ...remote], env);
    const machineB = await cliBuildAsync(dir, path.join(scratch(), 'b.zip'), ['--cache-dir', scratch('pyslim-bench-cache-'), ...remote], env);
    const r = (b) => b.report.cache.remote;
    console.log(
      table([
        ['build', 'wall', 'cache', 'remote', 'transferred', 'sha256'],
        ['cold (empty cache, no remote)', `${(cold.ms / 1000).toFixed(1)} s`, cold.report.cache.status, '-', '-', cold.report.output.sha256.slice(0, 12)],
        ['machine A (empty cache, uploads)', `${(machineA.ms / 1000).toFixed(1)} s`, machineA.report.cache.status, `${r(machineA).lookup}, ${r(machineA).upload}`, `${mb(r(machineA).bytesUploaded)} up in ${r(machineA).uploadSeconds.toFixed(1)} s`, machineA.report.output.sha256.slice(0, 12)],
        ['machine B (empty cache, remote hit)', `${(machineB.ms / 1000).toFixed(1)} s`, machineB.report.cache.status, `${r(machineB).lookup}`, `${mb(r(machineB).bytesDownloaded)} down in ${r(machineB).downloadSeconds.toFixed(1)} s`, machineB.report.output.sha256.slice(0, 12)],
      ]),
    );
    console.log(`machine B / cold wall-time ratio: ${ratio(machineB.ms, cold.ms)} (goal ≤ 0.25); B's zip equals A's and the cold one: ${machineB.report.output.sha256 === machineA.report.output.sha256 && machineB.report.output.sha256 === cold.report.output.sha256 ? 'yes' : 'NO'}`);
    console.log(`machine A / cold (the price of uploading): ${ratio(machineA.ms, cold.ms)}`);
    const stages = (b) => Object.entries(b.report.timings).map(([stage, ms]) => `${stage} ${(ms / 1000).toFixed(1)} s`).join(', ');
    console.log(`machine B's stages: ${stages(machineB)}`);
    console.log(`cold build's stages: ${stages(cold)}`);
  } finally {
    await s3.stop();
  }
}

/** Issue 16: init of the mixed app per Lambda memory setting, under each setting's CPU quota, beside the host's figure. */
async function adviseMemory() {
  const dir = functionDir(COLD_WARM_REQUIREMENTS, COLD_START_HANDLER);
  const report = await build({ dir, out: path.join(scratch(), 'advise.zip'), runtime: 'python3.11', installer: 'local', env: ENV, advise: true, adviseRuns: 3 });
  const advice = report.advice;
  if (advice.quota.note) console.log(advice.quota.note);
  const kind = advice.quota.method ? `measured, ${advice.quota.method}` : 'ESTIMATED';
  console.log(
    table([
      ['memory', 'vCPU', `init (median of ${advice.runs}, ${kind})`, 'ratio to host', '$ per 1M cold starts'],
      ['host, full CPU', '-', `${advice.hostInitMs.toFixed(0)} ms`, '1.00', '-'],
      ...advice.memory.map((m) => [`${m.memoryMb} MB`, m.vcpu.toFixed(3), m.initMs === null ? 'timed out' : `${m.initMs.toFixed(0)} ms`, m.initMs === null ? '-' : ratio(m.initMs, advice.hostInitMs), `$${m.usdPerMillion?.toFixed(2) ?? '-'}`]),
    ]),
  );
  const at = (mb) => advice.memory.find((m) => m.memoryMb === mb)?.initMs;
  console.log(`init ratio 128 MB / 1769 MB: ${ratio(at(128), at(1769))} (Lambda's share says ${ratio(1769, 128)}); recommended: ${advice.recommendation?.memoryMb} MB`);
  console.log(`slowest own statement: ${advice.statements[0] ? `${advice.statements[0].file}:${advice.statements[0].line} ${advice.statements[0].statement} (${advice.statements[0].selfMs} ms)` : 'none'}`);
}

export const benches = new Map([
  ['coldbuild', { title: 'cold build with an empty cache vs pip install -r requirements.txt --target pkg + zip -r9; peak RSS; the trace', run: coldBuild }],
  ['advise', { title: 'init per Lambda memory setting (cgroup CPU quota) for the mixed app, beside the host figure', run: adviseMemory }],
  ['zip', { title: 'zip stage: pyslim writer vs zip -r9 -X and archiver on the same pruned tree', run: zipStage }],
  ['cache', { title: 'cold build vs warm rebuild after a handler change; peak RSS', run: coldWarm }],
  ['remote', { title: "a second CI machine's first build from the S3 remote cache vs a cold build", run: remoteCache }],
  ['coldstart', { title: 'cold import: unchecked-hash bytecode vs none vs hand-rolled fixed-date zip', run: coldStart }],
  ['size', { title: 'pandas zip vs pip install --target + zip -r9', run: sizeVsHandRolled }],
  ['profiles', { title: 'pandas zip: aggressive profile vs safe', run: aggressiveVsSafe }],
]);
