#!/usr/bin/env node
// pyslim benchmarks. Each prints ratios against a baseline measured in the same run, never
// absolute thresholds: these machines are shared and noisy.
//
//   npm run bench                 run every benchmark
//   npm run bench -- size         run the named ones
//
// Requires the compiled library (npm run build) and a pip that reaches a package index.
import { benches } from './benches.js';

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !benches.has(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark: ${unknown.join(', ')}. Available: ${[...benches.keys()].join(', ')}`);
  process.exit(2);
}
for (const [name, bench] of benches) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n## ${name}: ${bench.title}`);
  await bench.run();
}
