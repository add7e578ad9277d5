import { describe, expect, it } from 'vitest';
import { PyslimError } from '../../src/errors.js';
import { parseSize } from '../../src/size.js';

describe('parseSize', () => {
  it.each([
    ['3000000', 3_000_000],
    ['10MB', 10_000_000],
    ['10mb', 10_000_000],
    ['10 MB', 10_000_000],
    ['1.5MB', 1_500_000],
    ['50MiB', 52_428_800],
    ['250MiB', 262_144_000],
    ['2GB', 2_000_000_000],
    ['512KiB', 524_288],
    ['100kB', 100_000],
    ['7B', 7],
  ])('%s = %i bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'ten', '10XB', '-5MB', '0', '10 M B', 'MB', '1e6'])('rejects %j with INVALID_SIZE and an example', (text) => {
    expect(() => parseSize(text, 'budget')).toThrowError(PyslimError);
    try {
      parseSize(text, 'budget');
    } catch (error) {
      expect((error as PyslimError).code).toBe('INVALID_SIZE');
      expect((error as PyslimError).line).toMatch(/invalid budget .*e\.g\./);
    }
  });
});
