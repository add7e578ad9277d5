import { describe, expect, it } from 'vitest';
import { modulesToVerify, prunedCause } from '../../src/pipeline/verify.js';
import type { Distribution, TreeFile } from '../../src/model/files.js';

const removal = (path: string, rule: string) => ({ file: { path, abs: `/x/${path}`, size: 1, executable: false, owner: 'p', origin: 'deps' } as TreeFile, rule });
const dist = (name: string, topLevel: string[]): Distribution => ({ key: name, name, version: '1', distInfo: `${name}-1.dist-info`, topLevel, hasTopLevelFile: true, requires: [] });

describe('prunedCause', () => {
  const removed = [removal('requests/adapters.py', 'user-exclude'), removal('pkg/data/words.txt', 'package-docs'), removal('fast/_speed.cpython-311-x86_64-linux-gnu.so', 'user-exclude'), removal('other/tests/x.py', 'tests')];

  it.each([
    [{ module: 'requests', ok: false, missing: 'requests.adapters' }, 'requests/adapters.py'],
    [{ module: 'fast', ok: false, missing: 'fast._speed' }, 'fast/_speed.cpython-311-x86_64-linux-gnu.so'],
    [{ module: 'pkg', ok: false, filename: '/pyslim/mnt/2/pkg/data/words.txt' }, 'pkg/data/words.txt'],
    [{ module: 'pkg', ok: false, filename: '/tmp/pyslim-x/deps/pkg/data/words.txt' }, 'pkg/data/words.txt'],
    [{ module: 'other', ok: false, missing: 'other.tests' }, 'other/tests/x.py'],
  ])('finds the pruned file behind %j', (result, path) => {
    expect(prunedCause(result, removed)?.file.path).toBe(path);
  });

  it('finds nothing when no removal explains the failure', () => {
    expect(prunedCause({ module: 'x', ok: false, missing: 'nothere' }, removed)).toBeUndefined();
  });
});

describe('modulesToVerify', () => {
  it('imports the top-level modules that ship, skipping test folders and --verify-skip', () => {
    const { modules, skipped } = modulesToVerify({
      distributions: [dist('six', ['six']), dist('pkg', ['pkg', 'tests']), dist('gone', ['gone']), dist('opt', ['optional_backend']), dist('ext', ['_ext'])],
      shippedPaths: new Set(['six.py', 'pkg/__init__.py', 'tests/test_x.py', 'optional_backend/__init__.py', '_ext.cpython-311-x86_64-linux-gnu.so']),
      skip: ['optional_backend'],
    });
    expect([...modules.entries()]).toEqual([
      ['six', 'six'],
      ['pkg', 'pkg'],
      ['_ext', 'ext'],
    ]);
    expect(skipped).toEqual([
      { module: 'tests', reason: 'not library code (shipped by pkg)' },
      { module: 'optional_backend', reason: '--verify-skip' },
    ]);
  });
});
