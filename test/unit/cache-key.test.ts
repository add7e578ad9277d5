import { describe, expect, it } from 'vitest';
import { INPUT_NAMES, cacheKey, changedInputs, type CacheInputs } from '../../src/cache/key.js';

const base: CacheInputs = {
  pyslim: '0.1.0',
  compressor: 'libdeflate 0.1.0 level 9; zlib 1.3.1',
  runtime: 'python3.11',
  arch: 'x86_64',
  installer: 'local',
  image: null,
  interpreter: 'python 3.11 (/usr/bin/python3.11)',
  requirements: 'aaa',
  resolved: 'bbb',
  index: 'ccc',
  prune: '{"profile":"safe"}',
  bytecode: 'compile',
};

describe('cacheKey', () => {
  it('is stable for the same inputs', () => {
    expect(cacheKey({ ...base })).toBe(cacheKey(base));
    expect(cacheKey(base)).toMatch(/^[0-9a-f]{32}$/);
  });

  it.each(Object.keys(INPUT_NAMES) as (keyof CacheInputs)[])('changes when %s changes, and says so', (name) => {
    const changed = { ...base, [name]: `${String(base[name])}-changed` };
    expect(cacheKey(changed)).not.toBe(cacheKey(base));
    expect(changedInputs(base, changed)).toEqual([INPUT_NAMES[name]]);
  });
});
