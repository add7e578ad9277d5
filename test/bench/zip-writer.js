#!/usr/bin/env node
// Zip stage benchmark: pyslim's zip writer against Info-ZIP `zip -r9 -X` and against archiver at
// level 9 (as src/pipeline/zip.ts drives it), on the same real tree, in the same run.
//
//   npx tsc -p tsconfig.json && node test/bench/zip-writer.js [--rounds N] [--tree DIR] [--no-pycache]
//
// --tree reuses a folder instead of installing pandas, boto3, pydantic and requests with pip (as
// pip is configured here). --no-pycache drops __pycache__ folders first, as pyslim's prune does.
// Every contender runs in its own child process, so each wall time includes starting it and each
// peak RSS is that process's alone. Rounds are interleaved and the median is reported: these
// machines are shared and noisy, so only ratios measured side by side mean anything.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { ENV, mb, ratio, scratch, table } from './support.js';

const SELF = fileURLToPath(import.meta.url);
const PACKAGES = ['pandas', 'boto3', 'pydantic', 'requests'];
const CONCURRENCIES = [1, 2, 3, 4, 8];
/** The product goal from issue 6: at most this fraction of zip -r9's wall time. */
const GOAL_TIME_RATIO = 0.4;

/** Every file and folder under root, sorted by zip path, with the modes the zip stage gives them. */
function listTree(root) {
  const items = [];
  const walk = (dir, prefix) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix + entry.name;
      const abs = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        items.push({ name: `${rel}/`, directory: true });
        walk(abs, `${rel}/`);
      } else {
        const stats = statSync(abs);
        items.push({ name: rel, abs, size: stats.size, mode: stats.mode & 0o111 ? 0o755 : 0o644, stats });
      }
    }
  };
  walk(root, '');
  return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Runs inside a child: one contender, then its time and peak RSS as JSON on stdout. */
async function child([kind, root, out, concurrency]) {
  const started = performance.now();
  if (kind === 'writer') {
    const { writeZipFile } = await import('../../dist/zip/writer.js');
    const entries = listTree(root).map((item) =>
      item.directory
        ? { name: item.name, mode: 0o755, source: { kind: 'directory' } }
        : { name: item.name, mode: item.mode, source: { kind: 'file', path: item.abs, size: item.size } },
    );
    await writeZipFile(out, entries, { concurrency: Number(concurrency) });
  } else {
    // archiver as the zip stage uses it: sorted entries, folders, fixed date, normalized modes, stats given.
    const { default: archiver } = await import('archiver');
    const date = new Date(Date.UTC(1980, 0, 1));
    const archive = archiver('zip', { zlib: { level: 9 }, forceLocalTime: false });
    const done = pipeline(archive, createWriteStream(out));
    for (const item of listTree(root)) {
      if (item.directory) archive.append(Buffer.alloc(0), { name: item.name, date, mode: 0o755 });
      else archive.file(item.abs, { name: item.name, date, mode: item.mode, stats: await stat(item.abs) });
    }
    await archive.finalize();
    await done;
  }
  const ms = performance.now() - started;
  const usage = process.resourceUsage();
  process.stdout.write(JSON.stringify({ ms, maxRssKb: usage.maxRSS, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 }));
}

const hasTime = existsSync('/usr/bin/time');

/**
 * Runs a command, returning the parent-side wall time, and the peak RSS and CPU seconds (user +
 * system, all threads) that /usr/bin/time saw. CPU time is the steadier number on a busy machine.
 */
function timed(command, args, options = {}) {
  const report = path.join(scratch('pyslim-bench-time-'), 'time.txt');
  const argv = hasTime ? ['/usr/bin/time', ['-f', '%M %U %S', '-o', report, command, ...args]] : [command, args];
  const started = performance.now();
  const result = spawnSync(argv[0], argv[1], { encoding: 'utf8', maxBuffer: 1 << 20, ...options });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  const [rssKb, user, system] = hasTime ? execFileSync('tail', ['-n1', report], { encoding: 'utf8' }).trim().split(' ').map(Number) : [NaN, NaN, NaN];
  return { ms, rssKb, cpuMs: (user + system) * 1000, stdout: result.stdout };
}

function sha256(file) {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file).on('data', (d) => hash.update(d)).on('end', () => resolve(hash.digest('hex'))).on('error', reject);
  });
}

