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

export const benches = new Map([['size', { title: 'pandas zip vs pip install --target + zip -r9', run: sizeVsHandRolled }]]);
