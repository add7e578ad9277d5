import { describe, expect, it } from 'vitest';
import { createProgressRenderer } from '../../src/cli/progress.js';

describe('terminal progress', () => {
  it('draws each stage with its detail and a tick when done', () => {
    let out = '';
    const progress = createProgressRenderer({ write: (t) => (out += t), columns: 120 });
    progress.onProgress({ stage: 'install', status: 'start' });
    progress.onProgress({ stage: 'install', status: 'progress', current: 3, message: 'installing 3 packages (pandas)' });
    progress.onProgress({ stage: 'install', status: 'done' });
    progress.onProgress({ stage: 'zip', status: 'start' });
    progress.onProgress({ stage: 'zip', status: 'progress', current: 5_000_000, total: 20_000_000 });
    progress.onProgress({ stage: 'zip', status: 'done' });
    progress.stop();
    expect(out).toContain('install 0.0s installing 3 packages (pandas)');
    expect(out).toMatch(/✓ install \d+\.\ds\n/);
    expect(out).toContain('compressing 5 MB of 20 MB');
    expect(out).toMatch(/✓ zip \d+\.\ds\n/);
  });
});
