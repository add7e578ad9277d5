/** The public library API: what `import … from 'pyslim'` offers, from the compiled package entry. */
import { describe, expect, it } from 'vitest';

describe("import { build, inspect, diff, profile } from 'pyslim'", () => {
  it('resolves through package.json exports to the compiled library', async () => {
    const api = await import('pyslim');
    expect(typeof api.build).toBe('function');
    expect(typeof api.inspect).toBe('function');
    expect(typeof api.diff).toBe('function');
    expect(typeof api.profile).toBe('function');
    expect(api.EXIT_CODES.budgetExceeded).toBe(3);
    expect(api.parseSize('50MiB')).toBe(52_428_800);
  });

  it('rejects bad input with a PyslimError, never printing', async () => {
    const { build, PyslimError } = await import('pyslim');
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (written.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      await expect(build({ dir: '/nonexistent/pyslim' })).rejects.toBeInstanceOf(PyslimError);
    } finally {
      process.stdout.write = write;
    }
    expect(written).toEqual([]);
  });
});
