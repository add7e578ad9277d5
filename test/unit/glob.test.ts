import { describe, expect, it } from 'vitest';
import { compileGlobs } from '../../src/glob.js';

describe('compileGlobs (.gitignore-style)', () => {
  it.each([
    ['*.md', 'pkg/README.md', true],
    ['*.md', 'README.md', true],
    ['*.md', 'pkg/md', false],
    ['tests', 'pkg/sub/tests/test_x.py', true],
    ['tests', 'pkg/testsuite.py', false],
    ['pandas/io/clipboard', 'pandas/io/clipboard/__init__.py', true],
    ['pandas/io/clipboard', 'other/pandas/io/clipboard/x.py', false],
    ['botocore/data/ec2/**', 'botocore/data/ec2/2016-11-15/service-2.json.gz', true],
    ['botocore/data/*/examples-1.json', 'botocore/data/s3/2006-03-01/examples-1.json', false],
    ['botocore/data/**/examples-1.json', 'botocore/data/s3/2006-03-01/examples-1.json', true],
    ['./numpy/tests/', 'numpy/tests/test_a.py', true],
    ['.hidden', 'a/.hidden/x', true],
  ])('%s matches %s: %s', (pattern, path, expected) => {
    expect(compileGlobs([pattern]).match(path) !== undefined).toBe(expected);
  });

  it('returns the pattern that matched', () => {
    expect(compileGlobs(['*.txt', 'tests']).match('a/tests/x.py')).toBe('tests');
  });
});
