// The benchmarks, by name. Each builds with the real pyslim library and compares with a baseline
// measured in the same run.
import path from 'node:path';
import { build, manylinuxTags } from '../../dist/index.js';
import { ENV, functionDir, handRolled, mb, ratio, scratch, table } from './support.js';

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

export const benches = new Map([
  ['size', { title: 'pandas zip vs pip install --target + zip -r9', run: sizeVsHandRolled }],
  ['profiles', { title: 'pandas zip: aggressive profile vs safe', run: aggressiveVsSafe }],
]);
