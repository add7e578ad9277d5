import { describe, expect, it } from 'vitest';
import { EXIT_CODES, exitCodeFor } from '../../src/exit-codes.js';
import { ERROR_CODES, PyslimError, type ErrorCode } from '../../src/errors.js';

describe('exitCodeFor', () => {
  it('keeps success, budget, warnings and each error kind distinct', () => {
    expect(exitCodeFor({})).toBe(0);
    expect(exitCodeFor({ withinBudget: true, warnings: 2 })).toBe(0);
    expect(exitCodeFor({ withinBudget: true, warnings: 2, strict: true })).toBe(EXIT_CODES.warnings);
    expect(exitCodeFor({ withinBudget: false, warnings: 2, strict: true })).toBe(EXIT_CODES.budgetExceeded);
    expect(exitCodeFor({ error: new Error('boom') })).toBe(EXIT_CODES.buildFailed);
    expect(new Set(Object.values(EXIT_CODES)).size).toBe(Object.keys(EXIT_CODES).length);
  });

  it.each(Object.keys(ERROR_CODES) as ErrorCode[])('maps %s to its kind', (code) => {
    const expected = { usage: 2, environment: 4, build: 1, interrupted: 130, internal: 1 }[ERROR_CODES[code]];
    expect(exitCodeFor({ error: new PyslimError(code, 'x') })).toBe(expected);
  });
});