function installTree() {
  const target = path.join(scratch('pyslim-bench-tree-'), 'tree');
  console.log(`installing ${PACKAGES.join(' ')} into ${target} ...`);
  execFileSync('python3', ['-m', 'pip', 'install', '--quiet', '--target', target, ...PACKAGES], { env: ENV, stdio: ['ignore', 'ignore', 'inherit'] });
  return target;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

/** The benchmark, for test/bench/benches.js or for running this file directly. */
export async function benchZipWriter({ rounds = 3, tree, noPycache = false } = {}) {
  let root = tree ?? installTree();
  if (noPycache) {
    // On a copy: --tree may be a folder the caller wants back as it was.
    const copy = path.join(scratch('pyslim-bench-pruned-'), 'tree');
    execFileSync('cp', ['-a', root, copy]);
    root = copy;
    for (const item of listTree(root)) if (item.directory && item.name.endsWith('__pycache__/')) rmSync(path.join(root, item.name), { recursive: true, force: true });
  }
  const items = listTree(root);
  const files = items.filter((i) => !i.directory);
  const treeBytes = files.reduce((n, f) => n + f.size, 0);
  console.log(`tree: ${mb(treeBytes)} in ${files.length} files and ${items.length - files.length} folders (${root})`);
  console.log(`node ${process.version}, zlib ${process.versions.zlib}, ${os.availableParallelism()} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);

  const outDir = scratch('pyslim-bench-zips-');
  const contenders = [
    { label: 'zip -r9 -X (Info-ZIP)', key: 'zip' },
    { label: 'archiver, level 9', key: 'archiver' },
    ...CONCURRENCIES.map((c) => ({ label: `pyslim writer, concurrency ${c}`, key: `writer${c}`, concurrency: c })),
  ];
  const runs = new Map(contenders.map((c) => [c.key, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const contender of contenders) {
      const out = path.join(outDir, `${contender.key}.zip`);
      rmSync(out, { force: true });
      let run;
      if (contender.key === 'zip') {
        run = timed('zip', ['-q', '-r', '-9', '-X', out, '.'], { cwd: root });
      } else {
        const kind = contender.key === 'archiver' ? 'archiver' : 'writer';
        const result = timed(process.execPath, [SELF, '--child', kind, root, out, String(contender.concurrency ?? 0)]);
        const reported = JSON.parse(result.stdout);
        run = hasTime ? result : { ms: result.ms, rssKb: reported.maxRssKb, cpuMs: reported.cpuMs };
      }
      run.bytes = statSync(out).size;
      if (contender.key.startsWith('writer')) run.sha = await sha256(out);
      runs.get(contender.key).push(run);
      console.log(`  round ${round}: ${contender.label}: ${seconds(run.ms)} (CPU ${seconds(run.cpuMs)}), ${mb(run.bytes)}, peak RSS ${(run.rssKb / 1024).toFixed(0)} MB, load ${os.loadavg()[0].toFixed(1)}`);
    }
  }

  // The writer's promise: the same bytes at every concurrency, and a zip that readers accept.
  const shas = new Set(CONCURRENCIES.flatMap((c) => runs.get(`writer${c}`).map((r) => r.sha)));
  execFileSync('python3', ['-m', 'zipfile', '-t', path.join(outDir, 'writer2.zip')], { stdio: 'ignore' });

  const zipMs = median(runs.get('zip').map((r) => r.ms));
  const zipCpuMs = median(runs.get('zip').map((r) => r.cpuMs));
  const zipBytes = runs.get('zip')[0].bytes;
  const rows = [['contender', 'wall (median)', 'wall / zip -r9', 'CPU (median)', 'CPU / zip -r9', 'zip size', 'size / zip -r9', 'peak RSS']];
  for (const contender of contenders) {
    const list = runs.get(contender.key);
    const ms = median(list.map((r) => r.ms));
    const cpuMs = median(list.map((r) => r.cpuMs));
    const bytes = list[0].bytes;
    const rss = `${(Math.max(...list.map((r) => r.rssKb)) / 1024).toFixed(0)} MB`;
    rows.push([contender.label, seconds(ms), ratio(ms, zipMs), seconds(cpuMs), ratio(cpuMs, zipCpuMs), mb(bytes), (bytes / zipBytes).toFixed(4), rss]);
  }
  console.log(`\n${table(rows)}`);
  console.log(`\n${rounds} round(s), interleaved; medians. Writer output identical across concurrencies: ${shas.size === 1 ? 'yes' : 'NO'}`);
  const best = Math.min(...CONCURRENCIES.map((c) => median(runs.get(`writer${c}`).map((r) => r.ms))));
  console.log(`goal: writer ≤ ${GOAL_TIME_RATIO}× zip -r9 wall time (best: ${ratio(best, zipMs)}), zip no larger than zip -r9's (${ratio(runs.get('writer2')[0].bytes, zipBytes)})`);
  if (shas.size !== 1) process.exitCode = 1;
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  await child(argv.slice(1));
} else if (process.argv[1] === SELF) {
  const option = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  await benchZipWriter({ rounds: Number(option('--rounds') ?? 3), tree: option('--tree'), noPycache: argv.includes('--no-pycache') });
}
