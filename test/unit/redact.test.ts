import { describe, expect, it } from 'vitest';
import { redact } from '../../src/redact.js';

describe('redact', () => {
  it.each([
    ['Looking in indexes: https://user:s3cret@pypi.corp/simple', 'Looking in indexes: https://****@pypi.corp/simple'],
    ['https://__token__:pypi-AgEIcHlwaS5vcmc@host/simple/', 'https://****@host/simple/'],
    ['--index-url https://tok3n@host/simple', '--index-url https://****@host/simple'],
    ['https://host/simple?token=abc123&x=1', 'https://host/simple?token=****&x=1'],
    ['file:///opt/pypi/simple', 'file:///opt/pypi/simple'],
    ['user@example.com wrote', 'user@example.com wrote'],
  ])('%s', (input, expected) => {
    expect(redact(input)).toBe(expected);
  });
});
